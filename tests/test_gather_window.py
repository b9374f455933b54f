"""The live evidence window ends at the moment of the run, never in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aisre_cli.investigate.gather import gather, live_window
from aisre_cli.model import Alert, Series, SourceNote
from aisre_cli.sources.registry import SourceSet


class _Recorder:
    name = "rec"

    def __init__(self) -> None:
        self.calls: list[tuple[datetime, datetime]] = []

    def fetch_series(
        self, start: datetime, end: datetime, services: set[str] | None
    ) -> tuple[list[Series], list[SourceNote]]:
        self.calls.append((start, end))
        return [], []


def _alert(starts: datetime) -> Alert:
    return Alert(id="a1", name="HighErrors", service="checkout", starts_at=starts)


def test_a_fresh_alert_is_not_queried_past_now() -> None:
    rec = _Recorder()
    before = datetime.now(UTC)
    alert = _alert(before - timedelta(seconds=30))
    ctx = gather(SourceSet(metrics=[rec]), alert, [alert], lookback_s=600, lookahead_s=900)
    after = datetime.now(UTC)
    ((start, end),) = rec.calls
    assert before <= end <= after, (end, before, after)
    assert ctx.window.end == end
    assert start == alert.starts_at - timedelta(seconds=600)


def test_an_old_alert_keeps_its_full_lookahead() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    alert = _alert(now - timedelta(hours=2))
    w = live_window(alert, 3600, 900, now)
    assert (w.start, w.end) == (
        alert.starts_at - timedelta(hours=1),
        alert.starts_at + timedelta(minutes=15),
    )


def test_an_alert_stamped_in_the_future_still_gets_a_past_window() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    w = live_window(_alert(now + timedelta(minutes=3)), 60, 900, now)  # clock skew
    assert w.end == now and w.start < w.end


def test_a_naive_start_is_read_as_utc() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    w = live_window(_alert(datetime(2026, 1, 1, 11, 59)), 60, 900, now)
    assert w.end == now


def test_every_source_call_is_bounded_by_the_gather_budget() -> None:
    """`triage --budget 2` with sources built for a 10 s profile budget: each source's
    own clock (`tracing.Clock`, which Prometheus, Loki and the trace sources keep) is cut
    to the gather's deadline, so a slow source cannot outlast the triage's budget."""
    from aisre_cli.investigate.gather import _run_with_budget
    from aisre_cli.sources.tracing import Clock

    results, notes = _run_with_budget(
        [("metrics", lambda: Clock.start(10.0).budget_s)], budget_s=2.0, progress=None
    )
    assert [n.status for n in notes] == ["ok"]
    assert results["metrics"] <= 2.0
