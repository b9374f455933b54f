"""Which runbooks fit a hypothesis (and its alert), best first.

Triage calls `match_runbooks()` to fill `Hypothesis.runbooks`; governance uses
`specificity()` as one part of the *trust* signal: a runbook written for exactly this
kind of failure, this alert and this service is a stronger signal than a generic one.

Scoring (0..1):
* the hypothesis kind is one the runbook lists: +0.5 (a runbook that lists kinds and
  not this one never matches); a runbook that lists no kinds is generic: +0.1;
* every label matcher matches the alert: +0.3 (any mismatch, or matchers with no
  alert, means no match);
* a service pattern matches the hypothesis' service: +0.2 (a pattern that does not
  match means no match).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aisre_cli.model import Alert, Hypothesis
from aisre_cli.remediate.runbook import Runbook
from aisre_cli.remediate.runbook import load_runbooks as _load
from aisre_cli.settings.config import Profile


def specificity(rb: Runbook, hypothesis: Hypothesis | None, alert: Alert | None) -> float | None:
    """How specifically `rb` fits; None when it does not apply at all."""
    a = rb.applies_to
    score = 0.0
    if a.kinds:
        if hypothesis is None or hypothesis.kind not in a.kinds:
            return None
        score += 0.5
    else:
        score += 0.1
    if a.labels:
        if alert is None:
            return None
        for label, rx in a.labels.items():
            value = alert.labels.get(label)
            if label == "alertname" and value is None:
                value = alert.name
            if value is None or not re.fullmatch(rx, value):
                return None
        score += 0.3
    if a.services:
        service = (
            hypothesis.service if hypothesis is not None else (alert.service if alert else None)
        )
        if service is None or not any(re.fullmatch(rx, service) for rx in a.services):
            return None
        score += 0.2
    return round(score, 4)


def match_runbooks(
    hypothesis: Hypothesis, alert: Alert | None, runbooks: Sequence[Runbook]
) -> list[str]:
    """Ids of the runbooks that apply to `hypothesis`, most specific first."""
    scored: list[tuple[float, str]] = []
    for rb in runbooks:
        s = specificity(rb, hypothesis, alert)
        if s is not None:
            scored.append((s, rb.id))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [rid for _, rid in scored]


def load_runbooks(profile: Profile | None = None) -> list[Runbook]:
    """The profile's runbooks (shipped + `runbook_dirs`), skipping invalid files."""
    return _load(profile, strict=False)
