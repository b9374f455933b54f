"""A small instrumented service for the live end-to-end test (see service.py)."""
