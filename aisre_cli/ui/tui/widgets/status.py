"""The source status bar: the profile and each source's health (ok / partial / failed).

It shows what the core's `SourceNote`s say, nothing more: a source that has been
asked but has not answered yet is `…`, and turns `failed` when gather's budget ends.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from aisre_cli.model import SourceNote

STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "bold red", "skipped": "dim"}
STATUS_MARK = {"ok": "●", "partial": "◐", "failed": "✖", "skipped": "○", "pending": "…"}


def short_source(name: str) -> str:
    """`bundle:petshop-incident-42 alerts` → `bundle alerts` (the bar is one line)."""
    head, _, role = name.rpartition(" ")
    kind = head.split(":", 1)[0] if head else name
    return f"{kind} {role}".strip()


class SourceStatusBar(Static):
    """One line: `profile demo │ ● bundle alerts ok │ ✖ alertmanager alerts failed`."""

    def __init__(self, profile: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id, markup=False)
        self.profile = profile
        self.notes: dict[str, SourceNote | None] = {}

    def set_pending(self, names: list[str]) -> None:
        for n in names:
            self.notes[n] = None
        self.refresh_bar()

    def set_note(self, note: SourceNote) -> None:
        self.notes[note.source] = note
        self.refresh_bar()

    def set_all(self, notes: dict[str, SourceNote | None]) -> None:
        self.notes = dict(notes)
        self.refresh_bar()

    def status_of(self, source: str) -> str:
        n = self.notes.get(source)
        return "pending" if n is None else n.status

    def refresh_bar(self) -> None:
        t = Text()
        t.append("profile ", style="dim")
        t.append(self.profile, style="bold")
        for name, note in self.notes.items():
            t.append(" │ ", style="dim")
            status = "pending" if note is None else note.status
            t.append(f"{STATUS_MARK.get(status, '?')} ", style=STATUS_STYLE.get(status, ""))
            t.append(short_source(name))
            t.append(f" {status}", style=STATUS_STYLE.get(status, "dim"))
            if note is not None and note.status == "failed" and note.detail:
                t.append(f" ({note.detail[:60]})", style="dim")
        self.update(t)
