"""`unknown` at a service: the incident starts here (or this service moved), but no
change, resource or dependency signal says why. Its kind signal is zero; it ranks by
the shared features alone, and says plainly when it is more likely a symptom."""

from __future__ import annotations

from aisre_cli.investigate.analyzers.metric_edges import is_client_side
from aisre_cli.investigate.evidence import Candidate, _hm, is_bad
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import Scene, ServiceView


def waits_on_callees(scene: Scene, view: ServiceView) -> tuple[list[str], float | None]:
    """The services `view`'s service calls, and when its calls to them slowed, where its
    latency rose only on its client side (`pod_client_latency`, Micrometer's
    `http_client_requests_seconds`: the calls it makes took longer, more than the
    requests it serves did) and no peer label or trace said which call (`deeper` stayed
    low): it waits on one of them, or on the way to them. ([], None) otherwise. Scoring
    does not use it (tried, docs/eval.md); the statement does, so an engineer looks
    below the service rather than at it."""
    if view.features["deeper"] >= 0.3 or not scene.has_topo:
        return [], None
    lat = [x for x in view.metrics if x.family == "latency" and is_bad(x)]
    out = [x for x in lat if is_client_side(x.series)]
    own = max((x.strength for x in lat if not is_client_side(x.series)), default=0.0)
    if max((x.strength for x in out), default=0.0) <= own:
        return [], None
    return scene.topo.callees(view.name), min(x.onset for x in out)


@register("fallback")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    f = view.features
    if f["anomaly"] < 0.2 and f["logs"] < 0.3 and f.get("net_edge", 0.0) < 0.15:
        return []
    fam_txt = ", ".join(sorted(view.families - {"other"})) or "its signals"
    when = f" at {_hm(view.first)}" if view.first is not None else ""
    below, slowed = waits_on_callees(scene, view)
    if below and slowed is not None:
        named = ", ".join(below[:4]) + (f" and {len(below) - 4} more" if len(below) > 4 else "")
        stmt = (
            f"the calls {s} makes got slower at {_hm(slowed)} (its client-side latency)"
            f" while what it serves did not slow on its own: it waits on a service it calls"
            f" ({named}), or on the way to them; nothing they export says which."
        )
    elif f["deeper"] >= 0.3:
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
    cand = make(scene, view, "unknown", s, stmt, 0.0, [], fallback=True)
    cand.waits_on = below
    return [cand]
