"""`deploy` and `config_change`: a change on this service before the onset that hurt it.

The signal is the change's *harm* (its service's bad-direction signals before vs
after it, or its new version's series vs the old version's; see
`analyzers.changes.attribute`) together with how close it came before the onset.
A change after the onset (a hot-fix) is kept as context but cannot explain it, and
a change whose service did not get worse stays innocent even if it is the latest.

The cluster's events are harm too: containers crashing, pods that cannot start
(image pull or missing ConfigMap/Secret) or failing their probes on the changed service,
*first seen after the change*, speak against it. A crash loop that was already going
before the change does not.
"""

from __future__ import annotations

from aisre_cli.investigate.analyzers.events import after
from aisre_cli.investigate.evidence import (
    Candidate,
    _Ev,
    _gap,
    _hm,
    change_evidence,
    event_evidence,
    harm_evidence,
)
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import VERSION_WORSE, Scene, ServiceView
from aisre_cli.model import HypothesisKind

HARM_EVENTS = ("config", "crash", "probe")
"""Event classes a bad change causes on its own service (capacity is the cluster's)."""


def event_harm(view: ServiceView, t: float, onset: float) -> tuple[float, list[_Ev]]:
    """How strongly the service's cluster events that began after time `t` (a change)
    say the change broke it, and the rows to cite."""
    best = 0.0
    cite: list[_Ev] = []
    for cls in HARM_EVENTS:
        f = view.event(cls)
        part = after(f, t) if f is not None else None
        if f is None or part is None:
            continue
        best = max(best, part.strength)
        cite.append(event_evidence(f, onset))
    return best, cite


@register("changes")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    out: list[Candidate] = []
    s = view.name
    for cf in scene.fnd.changes:
        c = cf.change
        if c.service != s:
            continue
        kind: HypothesisKind = "deploy" if c.kind == "deploy" else "config_change"
        what = f"deploy {c.version}" if c.kind == "deploy" and c.version else f"{c.kind} change"
        h = scene.fnd.harm.get(c.id)
        harm = max(h.harm, h.version_harm) if h is not None else 0.0
        # New pods no worse than the old ones over the same minutes clear the change:
        # whatever its service suffers (before vs after it, its anomalies), the old
        # version suffers alike. This comparison is the sharper one, since both sides
        # share the traffic and the dependencies of those minutes.
        cleared = h is not None and h.version_compared and h.version_harm < VERSION_WORSE
        if cleared and h is not None:
            harm = h.version_harm
        ev_harm, ev_rows = event_harm(view, c.ts.timestamp(), scene.onset)
        harm = max(harm, ev_harm)
        if cf.before_onset:
            stmt = (
                f"The {what} of {s} at {_hm(c.ts.timestamp())}, {_gap(cf.gap_s)} before "
                f"the onset, {scene.effect(s)}."
            )
            if h is not None and h.version_harm >= VERSION_WORSE and h.version_detail:
                stmt = (
                    stmt[:-1] + f"; its new version is worse than the others ({h.version_detail})."
                )
            elif cleared and h is not None:
                stmt = stmt[:-1] + (
                    f"; but its new version does no worse than the old ({h.version_detail}), "
                    "so the change did not cause it."
                )
        else:
            stmt = (
                f"The {what} of {s} came {_gap(cf.gap_s)} after the onset, so it cannot "
                "have started it."
            )
        specific = [change_evidence(cf, scene.onset)]
        hev = harm_evidence(h) if h is not None and not cleared else None
        if hev is not None:
            specific.append(hev)
        if cf.before_onset:
            specific += ev_rows
        signal = harm if cleared else max(view.features["anomaly"], view.features["logs"], harm)
        out.append(
            make(
                scene,
                view,
                kind,
                c.id,
                stmt,
                # a change just before the onset is half a reading on its own, unless its
                # new pods were seen to do no worse than its old ones
                cf.proximity * ((0.0 if cleared else 0.5) + 0.5 * signal),
                specific,
                {
                    "change_proximity": cf.proximity,
                    "change_after_onset": 0.0 if cf.before_onset else 1.0,
                    "change_harm": harm if cf.before_onset else 0.0,
                },
            )
        )
    return out
