"""Widgets of the incident console. Each one only displays what the core returned."""
