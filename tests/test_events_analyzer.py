"""`investigate/analyzers/events.py`: Kubernetes events read by meaning and weighed.

Classification is by what an event says (the reason word, and for words with two
meanings such as `BackOff` and `Failed`, the message), never by dataset names; Normal
events are never faults; a group's strength grows with its count and fades with its
distance from the onset; rollouts the cluster recorded become changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aisre_cli.investigate.analyzers import events as ea
from aisre_cli.investigate.evidence import event_evidence
from aisre_cli.model import Change, Event

ONSET = 1_750_000_000.0
ALERT = ONSET + 180.0


def e(
    reason: str,
    message: str = "",
    *,
    type_: str = "Warning",
    count: int = 1,
    t: float = ONSET - 60,
    service: str = "api",
    obj: str = "pod/api-1",
    **attrs: Any,
) -> Event:
    return Event(
        ts=t,
        service=service,
        reason=reason,
        type=type_,
        message=message,
        object=obj,
        count=count,
        attrs=dict(attrs),
        ref=f"events/k8s.jsonl:{abs(hash(reason)) % 97 + 1}",
    )


@pytest.mark.parametrize(
    ("event", "want"),
    [
        # crash
        (e("OOMKilled", "container app"), ("crash", "oom")),
        (
            e("OOMKilling", "Memory cgroup out of memory: Killed process 41 (java)"),
            ("crash", "oom"),
        ),
        (e("oomkilled"), ("crash", "oom")),
        (e("CrashLoopBackOff", "back-off 5m0s restarting failed container"), ("crash", "backoff")),
        (
            e("BackOff", "Back-off restarting failed container app in pod api-1_shop"),
            ("crash", "backoff"),
        ),
        (e("Error", "container app terminated", exit_code=137), ("crash", "oom")),
        (e("Error", "Error: exit code 143"), ("crash", "exit")),
        # Amazon ECS: a task stopped because its essential container exited
        (
            e(
                "EssentialContainerExited",
                "Essential container in task exited (container worker: OutOfMemoryError:"
                " Container killed due to memory usage)",
                exit_code=137,
            ),
            ("crash", "oom"),
        ),
        (
            e("EssentialContainerExited", "Essential container in task exited", exit_code=139),
            ("crash", "exit"),
        ),
        # ... and one its scheduler stopped for failing its health checks, to replace it
        (
            e(
                "ServiceSchedulerInitiated",
                "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:"
                "eu-west-1:1:targetgroup/api-tg/73e2)",
                exit_code=137,
            ),
            ("crash", "liveness"),
        ),
        (
            e("ServiceSchedulerInitiated", "Task failed container health checks."),
            ("crash", "liveness"),
        ),
        # Docker's own events: a container that died, by its exit code; the kernel's
        # OOM kill of one
        (
            e(
                "die",
                "container die 528f5ff28d67 (exitCode=137, image=memcached:1.6.7)",
                exitCode=137,
            ),
            ("crash", "oom"),
        ),
        (e("die", "container die 1f2e (exitCode=139, image=app:1)"), ("crash", "exit")),
        (e("oom", "container oom 87f7a29c2f1a (image=redis:6.2.4)"), ("crash", "oom")),
        (e("Terminated", "", exit_code="1"), ("crash", "exit")),
        (e("ContainerStatus", "last state", restart_count=4), ("crash", "restart")),
        # pod state as the Kubernetes source reports it
        (
            e(
                "Error",
                "container app terminated: Error (exit code 139); restarted 4 time(s)",
                exit_code=139,
                restarts=4,
            ),
            ("crash", "exit"),
        ),
        (e("RunContainerError", "container app waiting: exec format error"), ("config", "start")),
        (
            e("Unschedulable", "0/3 nodes are available: 3 Insufficient memory."),
            ("capacity", "scheduling"),
        ),
        (e("PodNotReady", "containers with unready status: [app]"), ("probe", "readiness")),
        (
            e("NodeMemoryPressure", "node n1: MemoryPressure=True", obj="node/n1"),
            ("capacity", "node_pressure"),
        ),
        # a broken pod spec: image or config
        (e("BackOff", 'Back-off pulling image "registry/api:v2"'), ("config", "image")),
        (e("ImagePullBackOff"), ("config", "image")),
        (e("ErrImagePull", "rpc error: manifest unknown"), ("config", "image")),
        (
            e("Failed", 'Failed to pull image "registry/api:v9": not found'),
            ("config", "image"),
        ),
        (e("CreateContainerConfigError"), ("config", "config")),
        (e("Failed", 'Error: configmap "api-config" not found'), ("config", "config")),
        (
            e("FailedMount", 'MountVolume.SetUp failed for volume "cfg" : secret "db" not found'),
            ("config", "config"),
        ),
        # probes
        (
            e("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
            ("probe", "readiness"),
        ),
        (
            e("Unhealthy", "Liveness probe failed: Get http://10.0.0.1/healthz: timeout"),
            ("probe", "liveness"),
        ),
        # capacity
        (
            e("Evicted", "The node was low on resource: memory. Threshold quantity: 100Mi"),
            ("capacity", "evicted"),
        ),
        (
            e("FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu."),
            ("capacity", "scheduling"),
        ),
        (e("NodeHasInsufficientMemory", obj="node/n1"), ("capacity", "node_pressure")),
        (e("NodeDiskPressure", obj="node/n1"), ("capacity", "node_pressure")),
        (
            e("NodeNotReady", "Node n1 status is now: NodeNotReady", obj="node/n1"),
            ("capacity", "node_not_ready"),
        ),
        (e("HPAAtMaxReplicas", "desired 14, max 10", obj="hpa/api"), ("capacity", "hpa_max")),
        (
            e("ScalingLimited", "the desired replica count is more than the maximum replica count"),
            ("capacity", "hpa_max"),
        ),
        (
            e("FailedCreate", "exceeded quota: compute, requested: limits.memory=2Gi"),
            ("capacity", "quota"),
        ),
    ],
)
def test_classification_by_meaning(event: Event, want: tuple[str, str]) -> None:
    m = ea.classify(event)
    assert m is not None, event
    assert (m.cls, m.detail) == want


@pytest.mark.parametrize(
    "event",
    [
        # Normal events are never faults, whatever their words
        e("OOMKilled", "container app", type_="Normal"),
        e("BackOff", "Back-off restarting failed container", type_="Normal"),
        e("Killing", "Container app failed liveness probe, will be restarted", type_="Normal"),
        e("NodeHasInsufficientMemory", type_="Normal", obj="node/n1"),
        e("Scheduled", "Successfully assigned shop/api-1 to n1", type_="Normal"),
        # Warnings that say nothing about a fault of the service
        e("Error", "container app exited", exit_code=0),
        e("EssentialContainerExited", "Essential container in task exited", exit_code=0),
        e("die", "container die 4fcf (exitCode=0, image=app:1)", exitCode=0),
        e("FailedScheduling", "0/3 nodes are available: 3 node(s) had untolerated taint"),
        e("FailedMount", "Unable to attach or mount volumes: timed out waiting for the condition"),
        e("Unhealthy", "something is off"),
        # the same reason word with a message of neither meaning claims nothing
        e("BackOff", "Back-off 20s syncing pod volumes"),
        e("ProbeWarning", "Readiness probe warning: redirect"),
    ],
)
def test_what_is_not_a_fault(event: Event) -> None:
    assert ea.classify(event) is None


def test_first_seen_is_read_from_the_sources_attributes() -> None:
    iso = datetime.fromtimestamp(ONSET - 900, UTC).isoformat().replace("+00:00", "Z")
    for key in ("first_seen", "first_timestamp", "firstTimestamp"):
        assert ea.first_seen(e("OOMKilled", **{key: iso})) == ONSET - 900
    assert ea.first_seen(e("OOMKilled", first_seen=(ONSET - 900) * 1000)) == ONSET - 900
    # nonsense, or a first time after the last, falls back to the event's time
    assert ea.first_seen(e("OOMKilled", first_seen="soon")) == ONSET - 60
    assert ea.first_seen(e("OOMKilled", first_seen=ONSET + 900)) == ONSET - 60


def test_normal_events_never_make_a_finding() -> None:
    evs = [
        e("OOMKilled", type_="Normal", count=50),
        e("Pulled", type_="Normal", count=9),
        e("Started", type_="Normal", count=9),
    ]
    assert ea.analyze(evs, ONSET, ALERT) == []


def test_node_events_are_shared_and_weigh_half() -> None:
    own = ea.analyze([e("Evicted", "low on resource: memory")], ONSET, ALERT)[0]
    node = ea.analyze([e("EvictionThresholdMet", "reclaim memory", obj="node/n1")], ONSET, ALERT)
    assert node[0].node_scope and not own.node_scope
    assert node[0].strength < own.strength


def test_more_events_weigh_more() -> None:
    one = ea.analyze([e("OOMKilled", count=1)], ONSET, ALERT)[0].strength
    five = ea.analyze([e("OOMKilled", count=5)], ONSET, ALERT)[0].strength
    many = ea.analyze([e("OOMKilled", count=30)], ONSET, ALERT)[0].strength
    assert one < five < many <= 1.0
    assert one == pytest.approx(0.9 * 0.5)  # one event counts half of its severity


def test_onset_weighs_recency() -> None:
    def strength(first: float, last: float | None = None) -> float:
        ev = e("OOMKilled", t=last if last is not None else first, first_timestamp=first)
        found = ea.analyze([ev], ONSET, ALERT)
        return found[0].strength if found else 0.0

    near = strength(ONSET - 120)
    after_page = strength(ALERT + 300)
    half_hour = strength(ONSET - 1800, ONSET - 1700)
    hour = strength(ONSET - 3600, ONSET - 3500)
    chronic = strength(ONSET - 6 * 3600, ONSET + 60)
    late = strength(ALERT + 3600)
    assert near == after_page  # back-off events follow the first crash: still in full
    assert near > half_hour > hour > 0
    assert chronic == pytest.approx(near * ea.CHRONIC_WEIGHT, abs=1e-3)
    assert hour < chronic  # old and gone says less than old and still happening
    assert late < 0.1 * near


def _probe_every_5_min(start: float, end: float, count: int = 4) -> list[Event]:
    n = int((end - start) // 300) + 1
    return [
        e("Unhealthy", "Readiness probe failed", t=start + 300 * i, count=count) for i in range(n)
    ]


def test_a_probe_failing_as_often_before_the_incident_is_a_flaky_probe() -> None:
    """Readiness probes failing a few times every five minutes all hour, as often before
    the onset as around it: a flaky probe, chronic, not the fault. The same probe
    failing much more often from the onset is the fault."""
    steady = ea.analyze(_probe_every_5_min(ONSET - 2700, ALERT + 900), ONSET, ALERT)[0]
    near_only = ea.analyze(_probe_every_5_min(ONSET - 120, ALERT + 900), ONSET, ALERT)[0]
    rising = ea.analyze(
        _probe_every_5_min(ONSET - 2700, ONSET - 400, count=1)
        + _probe_every_5_min(ONSET - 120, ALERT + 900, count=8),
        ONSET,
        ALERT,
    )[0]
    assert steady.strength == pytest.approx(near_only.strength * ea.CHRONIC_WEIGHT, abs=1e-3)
    assert rising.strength == pytest.approx(near_only.strength, abs=1e-3)
    # two warnings long before are no rate, and a group over before the incident is
    # weighed by its recency alone
    few = [e("Unhealthy", t=ONSET - 700), e("Unhealthy", t=ONSET - 400), e("Unhealthy", t=ONSET)]
    assert ea.steady_rate([(x, x.ts) for x in few], ONSET, ALERT) is False
    assert (
        ea.steady_rate(
            [(x, x.ts) for x in _probe_every_5_min(ONSET - 2700, ONSET - 900)], ONSET, ALERT
        )
        is False
    )


def test_tasks_that_began_exiting_inside_the_window_began_then() -> None:
    """ECS tasks exiting every minute from ten minutes before the onset, after half an
    hour of the window with none: a crash loop that began then, not a chronic one,
    however steady its rate since. The same rate from the start of the window is."""
    start = ONSET - 2700

    def exits(first: float) -> list[Event]:
        n = int((ALERT + 900 - first) // 60)
        return [
            e(
                "EssentialContainerExited",
                "Essential container in task exited",
                t=first + 60 * i,
                obj=f"task/t{i}",
                exit_code=1,
            )
            for i in range(n)
        ]

    began = ea.analyze(exits(ONSET - 600), ONSET, ALERT, since=start)[0]
    always = ea.analyze(exits(start), ONSET, ALERT, since=start)[0]
    assert began.strength > 0.5
    assert always.strength == pytest.approx(began.strength * ea.CHRONIC_WEIGHT, abs=0.05)
    # (not knowing where the window began, ten minutes of them read as steady)
    assert ea.analyze(exits(ONSET - 600), ONSET, ALERT)[0].strength < 0.2


def test_a_new_pod_unready_while_it_warms_up_is_no_fault() -> None:
    """A rolling update starts a pod; its readiness probe is refused for the minute the
    application takes to listen. That pod took no traffic: no probe finding. The same
    pod still unready six minutes on, unready before it started, an old pod turning
    unready, or a liveness failure (which kills) are the probe's reading."""
    msg = 'Readiness probe failed: Get "http://10.0.0.6:8080/health": connect: connection refused'
    started = e("Started", "Started container api", type_="Normal", t=ONSET - 240, obj="pod/api-2")

    def probe(
        last: float, obj: str = "pod/api-2", text: str = msg, first: float = ONSET - 230
    ) -> Event:
        return e("Unhealthy", text, count=4, t=last, obj=obj, first_timestamp=first)

    assert ea.analyze([started, probe(ONSET - 180)], ONSET, ALERT) == []
    assert ea.warming_up([started, probe(ONSET - 180)]) == {1}
    for kept in (
        probe(ONSET - 240 + ea.WARMUP_S + 60),
        probe(ONSET - 180, obj="pod/api-1"),
        probe(ONSET - 180, text=msg.replace("Readiness", "Liveness")),
        probe(ONSET - 180, first=ONSET - 400),  # unready before it (re)started
    ):
        (f,) = ea.analyze([started, kept], ONSET, ALERT)
        assert f.cls == "probe"


def test_a_group_is_one_service_and_one_class() -> None:
    found = ea.analyze(
        [
            e("OOMKilled", count=3),
            e("BackOff", "Back-off restarting failed container", count=7),
            e("Unhealthy", "Readiness probe failed: 500"),
            e("OOMKilled", service="db", obj="pod/db-0"),
        ],
        ONSET,
        ALERT,
    )
    keys = [(f.service, f.cls) for f in found]
    assert keys == [("api", "crash"), ("api", "probe"), ("db", "crash")]
    crash = found[0]
    assert crash.count == 10 and crash.reasons == {"OOMKilled": 3, "BackOff": 7}
    assert crash.oom and crash.events[0].reason == "OOMKilled"  # the most severe first


def test_only_events_after_a_change_speak_against_it() -> None:
    change_t = ONSET - 600
    f = ea.analyze(
        [
            e("BackOff", "Back-off restarting failed container", t=change_t - 1200, count=4),
            e("OOMKilled", t=change_t + 120, count=2),
        ],
        ONSET,
        ALERT,
    )[0]
    part = ea.after(f, change_t)
    assert part is not None and part.reasons == {"OOMKilled": 2}
    assert part.strength < f.strength
    # a crash loop that was already going before a hot-fix is not the hot-fix's doing
    assert ea.after(f, ONSET + 60) is None


def test_evidence_row_cites_kubectl_or_the_file_line() -> None:
    ev = e("OOMKilled", "container app", count=3)
    f = ea.analyze([ev], ONSET, ALERT)[0]
    row = event_evidence(f, ONSET).ev
    assert row.kind == "event" and row.service == "api"
    assert row.query == ev.ref and row.ref == ev.ref
    assert "OOMKilled x3" in row.summary and row.family == "restarts"
    ev.query = "kubectl --context prod --namespace shop describe pod api-1"
    row = event_evidence(ea.analyze([ev], ONSET, ALERT)[0], ONSET).ev
    assert row.query.startswith("kubectl --context prod")


def test_excerpts_are_single_lines_and_bounded() -> None:
    hostile = "line one\nline two\r\x1b]52;c;ZWNobyBoaQ==\x07" + "A" * 5000
    evs = [e("OOMKilled", hostile, count=i + 1, obj=f"pod/api-{i}") for i in range(6)]
    lines = ea.excerpt(evs)
    assert len(lines) == ea.EXCERPT_LINES
    for line in lines:
        assert "\n" not in line and "\r" not in line
        assert len(line) <= ea.EXCERPT_CHARS


def _rs(t: float, service: str, message: str) -> Event:
    return e(
        "ScalingReplicaSet",
        message,
        type_="Normal",
        t=t,
        service=service,
        obj=f"deployment/{service}",
    )


def test_a_rollout_only_the_cluster_recorded_becomes_a_deploy() -> None:
    evs = [
        _rs(ONSET - 300, "cart", "Scaled up replica set cart-6b7d8 to 1"),
        _rs(ONSET - 280, "cart", "Scaled down replica set cart-5f4c2 to 2"),
        _rs(ONSET - 260, "cart", "Scaled up replica set cart-6b7d8 from 1 to 2"),
    ]
    got = ea.rollouts(evs, [])
    assert len(got) == 1
    c = got[0]
    assert (c.kind, c.service, c.version, c.previous_version) == (
        "deploy",
        "cart",
        "cart-6b7d8",
        "cart-5f4c2",
    )
    assert c.id == "rollout:deployment/cart:cart-6b7d8"
    assert c.ts.timestamp() == ONSET - 300
    # the same rollout already recorded (a pipeline, or the Kubernetes source) is not doubled
    known = Change(
        id="deploy-1",
        ts=datetime.fromtimestamp(ONSET - 320, UTC),
        service="cart",
        kind="deploy",
    )
    assert ea.rollouts(evs, [known]) == []


def test_an_autoscaler_resizing_one_replicaset_is_no_rollout() -> None:
    evs = [
        _rs(ONSET - 300, "web", "Scaled up replica set web-5d8f to 6"),
        _rs(ONSET + 900, "web", "Scaled down replica set web-5d8f to 4"),
    ]
    assert ea.rollouts(evs, []) == []
