"""`resource_saturation`: CPU, memory, disk or connection pools running out at the service.

Node-wide signals (node_exporter, a node column) are shared by everything on the node:
a candidate resting only on them is marked `node_only` and weighs less.
"""

from __future__ import annotations

from aisre_cli.investigate.evidence import (
    Candidate,
    _fmt,
    _hm,
    is_bad,
    log_evidence,
    metric_evidence,
)
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import Scene, ServiceView

SATURATION_FAMILIES = ("cpu", "memory", "disk", "connections")


@register("saturation")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    sat = [f for f in view.metrics if f.family in SATURATION_FAMILIES and is_bad(f)]
    sat_logs = [x for x in view.logs if x.family in SATURATION_FAMILIES]
    if not sat and not sat_logs:
        return []
    own = [f for f in sat if f.scope != "node"]
    node_only = 1.0 if sat and not own and not sat_logs else 0.0
    # the service's own signal first; a node-wide one counts at half
    sig = max(
        [f.strength for f in own]
        + [0.5 * f.strength for f in sat if f.scope == "node"]
        + [0.7 * x.strength for x in sat_logs]
    )
    lead = own or sat
    res = (lead[0].family if lead else sat_logs[0].family) or "resource"
    detail = ""
    if lead:
        f = lead[0]
        detail = f" ({f.series.name} {_fmt(f.baseline)} → {_fmt(f.level)} from {_hm(f.onset)})"
    spec = [metric_evidence(f, "saturation") for f in lead[:2]] + [
        log_evidence(x, scene.ctx) for x in sat_logs[:1]
    ]
    return [
        make(
            scene,
            view,
            "resource_saturation",
            res,
            f"{s} is saturating its {res}{detail}, {scene.effect(s, skip=res)}.",
            sig,
            spec,
            {"node_only": node_only},
        )
    ]
