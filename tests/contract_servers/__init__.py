"""Loopback HTTP servers that speak the documented API subset of systems that cannot
run on a test machine (PagerDuty REST v2, GitHub REST, Loki), with real pagination,
real error shapes and injectable faults. See `base.py` for the fault list."""
