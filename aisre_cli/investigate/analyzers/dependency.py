"""Dead dependencies: `up == 0` / `probe_success == 0`, and callers saying so in logs.

Two independent signals point at a dependency that is down:

* an availability series (`up`, `probe_success`, ...) of that service falls to zero;
* its callers log "connection refused" (or similar) *naming it*: we look for known
  service names inside the error lines of the dependency log family (their template
  and example lines: a template masks the host). The service
  names come from the topology and the metrics, never from the log text itself, so
  a log line cannot invent a new suspect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.metrics import MetricFinding
from aisre_cli.model import LogTable


@dataclass(slots=True)
class DependencyFinding:
    service: str
    strength: float
    onset: float
    metric: MetricFinding | None = None
    logs: list[LogFinding] = field(default_factory=list)
    callers: list[str] = field(default_factory=list)


STEADY = 0.5
"""Anomaly strength (z about 9.5) from which a fall to zero reads as "down" in full."""


def _name_rx(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(name.lower()) + r"(?![\w-])")


def _texts(lf: LogFinding, logs: LogTable | None) -> str:
    """The template and its example lines: a template masks the host a line names
    (`host=<*>`), the lines still say it."""
    parts = [lf.template]
    if logs is not None:
        parts += [logs.msg[i] for i in lf.examples if 0 <= i < len(logs.msg)]
    return "\n".join(parts).lower()


def find_dead(
    metric_findings: list[MetricFinding],
    log_findings: list[LogFinding],
    known_services: set[str],
    logs: LogTable | None = None,
) -> dict[str, DependencyFinding]:
    out: dict[str, DependencyFinding] = {}
    for f in metric_findings:
        if f.family != "availability" or f.direction > 0 or not f.series.service:
            continue
        base = abs(f.baseline) or 1.0
        # "dead": the level fell to (almost) nothing compared to its baseline
        if f.level <= 0.1 * base:
            svc = f.series.labels.get("target_service") or f.series.service
            cur = out.get(svc)
            # falling to nothing is telling only as far as the series is steady: a
            # noisy ratio over a handful of requests swings to zero by chance
            strength = min(1.0, 0.6 + 0.4 * f.strength) * min(1.0, f.strength / STEADY)
            if cur is None or strength > cur.strength:
                out[svc] = DependencyFinding(svc, strength, f.onset, metric=f)
    if known_services:
        rxs = {s: _name_rx(s) for s in known_services if len(s) >= 3}
        for lf in log_findings:
            if lf.family not in ("dependency", "network"):
                continue
            text = _texts(lf, logs)
            for svc, rx in rxs.items():
                if svc == lf.service or not rx.search(text):
                    continue
                d = out.get(svc)
                if d is None:
                    d = DependencyFinding(svc, 0.0, lf.first_after)
                    out[svc] = d
                d.logs.append(lf)
                if lf.service not in d.callers:
                    d.callers.append(lf.service)
                d.onset = min(d.onset, lf.first_after)
                bonus = 0.35 if lf.family == "dependency" else 0.2
                d.strength = min(1.0, max(d.strength, 0.3) + bonus * lf.strength)
    return out
