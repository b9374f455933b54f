"""`crash_loop`: the service's containers restart (restart counters, OOMKilled /
CrashLoopBackOff reasons, crash lines in its logs, and the cluster's own crash events:
OOMKilled, BackOff restarting a failed container, exits with 137/143/1)."""

from __future__ import annotations

from aisre_cli.investigate.analyzers.metrics import MetricFinding
from aisre_cli.investigate.evidence import (
    Candidate,
    _fmt,
    _hm,
    event_evidence,
    level_said,
    log_evidence,
    metric_evidence,
)
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.proposers.saturation import CUT_EXPLAINS, cut_by, ran_out
from aisre_cli.investigate.scene import Scene, ServiceView

LOOP_RESTARTS = 3.0
"""Restarts of the service's containers, within the counter's 10-minute window
(`metrics.as_increase`), that make a loop: one restart is a container that died once (a
node drained, a liveness probe that fired once), not a crash loop; it counts a third."""


def _restarts(f: MetricFinding) -> float | None:
    """How many restarts a restart finding counts: a restart counter's increase, or the
    rise of a restart count read as it is (Datadog's `kubernetes.containers.restarts`
    is a count, not a counter by name: 0 → 1 is one restart). None for a signal that
    says "loop" outright (a CrashLoopBackOff reason)."""
    if f.series.query.startswith("increase("):
        return max(f.peak, 0.0)
    if "restart" in f.series.name.lower():
        return max(f.peak - f.baseline, 0.0)
    return None


DISK_EXPLAINS = 0.6
"""How much of a crash loop a disk of its own that ran out as it began explains: a broker
or a database that cannot write stops, and restarts into the same full disk. The fix is
the space, not the process (`resource_saturation` tells it)."""


def disk_first(view: ServiceView, since: float) -> MetricFinding | None:
    """The service's own disk reading that ran out (`saturation.ran_out`) and began by
    `since` (when the restarts did, give or take the scrape that saw it)."""
    full = [f for f in view.metrics if f.scope != "node" and ran_out(f) and f.onset <= since]
    return max(full, key=lambda f: f.strength, default=None)


def crash_signal(view: ServiceView) -> float:
    """The restarts of the service's containers, counted over all its pods: four pods
    that each died once are the service crashing; one pod of three restarting once is
    a container that died once. Crash lines in its logs and the cluster's crash events
    count as they are, and a process manager's lines saying it restarted the service
    (systemd's restart counter) as so many restarts."""
    rs = [f for f in view.metrics if f.family == "restarts" and f.direction > 0]
    rs_logs = [x for x in view.logs if x.family == "restarts"]
    crash = view.event("crash")
    counted = [(f, _restarts(f)) for f in rs]
    loop = min(1.0, sum(n for _, n in counted if n is not None) / LOOP_RESTARTS)
    # a process manager's own word that it restarted the service counts its restarts
    # as a restart counter does
    stated = sum(x.after for x in rs_logs if x.restarted)
    return max(
        [f.strength * (loop if n is not None else 1.0) for f, n in counted]
        + [0.8 * x.strength for x in rs_logs]
        + [min(1.0, stated / LOOP_RESTARTS)]
        + [crash.strength if crash is not None else 0.0]
    )


@register("crash_loop")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    rs = [f for f in view.metrics if f.family == "restarts" and f.direction > 0]
    rs_logs = [x for x in view.logs if x.family == "restarts"]
    crash = view.event("crash")
    if not rs and not rs_logs and crash is None:
        return []
    began = min(
        [f.onset for f in rs]
        + [x.first_after for x in rs_logs]
        + ([crash.first] if crash is not None else [])
    )
    since = _hm(began)
    # a start banner, many times over: the process starting again and again
    started = sum(x.after for x in rs_logs if x.start)
    stated = sum(x.after for x in rs_logs if x.restarted)
    # how many its counters counted, over all its pods (none where a reading says "loop"
    # outright: a CrashLoopBackOff reason)
    counted = round(sum(k for f in rs if (k := _restarts(f)) is not None))
    what = " and ".join(
        w
        for w in (
            (f"{counted} restarts" if counted > 1 else "restarts") if rs else "",
            "crash logs" if any(not x.start and not x.restarted for x in rs_logs) else "",
            f"{started} starts in its logs" if started else "",
            f"{stated} restarts by its process manager" if stated else "",
        )
        if w
    )
    if crash is not None:
        top = sorted(crash.reasons.items(), key=lambda kv: -kv[1])[:2]
        said = " and ".join(f"{r} x{n}" if n > 1 else r for r, n in top)
        what = f"{said}, with {what}" if rs or rs_logs else said
    sig = crash_signal(view)
    if crash is not None and crash.oom:
        # killed for memory after a config change cut its memory: the cut's doing
        sig *= 1.0 - CUT_EXPLAINS * cut_by(scene, s, "memory")
    full = disk_first(view, began + scene.step)
    but = ""
    if full is not None:
        sig *= 1.0 - DISK_EXPLAINS
        n = full.series.name
        but = (
            f"; but its disk ran out as they began ({n} {_fmt(full.baseline, n)} →"
            f" {_fmt(level_said(full)[0], n)} from {_hm(full.onset)}): it restarts into"
            " the same full disk"
        )
    return [
        make(
            scene,
            view,
            "crash_loop",
            s,
            (
                f"{s}'s pods are being killed and replaced with no rollout ({what} from"
                f" {since}): drained, deleted or preempted."
                if crash is not None and crash.details == {"killed"} and not rs and not rs_logs
                else f"{s} is crash-looping ({what} from {since}){but}."
            ),
            sig,
            ([event_evidence(crash, scene.onset)] if crash is not None else [])
            + [metric_evidence(f) for f in rs[:1]]
            + [log_evidence(x, scene.ctx) for x in rs_logs[:1]],
        )
    ]
