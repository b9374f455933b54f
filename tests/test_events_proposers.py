"""Cluster events through the proposers, one signal shape at a time.

The small incident of `test_proposers` (web → api → db, the alert on web) plus Kubernetes
events at api: an OOM kill is a crash, and saturation only with a memory signal; capacity
events alone make a saturation candidate (node-wide ones mark it `node_only`); a broken
pod spec after a change is harm against that change but a crash loop that began before
it is not; the `k8s_events` feature carries its design prior while no fitted weights
know it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aisre_cli.investigate.rank import DEFAULT_WEIGHTS, Weights
from aisre_cli.model import Change, Event
from tests.test_proposers import FAULT, cands, context, run, series


def ev(reason: str, message: str = "", t: float = FAULT + 30, count: int = 3, **kw: str) -> Event:
    return Event(
        ts=t,
        service=kw.pop("service", "api"),
        reason=reason,
        message=message,
        object=kw.pop("object", "pod/api-1"),
        count=count,
        ref="events/k8s.jsonl:1",
    )


def test_an_oom_kill_is_a_crash_and_saturation_only_with_a_memory_signal() -> None:
    oom = ev("OOMKilled", "container api exceeded its memory limit")
    ctx = context()
    ctx.events = [oom]
    a = run(ctx)
    (crash,) = cands(a, "crash_loop", "api")
    assert any(e.ev.kind == "event" for e in crash.evidence)
    assert crash.features["kind_signal"] > 0.5
    assert "OOMKilled x3" in crash.statement
    assert cands(a, "resource_saturation", "api") == []

    ctx = context([series("container_memory_working_set_bytes", "api", 2e8, 5e8)])
    ctx.events = [oom]
    a = run(ctx)
    (sat,) = cands(a, "resource_saturation", "api")
    rows = [e.ev for e in sat.evidence if e.ev.kind == "event"]
    assert rows and rows[0].data["class"] == "crash"


def test_capacity_events_alone_propose_saturation() -> None:
    ctx = context()
    ctx.events = [
        ev("Evicted", "The node was low on resource: memory."),
        ev("FailedScheduling", "0/4 nodes are available: 4 Insufficient memory.", count=8),
    ]
    a = run(ctx)
    (sat,) = cands(a, "resource_saturation", "api")
    assert sat.subject == "memory" and sat.features["node_only"] == 0.0
    assert sat.features["kind_signal"] > 0.5
    assert "the cluster reports" in sat.statement

    ctx = context()
    ctx.events = [ev("NodeHasInsufficientMemory", "reclaiming", object="node/n1")]
    (node,) = cands(run(ctx), "resource_saturation", "api")
    assert node.features["node_only"] == 1.0
    assert node.features["kind_signal"] < sat.features["kind_signal"]


def _config_change(t: float) -> Change:
    return Change(
        id="cfg-1",
        ts=datetime.fromtimestamp(t, UTC),
        service="api",
        kind="config",
        summary="api: DB_URL from secret db-creds",
    )


def test_a_broken_pod_spec_after_a_change_is_its_harm() -> None:
    bad = ev("CreateContainerConfigError", 'Error: secret "db-creds" not found', t=FAULT + 60)
    ctx = context(changes=[_config_change(FAULT - 240)])
    ctx.events = [bad]
    (cand,) = cands(run(ctx), "config_change", "api")
    assert cand.features["change_harm"] > 0.5
    assert any(e.ev.kind == "event" for e in cand.evidence)

    # the same events, but going on since before the change: not the change's doing
    ctx = context(changes=[_config_change(FAULT - 240)])
    ctx.events = [
        Event(
            ts=FAULT + 60,
            service="api",
            reason="CreateContainerConfigError",
            message='Error: secret "db-creds" not found',
            object="pod/api-1",
            count=3,
            attrs={"first_timestamp": FAULT - 1500},
        )
    ]
    (cand,) = cands(run(ctx), "config_change", "api")
    assert cand.features["change_harm"] == 0.0


def test_events_are_a_feature_of_their_service_only() -> None:
    ctx = context()
    ctx.events = [ev("Unhealthy", "Readiness probe failed: 503", count=10)]
    a = run(ctx)
    api = [c for c in a.candidates if c.service == "api"]
    assert api and all(c.features["k8s_events"] > 0.3 for c in api)
    assert all(c.features["k8s_events"] == 0.0 for c in a.candidates if c.service != "api")
    bare = run(context())
    assert all(c.features["k8s_events"] == 0.0 for c in bare.candidates)


def test_normal_events_change_nothing() -> None:
    ctx = context()
    ctx.events = [
        Event(ts=FAULT + 30, service="api", reason="OOMKilled", type="Normal", count=9),
        Event(ts=FAULT + 40, service="db", reason="Started", type="Normal"),
    ]
    with_normal = [(c.service, c.kind, round(c.score, 9)) for c in run(ctx).candidates]
    bare = [(c.service, c.kind, round(c.score, 9)) for c in run(context()).candidates]
    assert with_normal == bare


def test_k8s_events_keeps_its_design_prior_until_fitted(tmp_path: Path) -> None:
    w = Weights.load()
    # no dataset has events: the shipped weight is the design prior, scaled like every
    # other weight by the fitted temperature (its weight relative to the others holds)
    t = float(w.meta.get("temperature", 1.0))
    assert w.w["k8s_events"] == pytest.approx(DEFAULT_WEIGHTS["k8s_events"] / t, abs=1e-5)
    assert DEFAULT_WEIGHTS["k8s_events"] > 0
    p = tmp_path / "w.json"
    p.write_text(json.dumps({"weights": {"k8s_events": 0.25, "logs": 0.5}, "null_score": 3.0}))
    fitted = Weights.load(p)
    assert fitted.w["k8s_events"] == 0.25
    assert fitted.w["trace"] == 0.0  # a fitted file's missing fitted feature stays 0


def test_a_dependency_down_because_it_crash_loops_is_a_crash_loop() -> None:
    down = [
        series("probe_success", "db", 1.0, 0.0, noise=0.0),
        series("http_errors_ratio", "api", 0.01, 0.4),
    ]
    bare = run(context(down))
    (dep_bare,) = cands(bare, "dependency_failure", "db")
    ctx = context(down)
    ctx.events = [
        ev(
            "CrashLoopBackOff",
            "back-off 40s restarting failed container",
            service="db",
            object="pod/db-0",
            count=6,
        ),
    ]
    a = run(ctx)
    (dep,) = cands(a, "dependency_failure", "db")
    (crash,) = cands(a, "crash_loop", "db")
    # the callers still see a dependency failure, but why it is down is the better answer
    assert dep.features["kind_signal"] < 0.5 * dep_bare.features["kind_signal"]
    assert crash.score > dep.score


def _killed(pod: str, t: float, msg: str = "Stopping container api") -> Event:
    return Event(
        ts=t,
        service="api",
        reason="Killing",
        message=msg,
        object=f"pod/{pod}",
        count=1,
        type="Normal",
        ref="events/k8s.jsonl:1",
    )


def test_pods_killed_again_and_again_with_no_rollout_are_the_service_losing_them() -> None:
    """The kubelet's `Killing` is a Normal event: a rollout's old pods, a scale-down. Pods
    of one ReplicaSet killed one after another while the cluster recorded no rollout or
    scaling of the service are being deleted from outside (a drain, a preemption, a
    chaos experiment): the service keeps losing its pods."""
    kills = [_killed("api-7d9f-a1", FAULT - 10), _killed("api-7d9f-b2", FAULT + 230)]
    ctx = context()
    ctx.events = kills
    (crash,) = cands(run(ctx), "crash_loop", "api")
    assert "pods are being killed and replaced with no rollout" in crash.statement
    assert crash.features["kind_signal"] > 0.3
    # one pod killed is one pod going away; a kill for a failed liveness probe is the
    # probe's reading; pods killed beside a rollout or a scale-down are its old pods
    for events in (
        kills[:1],
        [
            _killed(f"api-{i}", FAULT + i, "Container api failed liveness probe, will be restarted")
            for i in range(3)
        ],
        [
            *kills,
            Event(
                ts=FAULT - 20,
                service="api",
                reason="ScalingReplicaSet",
                message="Scaled down replica set api-7d9f to 1",
                object="deployment/api",
                type="Normal",
                ref="events/k8s.jsonl:2",
            ),
        ],
    ):
        ctx = context()
        ctx.events = events
        assert cands(run(ctx), "crash_loop", "api") == []


def test_pods_killed_as_a_recorded_change_rolls_out_are_its_old_pods() -> None:
    """Nomad records no scaling event: a job run kills its old allocations (`Killing`)
    and starts new ones. Kills within a quarter of an hour after a change of the service
    on record are that change rolling out; the same kills with the change an hour
    earlier, or on another service, are still the service losing its pods."""
    kills = [_killed("api-7d9f-a1", FAULT + 20), _killed("api-7d9f-b2", FAULT + 80)]

    def crash_with(at: float, svc: str = "api") -> list:
        ctx = context(
            changes=[
                Change(
                    id="nomad-api-v85",
                    ts=datetime.fromtimestamp(at, UTC),
                    service=svc,
                    kind="deploy",
                    summary="nomad job run api: job version 83 -> 85",
                )
            ]
        )
        ctx.events = kills
        return cands(run(ctx), "crash_loop", "api")

    assert crash_with(FAULT) == []
    assert crash_with(FAULT - 3600) != []
    assert crash_with(FAULT, svc="web") != []
