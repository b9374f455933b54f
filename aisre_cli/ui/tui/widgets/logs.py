"""Log excerpt: lines of the cited service around the onset; the lines whose template
is the one the evidence cites (as the core templates them) are highlighted."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.widgets import RichLog

from aisre_cli.ui.term import visible
from aisre_cli.ui.tui.backend import LogLine

LEVEL_STYLE = {"error": "red", "fatal": "bold red", "warn": "yellow", "warning": "yellow"}


class LogExcerpt(RichLog):
    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, wrap=False, markup=False, highlight=False, auto_scroll=False)
        self.lines_shown: list[LogLine] = []

    def show(self, title: str, lines: list[LogLine | None], empty: str) -> None:
        """`None` in `lines` marks a gap between excerpts."""
        self.clear()
        self.lines_shown = [ln for ln in lines if ln is not None]
        if not lines:
            self.write(Text(empty, style="dim"))
            return
        self.write(Text(visible(title, oneline=True), style="bold"))
        for ln in lines:
            if ln is None:
                self.write(Text("  ⋮", style="dim"))
                continue
            t = Text(no_wrap=True)
            hm = datetime.fromtimestamp(ln.ts, UTC).strftime("%H:%M:%S")
            t.append("▶ " if ln.cited else "  ", style="bold yellow")
            t.append(f"{hm} ", style="dim")
            # log lines are the most hostile text there is: controls made visible
            t.append(
                f"{visible(ln.level, oneline=True):<5} ", style=LEVEL_STYLE.get(ln.level, "dim")
            )
            t.append(visible(ln.msg, oneline=True), style="bold reverse" if ln.cited else "")
            t.append(f"  {visible(ln.ref, oneline=True)}", style="dim")
            self.write(t)
