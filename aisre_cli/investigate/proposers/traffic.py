"""`traffic_surge`: requests at the service rose sharply, then it or the services it
calls degraded, and no caller surged first (load flows downstream: a surge that came
from a caller is that caller's)."""

from __future__ import annotations

import math

from aisre_cli.investigate.evidence import (
    Candidate,
    _fmt,
    _hm,
    is_bad,
    level_said,
    metric_evidence,
)
from aisre_cli.investigate.families import STATUS_LABELS
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import (
    TOL_S,
    Scene,
    ServiceView,
    callees_starved,
    demand_rose,
    surge_size,
)

INTERNAL_DISCOUNT = 0.7
"""How much a surge loses when its callers' own request rates were seen flat."""


RETRY_LEAD_S = 300.0
"""A dependency whose trouble began at least a scrape step and at most this long before
a surge broke first: the extra requests are its callers retrying. Trouble older than
this is the dependency's own, not how the incident began."""

CALLER_SURGE_SHARE = 0.5
"""A caller's surge carries a callee's only if it is at least this share of it: +5% at
the one caller does not bring 2.4x at the callee."""


def internal_load(scene: Scene, s: str, size: float = 1.0) -> float:
    """Outside demand enters a system at its entry points and flows down the call
    graph. A surge at a service whose callers we can see (they have request-rate
    series) and which did not surge themselves came from inside: a caller calls it
    more (a new code path, retries), so "a surge of demand" is the wrong story.
    0: an entry point, or callers we cannot see; `INTERNAL_DISCOUNT`: callers seen flat,
    or surging by less than `CALLER_SURGE_SHARE` of this one's `size`."""
    if not scene.has_topo:
        return 0.0
    callers = scene.topo.callers(s)
    seen = [x for x in callers if "traffic" in scene.fnd.observed.get(x, set())]
    if not seen:
        seen = _seen_above(scene, s)
        callers = seen
    if not seen or any(
        x in scene.surge_at and scene.surge_at[x][0] >= CALLER_SURGE_SHARE * size for x in callers
    ):
        return 0.0
    return INTERNAL_DISCOUNT


def _seen_above(scene: Scene, s: str) -> list[str]:
    """The nearest services above `s` whose request rates are seen, on every way up to
    it through callers that have none (C++ services behind a proxy that measures the
    requests: the proxy is where outside demand is seen). Empty where a way up ends at
    a caller unseen with no callers of its own: demand may enter there, unmeasured."""
    found: list[str] = []
    seen: set[str] = {s}
    stack = list(scene.topo.callers(s))
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        if "traffic" in scene.fnd.observed.get(x, set()):
            found.append(x)
            continue
        up = scene.topo.callers(x)
        if not up:
            return []
        stack.extend(up)
    return sorted(found)


RELAY_S = 300.0
"""How far apart a proxy's surge and its backend's may begin and be one surge passed on."""


def _rise(scene: Scene, s: str) -> float:
    """How much `s`'s demand rose, relative: the largest of its readings of all its
    requests (no status label: 401s alone rising ninefold are not its demand rising
    ninefold), else of any that say it rose."""
    view = scene.views.get(s)
    if view is None:
        return 0.0
    ups = [f for f in view.metrics if demand_rose(f, view.metrics, scene.versions)]
    whole = [f for f in ups if not any(f.series.labels.get(k) for k in STATUS_LABELS)]
    return max((f.rel for f in whole or ups), default=0.0)


@register("traffic")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    # a node's bytes on the wire are everyone's on that node: not this service's load
    surge = [
        f
        for f in view.metrics
        if demand_rose(f, view.metrics, scene.versions) and f.scope != "node"
    ]
    if not surge:
        return []
    # the reading that says "surge" most: the service's whole demand (`demand_totals`)
    # rather than the one status code whose series grew by what was still served
    f0 = max(surge, key=lambda f: f.strength * surge_size(f))
    # when it began: when its wave was first seen (`scene.waves`: the 4.7x that reached a
    # callee crossed before the gateway's own 1.6x did)
    began = min(f0.onset, scene.wave_at.get(s, f0.onset))
    health = [
        f for f in view.metrics if f.family != "traffic" and is_bad(f) and f.onset >= began - TOL_S
    ]
    down = [
        scene.anom[d]
        for d in scene.downstream(s)
        if d in scene.anom and scene.first.get(d, -math.inf) >= began - TOL_S
    ]
    follow = max([f.strength for f in health] + down + [0.0])
    if follow <= 0:
        return []
    relays_to = {x for x in scene.relays if s in scene.topo.callees(x)}  # right in front
    mine = _rise(scene, s)
    # a proxy in front that surged passed on what reached this service: only what it
    # kept (turned away, rate-limited) says the surge was the proxy's
    upstream_surge = max(
        [
            scene.surge_at[x][0]
            * (1.0 - min(1.0, mine / max(_rise(scene, x), 1e-9)) if x in relays_to else 1.0)
            for x in scene.upstream(s)
            if x in scene.surge_at and scene.surge_at[x][1] <= f0.onset + TOL_S
        ]
        + [0.0]
    )
    if s in scene.relays:
        # a proxy passes demand on: a surge it shows that a backend behind it shows as
        # well, from about then, landed on that backend (the hotlinked images, not the
        # load balancer in front of them), as far as as much of it reached the backend
        # (a proxy that rate-limits a bot flood keeps the part it turned away)
        upstream_surge = max(
            [
                scene.surge_at[d][0] * min(1.0, _rise(scene, d) / max(mine, 1e-9))
                for d in scene.topo.callees(s)
                if d in scene.surge_at and abs(scene.surge_at[d][1] - f0.onset) <= RELAY_S
            ]
            + [upstream_surge]
        )
    inside = internal_load(scene, s, f0.strength * surge_size(f0))
    starved = callees_starved(
        scene.fnd.metrics, scene.topo if scene.has_topo else None, s, f0.onset
    )
    lvl, _ = level_said(f0)  # a burst that is over: the level it held, not a median after
    growth = (
        f"{lvl / f0.baseline:.1f}x"
        if f0.baseline > 0
        else f"from {_fmt(f0.baseline)} to {_fmt(lvl)}"
    )
    degraded = sorted({f.family or "other" for f in health})
    effect = f"{', '.join(degraded)} degraded" if degraded else "its dependencies degraded"
    size = surge_size(f0)
    # ... but not of a dependency already failing before the surge: load that rose
    # after its callee broke is retries, and the callee's trouble came first
    before = any(
        began - RETRY_LEAD_S <= scene.first[d] < began - scene.step
        for d in scene.downstream(s)
        if d in scene.first
    )
    # (as far as it is load: not what failed on the way to its callees, `starved`)
    load = f0.strength * size * (1.0 - starved)
    deeper = view.features["deeper"] * (1.0 if before else 1.0 - load)
    an = view.features["anomaly"]
    # the services it calls degrading as early is the surge's effect, not a deeper
    # cause, as far as it is a surge: +50% explains a crash below by half
    own = {"deeper": deeper, "root_local": an * view.features["sync"] * (1.0 - deeper)}
    if scene.has_topo and not scene.topo.callers(s) and not before:
        # at an entry point (nothing calls it: outside demand enters there), the
        # services below it whose demand rose in its wave carry its load: their trouble
        # is what the surge explains, as a callee's failure explains its callers'.
        # (Not below a caller whose demand we cannot see: the wave may begin above.)
        others = [x for x in scene.anomalous if x != s and (not scene.cone or x in scene.cone)]
        carried = [x for x in others if scene.wave_at.get(x) == began and x in scene.downstream(s)]
        if carried:
            own["explains"] = max(view.features["explains"], len(carried) / len(others))
    if relays_to:
        # a proxy in front that surged with it passed this surge on: it is load from
        # above only as far as the proxy kept it, or a caller's change takes more here
        # (it does explain a saturation here, whose feature stays the scene's)
        claimed = max((c.strength for c in scene.claims.values() if c.callee == s), default=0.0)
        own["upstream_surge"] = min(view.features["upstream_surge"], max(upstream_surge, claimed))
    return [
        make(
            scene,
            view,
            "traffic_surge",
            s,
            f"Request rate at {s} rose {growth} from {_hm(f0.onset)}, then {effect}.",
            f0.strength * size * follow * (1.0 - upstream_surge) * (1.0 - inside) * (1.0 - starved),
            [metric_evidence(f0)] + [metric_evidence(f) for f in health[:1]],
            own,
        )
    ]
