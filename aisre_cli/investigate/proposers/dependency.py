"""`dependency_failure`: the service is down (up == 0, failed probes) and its callers
cannot reach it. Down *because* it crash-loops or its certificate expired: those kinds
are the better explanation, so their signal discounts this one."""

from __future__ import annotations

from aisre_cli.investigate.evidence import (
    Candidate,
    _Ev,
    _hm,
    log_evidence,
    metric_evidence,
    silence_evidence,
)
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.proposers.certificate import cert_signal
from aisre_cli.investigate.proposers.crash_loop import crash_signal
from aisre_cli.investigate.scene import Scene, ServiceView


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
    spec += [log_evidence(x, scene.ctx) for x in d.logs[:2]]
    down = view.features.get("dependency_down", 0.0)
    other = max(crash_signal(view), cert_signal(scene, view))
    return [
        make(
            scene,
            view,
            "dependency_failure",
            s,
            f"{s} is down from {_hm(d.onset)} and {callers} cannot reach it.",
            down * (1.0 - other),
            spec,
        )
    ]
