"""Remediation: runbooks (YAML), typed capabilities, planning, the executor, checkpoints.

This layer knows *how* to act but never decides *whether* to: that is `govern/`, the
only caller of `executor.execute()` (it issues the permits). See `govern.session` for
the API the CLI and the console drive.
"""
