"""Flows: one composition per use case, between `govern` and `ui`.

The CLI and the console call these and only render what they return; neither
rebuilds a flow by wiring sources, memory, the runbook matcher or the stepper itself
(an import-linter contract keeps `ui` away from `investigate.triage`).
"""
