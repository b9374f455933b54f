"""Help: the keys of the screen underneath (with their binding ids, so they can be
remapped), the app-wide keys, and on the runbook screen the stepper's answers."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

STEPPER_HELP = (
    ("y", "run this step (exactly one lower-case y; nothing else runs it)"),
    ("n", "skip this step"),
    ("d", "dry run: show exactly what would happen, change nothing"),
    ("a", "abort the run (resume later with `aisre runbook resume RUN_ID`)"),
    ("?", "this help"),
)


def _rows(bindings: list[BindingType]) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for b in bindings:
        if isinstance(b, Binding):
            out.append((b.key, b.description or b.action, b.id or ""))
        else:
            out.append((b[0], b[2] if len(b) > 2 else b[1], ""))
    return out


def _key(k: str) -> str:
    return {"slash": "/", "question_mark": "?", "escape": "esc", "enter": "enter"}.get(k, k)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape", "close", "close", id="help.close"),
        Binding("question_mark", "close", "close", id="help.close_q", show=False),
        Binding("q", "close", "close", show=False),
    ]

    def __init__(self, under: Screen[object], app_bindings: list[BindingType]) -> None:
        super().__init__()
        self.under = under
        self.app_bindings = app_bindings

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(self._text(), id="help-text")

    def _text(self) -> Table:
        name = type(self.under).__name__.replace("Screen", "").lower() or "console"
        t = Table(box=None, show_header=False, pad_edge=False, expand=True)
        t.add_column("key", style="bold", no_wrap=True, width=8)
        t.add_column("what")
        t.add_column("id", style="dim", no_wrap=True)
        t.add_row(Text(f"{name} keys", style="bold underline"), "", "")
        if name == "runbook":
            for k, what in STEPPER_HELP:
                t.add_row(k, what, "")
            t.add_row("", "", "")
        for k, what, bid in _rows(list(type(self.under).BINDINGS)):
            if name == "runbook" and k in ("y", "n", "d", "a"):
                continue
            t.add_row(_key(k), what, bid)
        t.add_row("", "", "")
        t.add_row(Text("everywhere", style="bold underline"), "", "")
        for k, what, bid in _rows(self.app_bindings):
            t.add_row(_key(k), what, bid)
        t.add_row("ctrl+p", "command palette (every action, theme, keys)", "")
        t.add_row("tab", "move focus between panes", "")
        return t

    def action_close(self) -> None:
        self.dismiss(None)
