"""Incident memory (layer ②): what past incidents teach the next triage and governance.

`store` (SQLite: incidents, confirmed causes, runbook runs, alert episodes; the triage
`Advisor`; the governance track record), `migrations` (named, in order),
`similarity` (known-issue matching on evidence signatures), `noise` (flapping alerts
nobody acts on), `postmortem` (Markdown/JSON drafts), `replay` (does memory help
when a failure class recurs?).
"""
