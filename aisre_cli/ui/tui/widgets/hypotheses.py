"""The ranked hypotheses, each with a confidence bar; highlighting one says so."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from aisre_cli.model import Hypothesis
from aisre_cli.ui.term import visible

KIND_STYLE = {
    "deploy": "magenta",
    "config_change": "magenta",
    "dependency_failure": "cyan",
    "resource_saturation": "yellow",
    "traffic_surge": "yellow",
    "crash_loop": "red",
    "certificate_expiry": "red",
    "network": "cyan",
    "unknown": "dim",
}


def confidence_bar(p: float, width: int = 10) -> Text:
    full = round(max(0.0, min(1.0, p)) * width)
    style = "green" if p >= 0.6 else ("yellow" if p >= 0.3 else "red")
    t = Text("█" * full, style=style)
    t.append("░" * (width - full), style="dim")
    return t


def hypothesis_label(h: Hypothesis, first_of_service: bool = True) -> Text:
    """One row; on a service's first row, its share when several kinds split it."""
    t = Text(no_wrap=True, overflow="ellipsis", end="")
    t.append(f"{h.rank:>2} ", style="bold")
    t.append_text(confidence_bar(h.confidence))
    t.append(f" {h.confidence:>4.0%} ", style="bold")
    t.append(h.kind, style=KIND_STYLE.get(h.kind, ""))
    t.append(f" {visible(h.service, oneline=True)}")
    if h.subject and h.subject != h.service:
        t.append(f" ({visible(h.subject, oneline=True)})", style="dim")
    if first_of_service and h.service_confidence >= h.confidence + 0.05:
        t.append(f" service {h.service_confidence:.0%}", style="dim")
    return t


class HypothesisList(OptionList):
    """Up/down (or j/k) moves; the incident screen follows with the evidence pane."""

    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
    ]

    class Selected(Message):
        """The highlighted hypothesis changed (index into the verdict's list)."""

        def __init__(self, index: int, hypothesis: Hypothesis) -> None:
            super().__init__()
            self.index = index
            self.hypothesis = hypothesis

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.hypotheses: list[Hypothesis] = []

    def show(self, hypotheses: list[Hypothesis]) -> None:
        self.hypotheses = list(hypotheses)
        self.clear_options()
        seen: set[str] = set()
        options: list[Option] = []
        for h in hypotheses:
            options.append(Option(hypothesis_label(h, h.service not in seen), id=f"h{h.rank}"))
            seen.add(h.service)
        self.add_options(options)
        if hypotheses:
            self.highlighted = 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        i = event.option_index
        if 0 <= i < len(self.hypotheses):
            self.post_message(self.Selected(i, self.hypotheses[i]))
