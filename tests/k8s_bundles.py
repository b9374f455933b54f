"""Incident bundles whose story is told partly by Kubernetes events (`events/*.jsonl`).

The evaluation datasets carry no cluster events, so these four bundles are where the
events analyzer meets the whole engine. Each is written from a small declarative
story, with seeded noise on every series and a clean baseline of an hour:

* `oom_after_deploy`: payments is deployed, its new pods are OOMKilled and back off;
  an innocent config change on inventory lands closer to the onset;
* `rollout_only`: a bad rollout of checkout that only the cluster recorded
  (ScalingReplicaSet events, no `change record`), whose new pods fail readiness; an
  innocent pipeline deploy of search sits in the window;
* `node_pressure`: search's node runs out of memory: pods evicted, rescheduling fails
  for lack of memory; search's own metrics show only its symptoms (no memory series);
* `decoy`: a deploy of payments breaks it (metrics only), while every service emits
  Normal events (including an autoscaler resizing web) and an unrelated batch job
  crash-loops with Warning events.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
STEP = 30
MINUTES = 60
TOPOLOGY: dict[str, list[str]] = {
    "web": ["checkout", "search"],
    "checkout": ["payments", "inventory"],
    "payments": ["postgres"],
    "inventory": ["redis"],
    "search": [],
    "postgres": [],
    "redis": [],
    "reporter": ["postgres"],
}
SERVICES = ("web", "checkout", "payments", "inventory", "search", "reporter")


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def ts(minute: float) -> str:
    return at(minute).isoformat().replace("+00:00", "Z")


@dataclass
class Step:
    """From `minute` on, the metric at the service sits at `level` (times noise)."""

    metric: str
    service: str
    minute: float
    level: float


@dataclass
class Story:
    name: str
    alert_service: str
    alert_minute: float
    alert_name: str
    steps: list[Step]
    events: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)


BASE = {"http_error_ratio": 0.01, "http_latency_p99_seconds": 0.25}


def kubectl(kind_name: str, ns: str = "shop") -> str:
    name = kind_name.split("/", 1)[-1]
    return (
        f"kubectl --context prod --namespace {ns} get events"
        f" --field-selector involvedObject.name={name}"
    )


def ev(
    minute: float,
    service: str,
    reason: str,
    message: str,
    obj: str,
    *,
    type_: str = "Warning",
    count: int = 1,
    first: float | None = None,
    **attrs: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": ts(minute),
        "service": service,
        "reason": reason,
        "type": type_,
        "message": message,
        "object": obj,
        "count": count,
    }
    if first is not None:
        out["first_timestamp"] = ts(first)
    out.update(attrs)
    return out


def normal_noise(services: tuple[str, ...]) -> list[dict[str, Any]]:
    """What a healthy cluster says all day: pods scheduled, pulled, started."""
    out = []
    for i, s in enumerate(services):
        pod = f"pod/{s}-5d8f7c9b4-{'abcdef'[i]}x{i}"
        for m, (reason, msg) in enumerate(
            [
                ("Scheduled", f"Successfully assigned shop/{pod[4:]} to node-{i % 3}"),
                ("Pulled", 'Container image "registry/app:1.4.2" already present on machine'),
                ("Created", "Created container app"),
                ("Started", "Started container app"),
                ("Killing", "Stopping container app"),
                ("SuccessfulCreate", f"Created pod: {pod[4:]}"),
            ]
        ):
            out.append(ev(5 + 7 * m + i, s, reason, msg, pod, type_="Normal", count=1 + m % 3))
    return out


def oom_after_deploy() -> Story:
    pod = "pod/payments-7f9c6d5b8-q2x4z"
    return Story(
        name="oom_after_deploy",
        alert_service="checkout",
        alert_minute=42,
        alert_name="CheckoutHighErrorRate",
        steps=[
            Step("http_error_ratio", "payments", 38.5, 0.25),
            Step("http_error_ratio", "checkout", 39.5, 0.15),
            Step("http_error_ratio", "web", 40.5, 0.06),
        ],
        changes=[
            {
                "id": "deploy-501",
                "ts": ts(35),
                "service": "payments",
                "kind": "deploy",
                "summary": "payments v3.2.0: new PDF receipts",
                "version": "v3.2.0",
                "previous_version": "v3.1.9",
                "author": "j.doe",
            },
            {
                "id": "cfg-77",
                "ts": ts(37),
                "service": "inventory",
                "kind": "config",
                "summary": "inventory: CACHE_TTL 60 -> 90",
            },
        ],
        events=[
            *normal_noise(SERVICES),
            ev(
                35,
                "payments",
                "ScalingReplicaSet",
                "Scaled up replica set payments-7f9c6d5b8 to 1",
                "deployment/payments",
                type_="Normal",
            ),
            ev(
                35.5,
                "payments",
                "Pulled",
                'Successfully pulled image "registry/payments:v3.2.0"',
                pod,
                type_="Normal",
            ),
            ev(
                50,
                "payments",
                "OOMKilled",
                "Container payments exceeded its memory limit (512Mi) and was killed",
                pod,
                count=5,
                first=38,
                exit_code=137,
                container="payments",
                query=kubectl(pod),
            ),
            ev(
                51,
                "payments",
                "BackOff",
                f"Back-off restarting failed container payments in pod {pod[4:]}",
                pod,
                count=11,
                first=39,
                query=kubectl(pod),
            ),
        ],
        truth={"kind": "deploy", "service": "payments", "change_id": "deploy-501"},
    )


def rollout_only() -> Story:
    new = "checkout-6b7d8c9f5"
    old = "checkout-5f4c2a1d7"
    pod = f"pod/{new}-m8k2p"
    return Story(
        name="rollout_only",
        alert_service="web",
        alert_minute=43,
        alert_name="WebHighErrorRate",
        steps=[
            Step("http_error_ratio", "checkout", 37.5, 0.2),
            Step("http_error_ratio", "web", 38.5, 0.1),
        ],
        changes=[
            {
                "id": "deploy-880",
                "ts": ts(33),
                "service": "search",
                "kind": "deploy",
                "summary": "search v2.0.1",
                "version": "v2.0.1",
            },
        ],
        events=[
            *normal_noise(SERVICES),
            ev(
                36,
                "checkout",
                "ScalingReplicaSet",
                f"Scaled up replica set {new} to 1",
                "deployment/checkout",
                type_="Normal",
            ),
            ev(
                36.5,
                "checkout",
                "ScalingReplicaSet",
                f"Scaled down replica set {old} to 2",
                "deployment/checkout",
                type_="Normal",
            ),
            ev(
                37,
                "checkout",
                "ScalingReplicaSet",
                f"Scaled up replica set {new} to 2",
                "deployment/checkout",
                type_="Normal",
            ),
            ev(
                50,
                "checkout",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 500",
                pod,
                count=18,
                first=37,
                query=kubectl(pod),
            ),
        ],
        truth={
            "kind": "deploy",
            "service": "checkout",
            "change_id": f"rollout:deployment/checkout:{new}",
        },
    )


def node_pressure() -> Story:
    pods = [f"pod/search-7c6b5d4f3-{x}" for x in ("a1b2c", "d3e4f", "g5h6i")]
    return Story(
        name="node_pressure",
        alert_service="web",
        alert_minute=44,
        alert_name="WebHighLatency",
        steps=[
            Step("http_error_ratio", "search", 39.5, 0.12),
            Step("http_latency_p99_seconds", "search", 39.5, 2.5),
            Step("http_latency_p99_seconds", "web", 40.5, 1.2),
        ],
        events=[
            *normal_noise(SERVICES),
            ev(
                46,
                "search",
                "EvictionThresholdMet",
                "Attempting to reclaim memory",
                "node/node-2",
                count=3,
                first=38,
                node="node-2",
            ),
            *[
                ev(
                    39 + i,
                    "search",
                    "Evicted",
                    "The node was low on resource: memory. Threshold quantity: 100Mi, available: "
                    "42Mi. Container search was using 1.1Gi, which exceeds its request of 512Mi.",
                    p,
                    node="node-2",
                    query=kubectl(p),
                )
                for i, p in enumerate(pods)
            ],
            ev(
                52,
                "search",
                "FailedScheduling",
                "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are "
                "available: 3 No preemption victims found for incoming pod.",
                "pod/search-7c6b5d4f3-z9y8x",
                count=9,
                first=40,
            ),
        ],
        truth={"kind": "resource_saturation", "service": "search"},
    )


def decoy() -> Story:
    job = "pod/reporter-28421-7xk2l"
    return Story(
        name="decoy",
        alert_service="checkout",
        alert_minute=42,
        alert_name="CheckoutHighErrorRate",
        steps=[
            Step("http_error_ratio", "payments", 38.5, 0.3),
            Step("http_error_ratio", "checkout", 39.5, 0.15),
        ],
        changes=[
            {
                "id": "deploy-601",
                "ts": ts(36),
                "service": "payments",
                "kind": "deploy",
                "summary": "payments v3.3.0",
                "version": "v3.3.0",
                "previous_version": "v3.2.0",
            },
        ],
        events=[
            *normal_noise(SERVICES),
            *normal_noise(SERVICES),
            # an autoscaler resizing one ReplicaSet is not a rollout
            ev(
                30,
                "web",
                "ScalingReplicaSet",
                "Scaled up replica set web-5d8f7c9b4 to 6",
                "deployment/web",
                type_="Normal",
            ),
            ev(
                55,
                "web",
                "ScalingReplicaSet",
                "Scaled down replica set web-5d8f7c9b4 to 4",
                "deployment/web",
                type_="Normal",
            ),
            ev(
                38,
                "web",
                "SuccessfulRescale",
                "New size: 6; reason: cpu resource utilization above target",
                "horizontalpodautoscaler/web",
                type_="Normal",
            ),
            # Normal events with alarming words are still Normal
            ev(
                39,
                "checkout",
                "Killing",
                "Container app failed liveness probe, will be restarted",
                "pod/checkout-5d8f7c9b4-bx1",
                type_="Normal",
            ),
            ev(
                40,
                "inventory",
                "OOMKilled",
                "normal-typed record of an old OOM kill",
                "pod/inventory-1",
                type_="Normal",
                count=3,
            ),
            # the unrelated batch job crash-loops
            ev(
                41,
                "reporter",
                "BackOff",
                f"Back-off restarting failed container reporter in pod {job[4:]}",
                job,
                count=4,
                first=37,
            ),
        ],
        truth={"kind": "deploy", "service": "payments", "change_id": "deploy-601"},
    )


STORIES: dict[str, Callable[[], Story]] = {
    "oom_after_deploy": oom_after_deploy,
    "rollout_only": rollout_only,
    "node_pressure": node_pressure,
    "decoy": decoy,
}


def _series(story: Story, metric: str, rng: random.Random) -> dict[str, Any]:
    base = BASE[metric]
    result = []
    for s in SERVICES:
        steps = sorted(
            (x for x in story.steps if x.metric == metric and x.service == s),
            key=lambda x: x.minute,
        )
        values = []
        for i in range(MINUTES * 60 // STEP + 1):
            minute = i * STEP / 60
            level = base
            for x in steps:
                if minute >= x.minute:
                    level = x.level
            v = level * (1.0 + rng.gauss(0.0, 0.08))
            values.append([int(T0.timestamp()) + i * STEP, f"{max(v, 0.0):.5g}"])
        result.append({"metric": {"service": s, "namespace": "shop"}, "values": values})
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def write(story: Story, root: Path, *, events: bool = True) -> Path:
    """Write `story` as a bundle v1 directory under `root`; returns its path."""
    rng = random.Random(story.name)
    out = root / story.name
    (out / "metrics").mkdir(parents=True, exist_ok=True)
    (out / "bundle.yaml").write_text(
        f"id: k8s-{story.name}\ntitle: {story.name}\n"
        f"window:\n  start: '{ts(0)}'\n  end: '{ts(MINUTES)}'\n"
        f"focus_alert: {story.alert_name}\n"
    )
    alert = {
        "labels": {
            "alertname": story.alert_name,
            "service": story.alert_service,
            "severity": "critical",
            "namespace": "shop",
        },
        "annotations": {"summary": f"{story.alert_service} is failing"},
        "startsAt": ts(story.alert_minute),
        "endsAt": ts(MINUTES + 5),
        "updatedAt": ts(MINUTES),
        "fingerprint": f"{sum(map(ord, story.name)) * 7919:016x}",
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "generatorURL": "http://prometheus:9090/graph",
        "receivers": [{"name": "oncall"}],
    }
    (out / "alerts.json").write_text(json.dumps([alert], indent=1))
    for metric in BASE:
        (out / "metrics" / f"{metric}.json").write_text(
            json.dumps(_series(story, metric, rng), separators=(",", ":"))
        )
    (out / "changes.json").write_text(json.dumps(story.changes, indent=1))
    topo = "services:\n" + "".join(
        f"  {s}:\n    depends_on: [{', '.join(d)}]\n" for s, d in TOPOLOGY.items()
    )
    (out / "topology.yaml").write_text(topo)
    if events:
        (out / "events").mkdir(exist_ok=True)
        lines = sorted(story.events, key=lambda e: (e["ts"], e["service"], e["reason"]))
        (out / "events" / "k8s.jsonl").write_text(
            "".join(json.dumps(e, sort_keys=True) + "\n" for e in lines)
        )
    t = story.truth
    truth = f"root_cause:\n  kind: {t['kind']}\n  service: {t['service']}\n"
    if "change_id" in t:
        truth += f"  change_id: '{t['change_id']}'\n"
    (out / "truth.yaml").write_text(truth)
    return out
