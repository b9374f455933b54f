"""aisre: a terminal-first on-call copilot.

The package root is deliberately empty apart from the version: `aisre --help` must not
pay for importing the investigation engine, httpx or textual (see STYLE.md, practice 3).
"""

__version__ = "0.1.0"
