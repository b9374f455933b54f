"""A yes/no question as a modal (posting's `ModalScreen[bool]` pattern)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from aisre_cli.ui.term import visible


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm-box {
        width: 64; max-width: 95%; height: auto;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "yes", id="confirm.yes"),
        Binding("n", "answer(False)", "no", id="confirm.no"),
        Binding("escape", "answer(False)", "no", id="confirm.escape", show=False),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        t = Text(visible(self.question), style="bold")
        if self.detail:
            t.append("\n" + visible(self.detail), style="")
        t.append("\n\ny yes · n no", style="dim")
        with Vertical(id="confirm-box"):
            yield Static(t, markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
