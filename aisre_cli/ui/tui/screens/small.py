"""Shown instead of a screen the terminal is too small to lay out usably.

Below `MIN_SIZE` the incident screen's series/logs pane and the runbook output would
shrink to nothing; rather than show an empty pane, the console says how big it needs
to be, and goes back by itself once the terminal is resized. Whatever runs underneath
keeps running; ctrl+c still reaches a running runbook step.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_SIZE = (60, 22)
"""Columns and rows below which the console shows this notice."""


def too_small(width: int, height: int) -> bool:
    return width < MIN_SIZE[0] or height < MIN_SIZE[1]


class TooSmallScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; background: $background; }
    #too-small { width: 100%; height: auto; text-align: center; color: $warning; }
    """
    BINDINGS = [Binding("ctrl+c", "interrupt", "interrupt", show=False)]

    def compose(self) -> ComposeResult:
        w, h = MIN_SIZE
        yield Static(f"terminal too small (need {w}x{h})", id="too-small", markup=False)

    def action_interrupt(self) -> None:
        """ctrl+c is passed to the screen underneath (it may be running a step)."""
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        act = getattr(below, "action_interrupt", None)
        if callable(act):
            act()
        else:
            self.app.action_help_quit()

    def on_screen_resume(self) -> None:
        """Uncovered after the terminal grew (a screen was on top): not needed now."""
        if not too_small(self.app.size.width, self.app.size.height):
            self.dismiss(None)
