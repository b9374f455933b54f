"""Stand-ins for third-party packages: what an `aisre.sources` / `aisre.capabilities`
entry point would point at (tests/test_registration.py)."""
