"""An up/down gauge that keeps going down and coming back is a process restarting.

Where nothing counts restarts (no kube-state-metrics, no start time), the exporter's
own `memcached_up`, or Prometheus' `up` for the target, drops to 0 for a scrape or two
each time the process dies and is started again (`metrics.up_bounces_as_restarts`).
"""

from __future__ import annotations

from aisre_cli.investigate.analyzers import metrics as metric_an
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.model import Series
from tests.test_proposers import T0, cands, context, run


def _up(name: str, values: list[float], service: str | None = "cache") -> Series:
    ts = [T0 + 60.0 * i for i in range(len(values))]
    labels = {"instance": "ctl3:9150"} if service is None else {"service": service}
    return Series(name, service, labels, ts, values, query=name, ref=f"metrics/{name}.json")


def test_an_up_gauge_that_keeps_coming_back_counts_restarts() -> None:
    """memcached_up 0 for a minute, then 1, three times: the process restarting. The
    gauge stays (it was down meanwhile) and a restart counter of its returns is added,
    which the catalogue reads as restarts. Down and staying down, back once, down for
    longer than a restart takes, or a prober's `probe_success` (a lossy path flaps it
    alike): no counter."""
    m = FamilyMatcher()
    flaps = [1.0] * 10 + [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0] + [1.0] * 5
    got = metric_an.up_bounces_as_restarts([_up("memcached_up", flaps)], m)
    assert [s.name for s in got] == ["memcached_up", "memcached_up_restarts_total"]
    counter = got[1]
    assert counter.values[-1] == 3.0 and counter.values[0] == 0.0
    assert m.classify(counter.name, counter.labels).family == "restarts"
    # Prometheus' own `up`: named so it reads as a counter, not as an up/down gauge
    (_, up) = metric_an.up_bounces_as_restarts([_up("up", flaps)], m)
    assert up.name == "target_up_restarts_total"
    assert m.classify(up.name, up.labels).family == "restarts"
    for values in (
        [1.0] * 10 + [0.0] * 14,  # down and staying down
        [1.0] * 10 + [0.0, 1.0] + [1.0] * 12,  # one restart
        [1.0] * 5 + ([0.0] * 12 + [1.0]) * 2 + [1.0] * 5,  # down twelve minutes each time
    ):
        assert len(metric_an.up_bounces_as_restarts([_up("memcached_up", values)], m)) == 1
    assert len(metric_an.up_bounces_as_restarts([_up("probe_success", flaps)], m)) == 1
    # a state others report of it (an agent's heartbeat through a bus) is no restart
    agent = _up("openstack_nova_agent_state", flaps)
    assert len(metric_an.up_bounces_as_restarts([agent], m)) == 1


def test_a_service_whose_up_gauge_bounces_is_crash_looping() -> None:
    """db's exporter says it is down for a minute at a time, again and again, from the
    fault: a crash loop leads, not a dependency that went down."""
    values = [1.0] * 45 + [0.0, 1.0, 1.0, 1.0] * 3 + [1.0] * 3
    ctx = context([_up("memcached_up", values, service="db")])
    a = run(ctx)
    (loop,) = cands(a, "crash_loop", "db")
    others = [c for c in a.candidates if c.service == "db" and c.kind != "crash_loop"]
    assert all(loop.score > c.score for c in others)
