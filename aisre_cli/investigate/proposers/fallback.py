"""`unknown` at a service: the incident starts here (or this service moved), but no
change, resource or dependency signal says why. Its kind signal is zero; it ranks by
the shared features alone, and says plainly when it is more likely a symptom."""

from __future__ import annotations

from aisre_cli.investigate.evidence import Candidate, _hm
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import Scene, ServiceView


@register("fallback")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    f = view.features
    if f["anomaly"] < 0.2 and f["logs"] < 0.3 and f.get("net_edge", 0.0) < 0.15:
        return []
    fam_txt = ", ".join(sorted(view.families - {"other"})) or "its signals"
    when = f" at {_hm(view.first)}" if view.first is not None else ""
    if f["deeper"] >= 0.3:
        stmt = (
            f"{fam_txt} moved at {s}{when}, but services it depends on degraded as early: "
            "more likely a symptom than the cause."
        )
    else:
        stmt = (
            f"{s} is where the incident starts: {fam_txt} moved there{when}"
            f"{' before its callers' if f['explains'] > 0 else ''}; no change, resource or "
            "dependency signal explains why."
        )
    return [make(scene, view, "unknown", s, stmt, 0.0, [], fallback=True)]
