"""A change that shipped a memory leak (`analyzers.changes.leak_harm`).

A slow leak reaches its limit hours after its release: the deploy is far older than the
hour before the onset a change is otherwise looked for in, and the step test (the
quarter hour after the change against the half hour before) sees a fresh pod with less
memory than the old ones. What says "leak" is its shape: the new pods' memory climbing
steadily from the change on, far past what the old pods held, until they are killed."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from aisre_cli.investigate.analyzers import changes as change_an
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.investigate.triage import analyze_context
from aisre_cli.model import Alert, Change, Context, LogTable, Series, Topology, Window

T0 = 1_700_000_000.0
STEP = 60.0
N = 200  # minutes
CHANGE = T0 + 30 * STEP
FAULT = T0 + 150 * STEP  # two hours after the change: past `LOOKBACK_S`
MB = 1e6
OLD = 650 * MB  # what the old pods held


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _series(name: str, pod: str, pts: list[tuple[float, float]], scope: str = "pod") -> Series:
    labels = {"service": "api", "pod": pod, "container": "api"}
    if scope == "node":
        labels = {"service": "api", "instance": "10.0.0.1:9100"}
    return Series(
        name,
        "api",
        labels,
        [t for t, _ in pts],
        [v for _, v in pts],
        query=name,
        ref=f"metrics/{name}.json",
    )


def old_pod(
    pod: str, seed: int, name: str = "container_memory_working_set_bytes", saw: bool = False
) -> Series:
    """A pod of the old version until the change: its memory flat at `OLD`, or (`saw`) a
    heap's sawtooth between 400 and 900 MB, collected every ten minutes."""
    rnd = random.Random(seed)
    pts = []
    for i in range(N):
        t = T0 + i * STEP
        if t >= CHANGE:
            break
        v = 400 * MB + (i % 10) / 9 * 500 * MB if saw else OLD
        pts.append((t, v * (1 + rnd.uniform(-0.03, 0.03))))
    return _series(name, pod, pts)


def new_pod(
    pod: str,
    seed: int,
    shape: str = "leak",
    name: str = "container_memory_working_set_bytes",
    start: float = CHANGE,
    scope: str = "pod",
) -> Series:
    """A pod of the new version from `start` on: its memory by `shape`."""
    rnd = random.Random(seed)
    pts = []
    for i in range(N):
        t = T0 + i * STEP
        if t < start:
            continue
        k = (t - start) / (FAULT - start)  # 0 at its start, 1 at the fault
        if shape == "leak":  # 300 MB up to 2.2 GB at the fault, then killed: low again
            v = 300 * MB + k * 1900 * MB if t < FAULT else 300 * MB
        elif shape == "warmup":  # fills back to the old pods' level in 20 minutes, stays
            v = min(OLD, 300 * MB + (t - start) / 1200 * (OLD - 300 * MB))
        elif shape == "modest":  # steady, but to 1.2x the old pods' level only
            v = 300 * MB + k * (1.2 * OLD - 300 * MB) if t < FAULT else 1.2 * OLD
        elif shape == "startup":  # a burst while it loads, up to 2x, then the old level
            v = 300 * MB + (t - start) / 480 * (2 * OLD - 300 * MB) if t - start <= 480 else OLD
        elif shape == "tooth":  # one long climb from 300 MB to 1.1 GB at the fault
            v = 300 * MB + k * 800 * MB if t < FAULT else 300 * MB
        elif shape == "load":  # up and down with the traffic, peaking at 1.6x
            v = OLD * (1.0 + 0.6 * abs(((t - start) / 600) % 2 - 1))
        else:
            raise AssertionError(shape)
        pts.append((t, v * (1 + rnd.uniform(-0.01, 0.01))))
    return _series(name, pod, pts, scope)


def restarts() -> Series:
    """The new pods killed at the fault (OOM): the restart counter steps up."""
    pts = [(T0 + i * STEP, 0.0 if T0 + i * STEP < FAULT else 3.0) for i in range(N)]
    return _series("kube_pod_container_status_restarts_total", "api-new-1", pts)


def context(mem: list[Series], change_at: float = CHANGE) -> Context:
    alert = Alert(id="a1", name="WebErrors", service="web", starts_at=_dt(FAULT + 120))
    rnd = random.Random(7)

    def errors(service: str, after: float) -> Series:
        """Its error ratio: 1% until the fault, `after` from it."""
        ts = [T0 + i * STEP for i in range(N)]
        vals = [(after if t >= FAULT else 0.01) * (1 + rnd.uniform(-0.01, 0.01)) for t in ts]
        return Series(
            "http_errors_ratio",
            service,
            {"service": service},
            ts,
            vals,
            query="http_errors_ratio",
            ref="metrics/http_errors_ratio.json",
        )

    web, api_err = errors("web", 0.2), errors("api", 0.3)
    deploy = Change(id="d", ts=_dt(change_at), service="api", kind="deploy", version="v2")
    return Context(
        alert=alert,
        alerts=[alert],
        window=Window(start=_dt(T0), end=_dt(T0 + N * STEP)),
        series=[web, api_err, restarts(), *mem],
        logs=LogTable(),
        changes=[deploy],
        topology=Topology(depends_on={"web": ["api"], "api": []}),
    )


def leak_of(mem: list[Series], change_at: float = CHANGE) -> change_an.Leak | None:
    ctx = context(mem, change_at)
    (deploy,) = ctx.changes
    return change_an.leak_harm(deploy, ctx.series, FamilyMatcher().classify, FAULT)


LEAKING = [
    old_pod("api-old-1", 1),
    old_pod("api-old-2", 2),
    new_pod("api-new-1", 3),
    new_pod("api-new-2", 4),
]


def rollout(shape: str = "leak", start: float = CHANGE) -> list[Series]:
    """An old pod before the change and two new pods after it, their memory by `shape`."""
    return [
        old_pod("api-old-1", 1),
        new_pod("api-new-1", 3, shape, start=start),
        new_pod("api-new-2", 4, shape, start=start),
    ]


def test_memory_climbing_from_a_deploy_past_the_old_pods_is_a_leak() -> None:
    lk = leak_of(LEAKING)
    assert lk is not None
    assert lk.climbed == 2 and lk.spanned == 2
    assert lk.before == pytest.approx(OLD, rel=0.05)
    assert lk.after > 3 * OLD and lk.strength == 1.0
    assert lk.until <= FAULT


def test_a_leak_two_hours_old_is_the_answer_over_the_crash_loop_it_causes() -> None:
    """The deploy is two hours before the onset, past the hour changes are looked for
    in: the leak keeps it a candidate, and it explains the pods being killed."""
    a = analyze_context(context(LEAKING))
    deploys = [c for c in a.candidates if c.kind == "deploy"]
    assert deploys, [(c.kind, c.service) for c in a.candidates]
    (d,) = deploys
    assert "a leak it shipped" in d.statement, d.statement
    # the leak is its harm, and its timing is the climb it began, not the two hours
    # to the onset (a change that old is otherwise no candidate at all)
    assert d.features["change_harm"] == pytest.approx(1.0)
    assert d.features["change_proximity"] == pytest.approx(1.0)
    assert a.candidates and max(a.candidates, key=lambda c: c.score) is d
    cited = [e.ev.summary for e in d.evidence]
    assert any("climbed steadily" in s and "a leak" in s for s in cited), cited


@pytest.mark.parametrize(
    ("why", "mem", "change_at"),
    [
        # a fresh pod fills back to the old pods' level and levels off
        (
            "warm-up",
            rollout("warmup"),
            CHANGE,
        ),
        # a steady climb that ends a fifth above the old pods' level: a cache filling
        (
            "modest",
            rollout("modest"),
            CHANGE,
        ),
        # a burst of minutes as it starts (caches loading) peaks long before the onset
        (
            "startup",
            rollout("startup"),
            CHANGE,
        ),
        # a heap's sawtooth: the old pods' teeth reached 900 MB, so a new pod's long tooth
        # reaching 1.1 GB (1.6x their median, but not 1.5x what they reached) is no leak
        (
            "sawtooth",
            [
                old_pod("api-old-1", 1, saw=True),
                old_pod("api-old-2", 2, saw=True),
                new_pod("api-new-1", 3, "tooth"),
                new_pod("api-new-2", 4, "tooth"),
            ],
            CHANGE,
        ),
        # memory going up and down with the load is no steady climb, however high
        (
            "load",
            rollout("load"),
            CHANGE,
        ),
        # twenty minutes of climbing is a process warming up, not yet a leak
        (
            "short",
            rollout(start=FAULT - 1200),
            FAULT - 1200,
        ),
        # the node's memory is every pod's on it
        (
            "node",
            [
                old_pod("api-old-1", 1, "node_memory_Active_bytes"),
                new_pod("api-new-1", 3, name="node_memory_Active_bytes", scope="node"),
            ],
            CHANGE,
        ),
        # nothing of the service before the change: no level to climb past
        ("no before", [new_pod("api-new-1", 3), new_pod("api-new-2", 4)], CHANGE),
        # one pod of three climbing is that pod, not the release
        (
            "one of three",
            [
                old_pod("api-old-1", 1),
                new_pod("api-new-1", 3),
                new_pod("api-new-2", 4, "warmup"),
                new_pod("api-new-3", 5, "warmup"),
            ],
            CHANGE,
        ),
    ],
)
def test_no_leak(why: str, mem: list[Series], change_at: float) -> None:
    assert leak_of(mem, change_at) is None, why


def test_without_a_leak_a_deploy_two_hours_old_is_no_candidate() -> None:
    a = analyze_context(context(rollout("warmup")))
    assert not [c for c in a.candidates if c.kind == "deploy"]
