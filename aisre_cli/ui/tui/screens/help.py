"""Help: the keys of the screen underneath (with their binding ids, so they can be
remapped), the app-wide keys, and on the runbook screen the stepper's answers."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from aisre_cli.govern.stepper import HELP_TEXT

# the stepper's own wording, the same the CLI prints for `?`
STEPPER_HELP = tuple(
    (line[:1], line[1:].strip()) for line in HELP_TEXT.splitlines() if line.strip()
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

    def _text(self) -> Group:
        name = type(self.under).__name__.replace("Screen", "").lower() or "console"
        ids = {k: bid for k, _, bid in _rows(list(type(self.under).BINDINGS))}
        parts: list[Table | Text] = []

        def table(rows: list[tuple[str, str, str]]) -> Table:
            t = Table(box=None, show_header=False, pad_edge=False, expand=True)
            t.add_column("key", style="bold", no_wrap=True, width=7)
            t.add_column("what", ratio=1)
            t.add_column("id", style="dim", no_wrap=True)
            for k, what, bid in rows:
                t.add_row(_key(k), what, bid)
            return t

        if name == "runbook":
            parts.append(
                Text("at the step prompt (as in `aisre runbook run`)", style="bold underline")
            )
            parts.append(table([(k, what, ids.get(k, "")) for k, what in STEPPER_HELP]))
        own = list(_rows(list(type(self.under).BINDINGS)))
        if name == "runbook":
            own = [r for r in own if r[0] not in ("y", "n", "d", "a")]
        gap = "\n" if parts else ""
        parts.append(Text(f"{gap}{name} screen", style="bold underline"))
        parts.append(table(own))
        parts.append(Text("\neverywhere", style="bold underline"))
        parts.append(
            table(
                [
                    *_rows(self.app_bindings),
                    ("ctrl+p", "command palette: every action, theme, keys", ""),
                    ("tab", "move focus between panes", ""),
                ]
            )
        )
        return Group(*parts)

    def action_close(self) -> None:
        self.dismiss(None)
