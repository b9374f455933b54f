"""The source status bar: the profile and each source's health (ok / partial / failed).

It shows what the core's `SourceNote`s say, nothing more: a source that has been
asked but has not answered yet is `…`, and turns `failed` when gather's budget ends.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from aisre_cli.model import SourceNote
from aisre_cli.ui.term import visible

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
        self.refresh()

    def render(self) -> Text:
        full = self._text(compact=False)
        width = self.content_size.width
        if width and full.cell_len > width:
            return self._text(compact=True)
        return full

    def _text(self, compact: bool) -> Text:
        """Every source by name; when that does not fit, the healthy ones as a count."""
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("profile ", style="dim")
        t.append(visible(self.profile, oneline=True), style="bold")
        ok = 0
        for name, note in self.notes.items():
            status = "pending" if note is None else note.status
            if compact and status == "ok":
                ok += 1
                continue
            t.append(" │ ", style="dim")
            t.append(f"{STATUS_MARK.get(status, '?')} ", style=STATUS_STYLE.get(status, ""))
            t.append(visible(short_source(name), oneline=True))
            t.append(f" {status}", style=STATUS_STYLE.get(status, "dim"))
            if note is not None and note.status == "failed" and note.detail:
                t.append(f" ({visible(note.detail, oneline=True)[:60]})", style="dim")
        if ok:
            t.append(" │ ", style="dim")
            t.append(f"● {ok} source(s) ok", style="green")
        return t
