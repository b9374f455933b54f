"""The facts a verdict offers a runbook's parameters (`from:` in a runbook).

Kept apart from `plan` (which loads the capability registry) so that a triage can say
which parameters its next step still needs without importing the runbook engine.
"""

from __future__ import annotations

from aisre_cli.model import Hypothesis, TriageReport
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS


def facts_from_report(report: TriageReport | None, hyp: Hypothesis | None) -> dict[str, str]:
    """Values the verdict and its alert offer as parameter defaults."""
    if report is None:
        return {}
    a = report.alert
    out: dict[str, str] = {"alertname": a.name}
    service = hyp.service if hyp is not None else a.service
    if service:
        out["service"] = service
        out["deployment"] = a.labels.get("deployment", service)
    if a.service:
        # the alert label that names its service (`service`, `job`, `app`…): a silence
        # must match the alert's own labels, or it silences nothing
        named = sorted(k for k, v in a.labels.items() if v == a.service and k != "alertname")
        pref = [k for k in DEFAULT_SERVICE_LABELS if k in named]
        if pref or named:
            out["service_label"] = (pref or named)[0]
    for key, label in (
        ("namespace", "namespace"),
        ("certificate", "certificate"),
        ("pvc", "persistentvolumeclaim"),
        ("incident_id", "pagerduty_incident"),
    ):
        if a.labels.get(label):
            out[key] = a.labels[label]
    if hyp is not None and hyp.subject and hyp.kind in ("deploy", "config_change"):
        out["change_id"] = hyp.subject
        for ev in report.evidence:
            if ev.kind == "change" and ev.subject == hyp.subject:
                for k in ("version", "previous_version"):
                    v = ev.data.get(k)
                    if isinstance(v, str) and v:
                        out[k] = v
    for k, v in a.labels.items():
        out[f"label:{k}"] = v
    return out
