"""The console's side of `aisre_cli.ui.term`: outside text never drives the terminal.

Widgets build what they show with `term.visible()` / `term.safe()` (controls shown as
`\\x1b`, laid out at their real width). `ControlGuard` is the backstop: a line filter
the app applies to every rendered line of every widget, so a control that a widget
forgot to make visible is removed before Textual writes the line (it has no width, so
the layout is unchanged). Textual's own escape sequences are produced after this
filter, from styles, never from segment text.
"""

from __future__ import annotations

import re

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

# the controls of ui.term that have no cell width (lone surrogates are made visible)
_ZERO_WIDTH_CONTROLS = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
_SURROGATES = re.compile("[\ud800-\udfff]")


class ControlGuard(LineFilter):
    """Drops any control character left in a rendered line's text."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out: list[Segment] = []
        for seg in segments:
            text = seg.text
            if not seg.control and (_ZERO_WIDTH_CONTROLS.search(text) or _SURROGATES.search(text)):
                text = _SURROGATES.sub("\ufffd", _ZERO_WIDTH_CONTROLS.sub("", text))
                seg = Segment(text, seg.style, seg.control)
            out.append(seg)
        return out
