"""The source status bar: the profile and each source's health (ok / partial / failed).

It shows what the core's `SourceNote`s say, nothing more: a source that has been
asked but has not answered yet is `…`, and turns `failed` when gather's budget ends.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from aisre_cli.model import SourceNote
from aisre_cli.ui.term import visible
from aisre_cli.ui.tui.widgets.hypotheses import middle

STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "bold red", "skipped": "dim"}
STATUS_MARK = {"ok": "●", "partial": "◐", "failed": "✖", "skipped": "○", "pending": "…"}
DETAIL_MAX = 120
"""A failed source's reason is shown in at most this many cells."""
DETAIL_MIN = 12
"""Less room than this for the reason: the bar shows none (the inbox says it in full)."""


def keep_tail(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut near its start (`alertmana…: connection
    refused`): a source error names the source first and says why at its end."""
    return middle(text, width, head_w=min(12, max(0, (width - 1) // 3)))


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
        width = self.content_size.width
        full = self._text(compact=False, width=width)
        if width and full.cell_len > width:
            return self._text(compact=True, width=width)
        return full

    def _text(self, compact: bool, width: int = 0) -> Text:
        """Every source by name; when that does not fit, the healthy ones as a count.

        A failed source's reason gets the room the bar has left, cut near its start
        (`keep_tail`): the end of a source error says why, so it is what stays."""
        failed = [
            n for n in self.notes.values() if n is not None and n.status == "failed" and n.detail
        ]
        room = DETAIL_MAX
        if width and failed:
            bare = self._line(compact, {}).cell_len
            room = min(DETAIL_MAX, (width - bare) // len(failed) - 3)
        details = {
            n.source: keep_tail(visible(n.detail, oneline=True), room) if room >= DETAIL_MIN else ""
            for n in failed
        }
        return self._line(compact, details)

    def _line(self, compact: bool, details: dict[str, str]) -> Text:
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
            if details.get(name):
                t.append(f" ({details[name]})", style="dim")
        if ok:
            t.append(" │ ", style="dim")
            t.append(f"● {ok} source(s) ok", style="green")
        return t
