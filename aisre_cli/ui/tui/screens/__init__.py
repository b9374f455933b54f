"""Screens of the incident console: inbox → incident → runbook, plus audit and help."""
