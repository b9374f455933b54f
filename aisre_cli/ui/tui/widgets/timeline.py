"""Timeline of the incident: alerts, changes, cluster Warning events, the onset and the
actions taken (audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual.widgets import RichLog

from aisre_cli.model import Alert, Change
from aisre_cli.model import Event as ClusterEvent
from aisre_cli.ui.term import visible


@dataclass(frozen=True)
class Event:
    ts: datetime
    kind: str
    """alert | change | event | onset | action"""
    text: str


KIND_STYLE = {
    "alert": "red",
    "change": "yellow",
    "event": "magenta",
    "onset": "bold red",
    "action": "cyan",
}
KIND_MARK = {"alert": "●", "change": "◆", "event": "■", "onset": "▲", "action": "▸"}
MAX_CLUSTER_EVENTS = 200
"""Warning events shown at most (the latest); Normal events are not shown."""


def events_for(
    alerts: list[Alert],
    changes: list[Change],
    onset: datetime | None,
    actions: list[tuple[datetime, str]],
    cluster: list[ClusterEvent] | None = None,
) -> list[Event]:
    ev: list[Event] = []
    warnings = sorted((x for x in cluster or [] if x.type == "Warning"), key=lambda x: x.ts)
    for x in warnings[-MAX_CLUSTER_EVENTS:]:
        times = f" (x{x.count})" if x.count > 1 else ""
        ev.append(
            Event(
                datetime.fromtimestamp(x.ts, UTC),
                "event",
                f"{x.reason} {x.object or x.service}{times}: {x.message}"[:300],
            )
        )
    for a in alerts:
        ev.append(Event(a.starts_at, "alert", f"{a.name} on {a.service or '?'} ({a.severity})"))
    for c in changes:
        ver = f" {c.version}" if c.version else ""
        ev.append(Event(c.ts, "change", f"{c.kind} {c.service}{ver} {c.id}: {c.summary}"))
    if onset is not None:
        ev.append(Event(onset, "onset", "incident onset (first anomalous point)"))
    for ts, text in actions:
        ev.append(Event(ts, "action", text))
    ev.sort(key=lambda e: e.ts)
    return ev


class Timeline(RichLog):
    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, wrap=False, markup=False, highlight=False, auto_scroll=False)
        self.events: list[Event] = []
        self.focus_line = 0

    def show(self, events: list[Event]) -> None:
        self.clear()
        self.events = events
        if not events:
            self.write(Text("nothing happened in the window", style="dim"))
        years = {e.ts.astimezone(UTC).year for e in events}
        fmt = "%m-%d %H:%M:%S " if len(years) <= 1 else "%Y-%m-%d %H:%M:%S "
        for e in events:
            t = Text(no_wrap=True)
            t.append(e.ts.astimezone(UTC).strftime(fmt), style="dim")
            t.append(f"{KIND_MARK[e.kind]} {e.kind:<6} ", style=KIND_STYLE[e.kind])
            t.append(visible(e.text, oneline=True))
            self.write(t)
        # open on the incident itself: a couple of events before the onset at the top
        first = next((i for i, e in enumerate(events) if e.kind in ("onset", "alert")), 0)
        self.focus_line = max(0, first - 2)
        self.call_after_refresh(self._scroll_to_focus)

    def on_show(self) -> None:
        self.call_after_refresh(self._scroll_to_focus)

    def _scroll_to_focus(self) -> None:
        self.scroll_to(y=self.focus_line, animate=False)
