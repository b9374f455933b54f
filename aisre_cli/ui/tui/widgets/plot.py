"""A small line chart of an evidence series, with the onset and change events marked.

The points are the raw series the evidence cites (looked up by the backend, never
recomputed). The chart is drawn with block characters so it works in any terminal:
each column is one time bucket (its max value), the onset column is marked `▲` and
every change event `◆` on the axis row below the bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.text import Text
from textual.widgets import Static

from aisre_cli.model import Series
from aisre_cli.ui.term import visible

BLOCKS = " ▁▂▃▄▅▆▇█"


@dataclass
class PlotData:
    title: str
    series: Series
    onset: float | None = None
    changes: list[tuple[float, str]] = field(default_factory=list)
    start: float | None = None
    end: float | None = None


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e3:
        return f"{v / 1e3:.1f}k"
    if a >= 10 or v == 0:
        return f"{v:.0f}"
    return f"{v:.3g}"


def _hm(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def buckets(
    ts: Sequence[float], vs: Sequence[float], t0: float, t1: float, n: int
) -> list[float | None]:
    """Max value per column (None where the series has no point)."""
    out: list[float | None] = [None] * n
    span = max(t1 - t0, 1e-9)
    for t, v in zip(ts, vs, strict=False):
        if t < t0 or t > t1 or v != v:  # v != v: NaN
            continue
        i = min(n - 1, int((t - t0) / span * n))
        cur = out[i]
        out[i] = v if cur is None else max(cur, v)
    # a coarse series (one point per 5 min) on a wide chart: hold each value until the
    # next point, so the chart reads as a line, not as isolated bars
    last: float | None = None
    seen = [i for i, v in enumerate(out) if v is not None]
    if seen:
        for i in range(seen[0], seen[-1] + 1):
            if out[i] is None:
                out[i] = last
            else:
                last = out[i]
    return out


def render_plot(data: PlotData, width: int, height: int) -> Text:
    s = data.series
    label_w = 7
    cols = max(8, width - label_w - 1)
    rows = max(1, height - 3)
    t = Text(no_wrap=True, overflow="crop")
    t.append(visible(data.title, oneline=True)[:width], style="bold")
    t.append("\n")
    if not s.timestamps:
        t.append("no points", style="dim")
        return t
    t0 = data.start if data.start is not None else s.timestamps[0]
    t1 = data.end if data.end is not None else s.timestamps[-1]
    vals = buckets(s.timestamps, s.values, t0, t1, cols)
    present = [v for v in vals if v is not None]
    lo = min(present) if present else 0.0
    hi = max(present) if present else 1.0
    if hi - lo < 1e-12:
        hi = lo + 1.0
    span = max(t1 - t0, 1e-9)

    def col_of(ts: float) -> int | None:
        if ts < t0 or ts > t1:
            return None
        return min(cols - 1, int((ts - t0) / span * cols))

    onset_col = col_of(data.onset) if data.onset is not None else None
    change_cols = {c for c in (col_of(ts) for ts, _ in data.changes) if c is not None}
    levels = [None if v is None else (v - lo) / (hi - lo) * rows * 8 for v in vals]
    for r in range(rows):
        floor = (rows - 1 - r) * 8
        label = _fmt(hi) if r == 0 else (_fmt(lo) if r == rows - 1 else "")
        t.append(f"{label:>{label_w}}│", style="dim")
        for c, lv in enumerate(levels):
            if lv is None:
                ch = " "
            else:
                ch = BLOCKS[max(0, min(8, round(lv - floor)))] if lv > floor else " "
                if r == rows - 1 and ch == " ":
                    ch = "▁"
            after = onset_col is not None and c >= onset_col
            style = "red" if after else "cyan"
            if c == onset_col:
                style = "bold red"
            t.append(ch, style=style)
        t.append("\n")
    t.append(" " * label_w + "└", style="dim")
    for c in range(cols):
        if c == onset_col:
            t.append("▲", style="bold red")
        elif c in change_cols:
            t.append("◆", style="bold yellow")
        else:
            t.append("─", style="dim")
    t.append("\n")
    left = _hm(t0)
    right = _hm(t1)
    legend = "▲ onset" + ("  ◆ change" if change_cols else "")
    mid = max(1, cols - len(left) - len(right) - len(legend))
    t.append(" " * (label_w + 1) + left, style="dim")
    t.append(" " * (mid // 2))
    t.append("▲ onset", style="bold red")
    if change_cols:
        t.append("  ◆ change", style="bold yellow")
    t.append(" " * (mid - mid // 2))
    t.append(right, style="dim")
    return t


class SeriesPlot(Static):
    """Redraws to its own size: one chart at 80×24, several stacked when there is room.

    `n` (on the incident screen) moves the first chart shown through the cited series.
    """

    MIN_ROWS = 7

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id, markup=False)
        self.plots: list[PlotData] = []
        self.first = 0
        self.empty_text = "no series cited by this hypothesis"

    @property
    def data(self) -> PlotData | None:
        """The first chart shown (None when there is none)."""
        return self.plots[self.first % len(self.plots)] if self.plots else None

    def show(self, plots: list[PlotData], first: int = 0, empty_text: str | None = None) -> None:
        self.plots = list(plots)
        self.first = first
        if empty_text is not None:
            self.empty_text = empty_text
        self.refresh()

    def shown(self) -> list[PlotData]:
        """The charts that fit in the current height, first one first."""
        if not self.plots:
            return []
        h = max(4, self.content_size.height)
        fit = max(1, min(len(self.plots), h // self.MIN_ROWS))
        return [self.plots[(self.first + k) % len(self.plots)] for k in range(fit)]

    def render(self) -> Text:
        if not self.plots:
            return Text(self.empty_text, style="dim")
        w = max(20, self.content_size.width)
        h = max(4, self.content_size.height)
        charts = self.shown()
        rows = h // len(charts)
        n = len(self.plots)
        out = Text(no_wrap=True, overflow="crop")
        for k, data in enumerate(charts):
            i = (self.first + k) % n
            more = ""
            if n > len(charts):
                more = f"  ({i + 1}/{n}, n: next)"
            elif n > 1:
                more = f"  ({i + 1}/{n})"
            titled = PlotData(
                data.title + more, data.series, data.onset, data.changes, data.start, data.end
            )
            if k:
                out.append("\n")
            out.append_text(render_plot(titled, w, rows))
        return out
