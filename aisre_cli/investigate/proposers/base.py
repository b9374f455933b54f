"""What every proposer needs to make a candidate from a service view."""

from __future__ import annotations

from aisre_cli.investigate.evidence import Candidate, _Ev, dedupe
from aisre_cli.investigate.scene import Scene, ServiceView
from aisre_cli.model import HypothesisKind

KIND_FEATURES: dict[str, float] = {
    "kind_signal": 0.0,
    "change_proximity": 0.0,
    "change_after_onset": 0.0,
    "change_harm": 0.0,
    "fallback": 0.0,
    "node_only": 0.0,
}
"""Features that belong to one candidate, not to its service (zero unless set)."""
LOAD_EXPLAINED = frozenset({"resource_saturation", "dependency_failure", "network", "crash_loop"})
"""Kinds whose signal an earlier surge at a caller explains away in part."""


def make(
    scene: Scene,
    view: ServiceView,
    kind: HypothesisKind,
    subject: str | None,
    statement: str,
    kind_signal: float,
    specific: list[_Ev],
    extra: dict[str, float] | None = None,
    fallback: bool = False,
    service: str | None = None,
) -> Candidate:
    """A candidate at `view`'s service scored on its features; with `service`, a
    candidate about that service whose evidence is `view`'s (a change that acted
    through its callee is judged by what the callee shows)."""
    who = service or view.name
    feats = dict(view.features)
    feats.update(KIND_FEATURES)
    if kind in LOAD_EXPLAINED:
        # a caller surged first: this service's trouble is (partly) load from above,
        # which the surge at that caller explains better
        kind_signal *= 1.0 - 0.5 * view.features.get("upstream_surge", 0.0)
    feats["kind_signal"] = kind_signal
    feats["fallback"] = 1.0 if fallback else 0.0
    feats["memory_prior"] = scene.fnd.memory.get((who, kind), 0.0)
    if extra:
        feats.update(extra)
    ev = specific + view.shared_evidence
    if view.topo_evidence is not None:
        ev.append(view.topo_evidence)
    return Candidate(who, kind, subject, statement, feats, dedupe(ev))
