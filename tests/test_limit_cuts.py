"""A config change that cut its service's own capacity, which the service then ran out of.

`spark.executor.memory 8g -> 4g`, `pm.max_children 50 -> 10`, `cpu 2 -> 500m`: the
limit was lowered, then reached. The shortage is the change's doing (config_change),
not a saturation or a crash loop of its own, and its timing is when the service first
ran short, not the page an hour later at a caller (`analyzers.changes.cut_harm`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aisre_cli.investigate.analyzers import changes as change_an
from aisre_cli.investigate.analyzers.events import memory_kills
from aisre_cli.model import Change, Event
from tests.test_proposers import FAULT, STEP, cands, context, run, series


def _change(summary: str, at: float = 0.0, kind: str = "config", svc: str = "api") -> Change:
    return Change(
        id="c", ts=datetime.fromtimestamp(at, UTC), service=svc, kind=kind, summary=summary
    )


@pytest.mark.parametrize(
    ("summary", "kind", "cut"),
    [
        ("spark.executor.memory 8g -> 4g, memoryOverhead 1400m -> 512m", "config", {"memory"}),
        ("resources.limits.memory 2Gi -> 512Mi", "config", {"memory"}),
        # 1Gi is 1024Mi: raised, whatever the digits say
        ("resources.limits.memory 1Gi -> 1500Mi", "config", set()),
        ("JAVA_OPTS -Xmx 4096m -> 2048m", "config", {"memory"}),
        ("innodb_buffer_pool_size 12G -> 4G", "config", {"memory"}),
        ("cpu limit 2 -> 500m", "config", {"cpu"}),
        ("pm.max_children 50 -> 10", "config", {"connections"}),
        ("tasks.max 4 -> 1 (cost review)", "config", {"connections"}),
        ("pm.max_children 10 -> 50", "config", set()),
        # one setting moved both ways: not a cut
        ("memory request 1Gi -> 512Mi / limit 1Gi -> 2Gi", "config", set()),
        # each setting with its own move
        ("spark.executor.memory 8g -> 4g, spark.executor.cores 2 -> 4", "config", {"memory"}),
        # versions, not settings
        ("node pool upgrade 1.29.6 -> 1.29.4", "config", set()),
        ("memory-service 2.4 -> 2.3", "deploy", set()),
        # no numbers: what it set is not said
        ("lower the heap", "config", set()),
        ("LOG_LEVEL 3 -> 1", "config", set()),
    ],
)
def test_limits_cut_reads_the_setting_by_its_units(summary: str, kind: str, cut: set[str]) -> None:
    assert change_an.limits_cut(_change(summary, kind=kind)) == cut


def _short(family: str, at: float, svc: str = "api") -> change_an.Shortage:
    return change_an.Shortage(svc, family, at, 0.9, "OOMKilled x5")


def test_a_cut_explains_a_shortage_of_what_it_cut_that_began_after_it() -> None:
    c = _change("memory 8g -> 4g", at=10_000.0)
    found = change_an.cut_harm(c, [_short("memory", 10_000.0 + 1200)])
    assert found is not None and found.family == "memory"
    # CPU ran short, not memory
    assert change_an.cut_harm(c, [_short("cpu", 10_000.0 + 1200)]) is None
    # another service's
    assert change_an.cut_harm(c, [_short("memory", 10_000.0 + 1200, svc="db")]) is None
    # already short before it: not its doing
    assert change_an.cut_harm(c, [_short("memory", 10_000.0 - 900)]) is None
    assert (
        change_an.cut_harm(c, [_short("memory", 10_000.0 - 900), _short("memory", 11_000.0)])
        is None
    )
    # long after: the load that reached it, not the cut
    late = 10_000.0 + change_an.CUT_AHEAD_S + 60
    assert change_an.cut_harm(c, [_short("memory", late)]) is None
    # raised, not cut
    raised = _change("memory 4g -> 8g", 10_000.0)
    assert change_an.cut_harm(raised, [_short("memory", 11_000.0)]) is None


def test_a_cut_fades_with_the_wait_for_its_shortage() -> None:
    def cut(wait: float) -> float:
        c = _change("memory 8g -> 4g", at=10_000.0)
        h = change_an.ChangeHarm("c", 0.0, at=10_000.0)
        h.cut_of = change_an.cut_harm(c, [_short("memory", 10_000.0 + wait)])
        return h.cut

    assert cut(60) > cut(1800) > cut(5400) > 0.0


def _oom(first: float, last: float, n: int = 13, svc: str = "api") -> Event:
    return Event(
        ts=last,
        service=svc,
        reason="OOMKilled",
        message="Container executor exceeded its memory limit (4608Mi) and was killed",
        object=f"pod/{svc}-exec-4",
        count=n,
        ref="events/k8s.jsonl:1",
        attrs={"first_timestamp": first},
    )


def test_memory_kills_are_a_shortage_from_the_first() -> None:
    (x,) = memory_kills([_oom(FAULT - 600, FAULT), _oom(FAULT - 300, FAULT + 60, n=2)])
    assert x.service == "api" and x.family == "memory"
    assert x.at == FAULT - 600
    assert "OOMKilled x15" in x.said
    one = memory_kills([_oom(FAULT, FAULT, n=1)])[0]
    assert 0 < one.strength < x.strength
    liveness = Event(
        ts=FAULT, service="api", reason="Killing", message="Container failed liveness probe",
        object="pod/api-1", count=4, ref="events/k8s.jsonl:2",
    )  # fmt: skip
    assert memory_kills([liveness]) == []


def _case(summary: str, oom_first: float) -> list:
    """api's executors killed for memory from `oom_first` on, a config change of api 75
    minutes before the fault at web (past how far back a change's timing alone
    reaches), its memory climbing half an hour before the fault."""
    ctx = context(
        [series("container_memory_working_set_bytes", "api", 2e9, 4.5e9, at=FAULT - 30 * STEP)],
        changes=[_change(summary, at=FAULT - 75 * STEP)],
    )
    ctx.events = [_oom(oom_first, FAULT + 60)]
    return run(ctx).candidates


def test_a_limit_cut_then_reached_is_the_config_change() -> None:
    cs = _case("spark.executor.memory 8g -> 4g", FAULT - 40 * STEP)
    (cfg,) = [c for c in cs if c.kind == "config_change" and c.service == "api"]
    rivals = [c for c in cs if c.service == "api" and c.kind != "config_change"]
    assert rivals and all(cfg.score > r.score for r in rivals)
    assert cfg.features["change_harm"] > 0.4
    assert "ran out of memory" in cfg.statement and "8g -> 4g" in cfg.statement


def test_a_limit_raised_or_a_shortage_already_there_clears_nothing() -> None:
    cut = _case("spark.executor.memory 8g -> 4g", FAULT - 40 * STEP)
    sat = max(c.score for c in cut if c.kind == "resource_saturation" and c.service == "api")
    # raised: an hour and a quarter before the fault, the change is no candidate
    raised = _case("spark.executor.memory 4g -> 8g", FAULT - 40 * STEP)
    assert not [c for c in raised if c.kind == "config_change"]
    kept = max(c.score for c in raised if c.kind == "resource_saturation" and c.service == "api")
    assert kept > sat

    def signal(cs: list, kind: str) -> float:
        return max(c.features["kind_signal"] for c in cs if c.kind == kind and c.service == "api")

    # the memory running out, and the kills for it, are the cut's doing: most of their
    # readings go
    for kind in ("resource_saturation", "crash_loop"):
        assert signal(cut, kind) < 0.5 * signal(raised, kind), kind
    # killed for memory since before it: the cut did not start it
    before = _case("spark.executor.memory 8g -> 4g", FAULT - 100 * STEP)
    assert not [c for c in before if c.kind == "config_change"]


def test_the_cut_is_found_through_the_triage_flow() -> None:
    """The scene's shortages reach `attribute` from the events (a memory kill) as well
    as from series that ran out: proximity is the shortage's, not the page's."""
    ctx = context(changes=[_change("memory 8g -> 4g", at=FAULT - 90 * STEP)])
    ctx.events = [_oom(FAULT - 80 * STEP, FAULT + 60)]
    a = run(ctx)
    (cfg,) = cands(a, "config_change", "api")
    assert cfg.features["change_proximity"] > 0.5
