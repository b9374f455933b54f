"""`crash_loop`: the service's containers restart (restart counters, OOMKilled /
CrashLoopBackOff reasons, crash lines in its logs)."""

from __future__ import annotations

from aisre_cli.investigate.evidence import Candidate, _hm, log_evidence, metric_evidence
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import Scene, ServiceView


def crash_signal(view: ServiceView) -> float:
    rs = [f for f in view.metrics if f.family == "restarts" and f.direction > 0]
    rs_logs = [x for x in view.logs if x.family == "restarts"]
    return max([f.strength for f in rs] + [0.8 * x.strength for x in rs_logs] + [0.0])


@register("crash_loop")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    rs = [f for f in view.metrics if f.family == "restarts" and f.direction > 0]
    rs_logs = [x for x in view.logs if x.family == "restarts"]
    if not rs and not rs_logs:
        return []
    since = _hm(min([f.onset for f in rs] + [x.first_after for x in rs_logs]))
    return [
        make(
            scene,
            view,
            "crash_loop",
            s,
            f"{s} is crash-looping (restarts{' and crash logs' if rs_logs else ''} from {since}).",
            crash_signal(view),
            [metric_evidence(f) for f in rs[:1]]
            + [log_evidence(x, scene.ctx) for x in rs_logs[:1]],
        )
    ]
