"""Governance: the policy, two-signal routing, the audit log and the run session.

`govern.session.RunSession` is the only door to the executor.
"""
