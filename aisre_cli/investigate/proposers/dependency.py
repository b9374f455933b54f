"""`dependency_failure`: the service is down (up == 0, failed probes) and its callers
cannot reach it, or its callers' calls to it time out and are retried, or (for a
service with no series of its own, a third-party API) its callers' client metrics
count its failed answers. Down *because*
it crash-loops or its certificate expired: those kinds are the better explanation, so
their signal discounts this one. So does a resource it ran out of before it went down
(a disk filling up, memory or connections running out: `exhausted`): a full disk stops
a database, and the disk is the story."""

from __future__ import annotations

from aisre_cli.investigate.analyzers.dependency import OWN_LEAD_S, DependencyFinding
from aisre_cli.investigate.evidence import (
    Candidate,
    _Ev,
    _hm,
    is_bad,
    log_evidence,
    metric_evidence,
    silence_evidence,
)
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.proposers.certificate import cert_signal
from aisre_cli.investigate.proposers.crash_loop import crash_signal
from aisre_cli.investigate.proposers.saturation import LOG_SHARE
from aisre_cli.investigate.scene import NODE_WEIGHT, TOL_S, Scene, ServiceView, told_by

EXHAUSTIBLE = ("disk", "memory", "connections")
"""Resources whose running out stops a service (a full disk, an OOM kill, no free
connection slots), unlike CPU, which slows it."""


def exhausted(view: ServiceView, down_at: float) -> float:
    """0-1: how strongly the service ran out of an exhaustible resource: a reading of
    it going bad from before it went down (a node-wide one at `NODE_WEIGHT`), or its
    own log saying so by then (`no space left on device` as it fails is why it fails)."""
    return max(
        [
            f.strength * (NODE_WEIGHT if f.scope == "node" else 1.0)
            for f in view.metrics
            if f.family in EXHAUSTIBLE and is_bad(f) and f.onset < down_at - TOL_S
        ]
        + [
            LOG_SHARE * x.strength
            for x in view.logs
            if x.family in EXHAUSTIBLE and x.first_after <= down_at + TOL_S
        ],
        default=0.0,
    )


ON_THE_WAY = 0.5
"""The share of a dependency failure read as the network's where only its callers'
client metrics count failed calls to it while its own server-side series go on without
errors (`served_fine`): the calls failed between them, or before its server counted
them (a full accept queue); the data cannot tell the two apart, so both stand."""


def served_fine(scene: Scene, view: ServiceView, d: DependencyFinding) -> bool:
    """Only callers' client metrics say calls to the service fail (no availability
    reading, silence or log line), and the service measures the requests it serves
    itself with no error reading of its own since shortly before they did."""
    if not d.client or d.logs or d.metric is not None or d.silence is not None:
        return False
    if "traffic" not in scene.fnd.observed.get(view.name, set()):
        return False
    return not any(
        f.family == "errors" and is_bad(f) and f.onset >= d.onset - OWN_LEAD_S for f in view.metrics
    )


REPOINT_EXPLAINS = 0.8
"""How much of a dependency failure a change that moved where its one failing caller
calls it explains (`scene.repointed`)."""


@register("dependency")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    d = scene.fnd.dead.get(s)
    if d is None:
        return []
    callers = ", ".join(d.callers[:3]) or "its callers"
    spec: list[_Ev] = []
    if d.metric:
        spec.append(metric_evidence(d.metric, "dependency_down"))
    quiet = silence_evidence(d)
    if quiet is not None:
        spec.append(quiet)
    spec += [metric_evidence(f, "dependency_down") for f in d.client[:1]]
    spec += [log_evidence(x, scene.ctx) for x in d.logs[:2]]
    down = view.features.get("dependency_down", 0.0)
    other = max(crash_signal(view), cert_signal(scene, view), exhausted(view, d.onset))
    way = ON_THE_WAY if served_fine(scene, view, d) else 0.0
    # its one caller's change moved where it calls it just before: the address is wrong
    moved = s in scene.repointed.values()
    if moved:
        other = max(other, REPOINT_EXPLAINS)
    out: list[Candidate] = []
    if way:
        out.append(
            make(
                scene,
                view,
                "network",
                s,
                f"{callers}'s calls to {s} fail from {_hm(d.onset)} (their client metrics"
                f" count the failures) while {s} goes on serving without errors of its own:"
                " the calls fail on the way to it.",
                down * (1.0 - other) * way,
                list(spec),
            )
        )
    return [
        *out,
        make(
            scene,
            view,
            "dependency_failure",
            s,
            (
                f"{s} answers slowly from {_hm(d.onset)} (the probes of it take longer):"
                f" {s} is degraded, and whatever calls it waits on it."
                if d.slow and not d.logs and not d.client
                else f"{s} is down from {_hm(d.onset)} and {callers} cannot reach it."
                if d.unreachable
                else f"{callers}'s new errors from {_hm(d.onset)} name {s}, which they call:"
                f" what {s} answers breaks them."
                if d.answered
                else f"{callers}'s calls to {s} fail from {_hm(d.onset)} (their client metrics"
                f" count its errors): {s} is failing."
                if d.client and not d.logs
                else f"{callers}'s calls to {s} fail from {_hm(d.onset)} (timeouts, retries):"
                f" {s} is failing or slow."
            )
            + (
                f" But {callers}'s change had just moved where it calls {s}: the address it"
                " set is more likely wrong than it down."
                if moved
                else ""
            ),
            down * (1.0 - other) * (1.0 - way),
            spec,
            told_by(scene, view),
        ),
    ]
