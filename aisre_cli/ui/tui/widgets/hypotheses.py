"""The ranked hypotheses, each with a confidence bar; highlighting one says so."""

from __future__ import annotations

from rich.cells import cell_len
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


def middle(text: str, width: int, head_w: int | None = None) -> str:
    """`text` in at most `width` cells, cut in the middle (`lambdast…::Function`): the
    head and the tail both stay, so names that share a long prefix stay apart. With
    `head_w`, the head keeps at most that many cells and the tail the rest."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…" if width == 1 else ""
    keep = width - 1
    head_w = (keep + 1) // 2 if head_w is None else min(head_w, keep)
    head = ""
    for ch in text:
        if cell_len(head + ch) > head_w:
            break
        head += ch
    tail = ""
    for ch in reversed(text):
        if cell_len(ch + tail) > keep - cell_len(head):
            break
        tail = ch + tail
    return f"{head}…{tail}"


def bar_width(width: int) -> int:
    """The confidence bar's width in a list `width` cells wide (the same on every row)."""
    return 10 if width >= 48 else 5 if width >= 36 else 0


def hypothesis_label(
    h: Hypothesis, first_of_service: bool = True, width: int | None = None
) -> Text:
    """One row; on a service's first row, its share when several kinds split it.

    In `width` cells (None: as long as it is): the service's share gives way first,
    then the subject, then the bar (the same width on every row, `bar_width`), then
    the service is cut to 12 cells, then the kind, then the service further. Names are
    cut in the middle, never at the end."""
    svc = visible(h.service, oneline=True)
    subject = visible(h.subject, oneline=True) if h.subject and h.subject != h.service else ""
    share = (
        f" service {h.service_confidence:.0%}"
        if first_of_service and h.service_confidence >= h.confidence + 0.05
        else ""
    )
    kind: str = h.kind
    bar_w = 10 if width is None else bar_width(width)
    if width is not None:
        room = width - 9 - bar_w  # rank (3) and the percentage (6) always stay
        names = len(kind) + 1 + cell_len(svc)
        if names + cell_len(share) + (cell_len(subject) + 3 if subject else 0) > room:
            share = ""
        if subject and names + cell_len(subject) + 3 > room:
            left = room - names - 3
            subject = middle(subject, left) if left >= 10 else ""
        if names > room:
            svc = middle(svc, max(12, room - 1 - len(kind)))
            kind = middle(kind, max(1, room - 1 - cell_len(svc)))
            svc = middle(svc, max(1, room - 1 - cell_len(kind)))
    t = Text(no_wrap=True, overflow="ellipsis", end="")
    t.append(f"{h.rank:>2} ", style="bold")
    if bar_w:
        t.append_text(confidence_bar(h.confidence, bar_w))
    t.append(f" {h.confidence:>4.0%} ", style="bold")
    t.append(kind, style=KIND_STYLE.get(h.kind, ""))
    t.append(f" {svc}")
    if subject:
        t.append(f" ({subject})", style="dim")
    if share:
        t.append(share, style="dim")
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

    def _labels(self) -> list[Text]:
        """Each row fitted to the list's width."""
        width = self.scrollable_content_region.width if self.size.width else None
        seen: set[str] = set()
        out: list[Text] = []
        for h in self.hypotheses:
            out.append(hypothesis_label(h, h.service not in seen, width))
            seen.add(h.service)
        return out

    def show(self, hypotheses: list[Hypothesis]) -> None:
        self.hypotheses = list(hypotheses)
        self.clear_options()
        self.add_options(
            Option(label, id=f"h{h.rank}")
            for h, label in zip(self.hypotheses, self._labels(), strict=True)
        )
        if hypotheses:
            self.highlighted = 0

    def on_resize(self) -> None:
        for i, label in enumerate(self._labels()):
            self.replace_option_prompt_at_index(i, label)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        i = event.option_index
        if 0 <= i < len(self.hypotheses):
            self.post_message(self.Selected(i, self.hypotheses[i]))
