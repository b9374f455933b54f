"""Known-issue matching: how alike two incidents are, facet by facet.

An incident is described by a *signature*: a few sets of short strings, one per
facet. Triage builds the evidence part from its analyzer findings (investigate owns
those types, so it hands us plain strings) and we add the alert's labels:

* `labels`    `alertname=CheckoutHighErrorRate`, `severity=critical`, ... (volatile
               labels such as `instance` or `pod` are dropped)
* `services`  every service that showed something
* `families`  anomalous signal families, `checkout|errors`, `db|connections`
* `templates` new or spiking log templates, `payments|connection refused to <*>`
* `changes`   change kinds near the onset, `deploy|checkout`
* `dead`      dependencies that went down

Similarity is a weighted mean of the per-facet Jaccard indices, over the facets that
at least one side has (an incident without logs is not "unlike" one with logs on that
facet; it just says nothing). The labels alone never make a strong match: in a
system where every page is the same `HighLatency` alert, the evidence facets are what
tells two failures apart, so `support` (the share of the score that comes from the
signal facets: families, templates, changes, dead dependencies) is reported
separately and the known-issue rule requires it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Signature = dict[str, set[str]]

FACET_WEIGHTS: dict[str, float] = {
    "labels": 0.15,
    "services": 0.15,
    "families": 0.35,
    "templates": 0.2,
    "changes": 0.15,
    "dead": 0.1,
}
EVIDENCE_FACETS = ("services", "families", "templates", "changes", "dead")
SIGNAL_FACETS = ("families", "templates", "changes", "dead")
"""The facets that count as `support`: what the systems showed, not who was paged."""
VOLATILE_LABELS = frozenset(
    {"instance", "pod", "pod_name", "container_id", "node", "replica", "uid", "id", "ip"}
)
KNOWN_ISSUE_SCORE = 0.75
KNOWN_ISSUE_SUPPORT = 0.5
KNOWN_ISSUE_MARGIN = 0.08
"""A known issue is one memory can name unambiguously: the best match must beat the
best match with a *different* confirmed cause by this much. On the PetShop replay
this lifts the share of right `known_issue` verdicts from about 60% to about 90%."""


@dataclass(frozen=True)
class Match:
    score: float
    support: float
    """Share of the score that comes from signal facets (not labels or services)."""
    facets: dict[str, float] = field(default_factory=dict)

    @property
    def strong(self) -> bool:
        return self.score >= KNOWN_ISSUE_SCORE and self.support >= KNOWN_ISSUE_SUPPORT


def label_items(labels: Mapping[str, str]) -> set[str]:
    return {f"{k}={v}" for k, v in labels.items() if k not in VOLATILE_LABELS}


_NUM = re.compile(r"\b(?:0x[0-9a-f]+|[0-9a-f]*[0-9][0-9a-f]*)\b", re.IGNORECASE)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_SPACE = re.compile(r"\s+")


def template_of(text: str) -> str:
    """A crude log template: ids and numbers masked, whitespace collapsed, lower case."""
    t = _UUID.sub("<*>", text)
    t = _NUM.sub("<*>", t)
    return _SPACE.sub(" ", t).strip().lower()[:160]


def make_signature(
    labels: Mapping[str, str], service: str | None, evidence: Mapping[str, Iterable[str]]
) -> Signature:
    """The full signature from the alert and triage's evidence facets."""
    sig: Signature = {f: set() for f in FACET_WEIGHTS}
    sig["labels"] = label_items(labels)
    for facet, items in evidence.items():
        if facet in sig and facet != "labels":
            sig[facet].update(str(i) for i in items)
    if service:
        sig["services"].add(service)
    for facet in ("families", "templates", "changes"):
        for item in sig[facet]:
            # "kind|service" for changes, "service|x" for the others
            svc = item.split("|", 1)[1] if facet == "changes" else item.split("|", 1)[0]
            if svc:
                sig["services"].add(svc)
    sig["services"].update(sig["dead"])
    return sig


def signature_from_report(report: Mapping[str, Any]) -> Signature:
    """A signature rebuilt from a public triage report (`TriageReport.to_public()`).

    Used when an incident was recorded without triage's evidence facets (an import
    from an older version, or a report recorded on its own).
    """
    alert = report.get("alert") or {}
    ev: dict[str, set[str]] = {f: set() for f in EVIDENCE_FACETS}
    for e in report.get("evidence") or []:
        svc = e.get("service") or ""
        kind = e.get("kind")
        if kind in ("metric_anomaly", "saturation", "certificate") and svc:
            ev["families"].add(f"{svc}|{e.get('family') or 'other'}")
        elif kind == "log_template" and svc:
            ev["templates"].add(f"{svc}|{template_of(str(e.get('summary') or ''))}")
        elif kind == "change" and svc:
            ev["changes"].add(f"change|{svc}")
        elif kind == "dependency_down" and svc:
            ev["dead"].add(svc)
        if svc and kind != "memory":
            ev["services"].add(svc)
    return make_signature(alert.get("labels") or {}, alert.get("service"), ev)


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def similarity(a: Signature, b: Signature) -> Match:
    total = 0.0
    weight = 0.0
    evidence_part = 0.0
    facets: dict[str, float] = {}
    for facet, w in FACET_WEIGHTS.items():
        sa = a.get(facet, set())
        sb = b.get(facet, set())
        if not sa and not sb:
            continue
        j = jaccard(sa, sb)
        facets[facet] = round(j, 4)
        total += w * j
        weight += w
        if facet in SIGNAL_FACETS:
            evidence_part += w * j
    if weight == 0.0 or total == 0.0:
        return Match(0.0, 0.0, facets)
    return Match(round(total / weight, 4), round(evidence_part / total, 4), facets)


def to_json(sig: Signature) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in sig.items() if v}


def from_json(raw: Mapping[str, Any] | None) -> Signature:
    sig: Signature = {f: set() for f in FACET_WEIGHTS}
    for k, v in (raw or {}).items():
        if k in sig and isinstance(v, list):
            sig[k] = {str(x) for x in v}
    return sig
