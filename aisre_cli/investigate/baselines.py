"""Naive baselines that a ranked diagnosis has to beat (used by `aisre eval`).

A root-cause engine is only worth its rules if it does better than what an engineer
gets for free from the same data. Each baseline below orders the services of one
bundle, best suspect first, from the signals the engine itself gathered; none of them
is fitted, so their numbers are the same in-sample and on an unseen dataset:

- **z-score**: every service by its single most anomalous series, in robust standard
  deviations from its own baseline (`analyzers.metrics`). What a dashboard sorted by
  "biggest deviation" shows; RCAEval's NSigma is this idea.
- **topology walk**: start at the paging service and follow the most anomalous
  anomalous dependency until none is left; the service where the walk stops first,
  then the ones it passed on the way back up, then the other anomalous services by
  z-score. What an engineer does by hand with a service map. Without a topology (or
  with the paging service outside it) it is the z-score order.
- **latest change**: the services of the changes made at or before the page, latest
  first ("blame the latest deploy"). No change in the window: no answer.
- **alert service**: the paging service alone.

Baselines answer with services only, so they are compared with the truth's service
(AC@k over bundles whose cause is known, whatever the truth's `kind` says); the
engine's service-level rank is reported beside them (`service_rank`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aisre_cli.investigate.alert_service import squash

if TYPE_CHECKING:
    from aisre_cli.investigate.triage import Analysis

TOP_K = 3
"""How many services each baseline names (enough for AC@1 and AC@3)."""

NAMES: tuple[str, ...] = ("z-score", "topology walk", "latest change", "alert service")


def _zscores(analysis: Analysis) -> dict[str, float]:
    """service → its largest bad-direction z (findings are already beyond 4 sigma)."""
    out: dict[str, float] = {}
    for f in analysis.findings.metrics:
        s = f.series.service
        if not s or not f.bad:
            continue
        out[s] = max(out.get(s, 0.0), f.z)
    return out


def _by_z(z: dict[str, float]) -> list[str]:
    return sorted(z, key=lambda s: (-z[s], s))


def _walk(analysis: Analysis, z: dict[str, float]) -> list[str]:
    topo = analysis.topology
    start = analysis.ctx.alert.service
    if not start or start not in topo.services():
        return _by_z(z)
    path = [start]
    while True:
        nxt = [c for c in topo.callees(path[-1]) if c in z and c not in path]
        if not nxt:
            break
        path.append(max(nxt, key=lambda c: (z[c], c)))
    order = list(reversed(path))
    return order + [s for s in _by_z(z) if s not in order]


def _latest_change(analysis: Analysis) -> list[str]:
    page = analysis.ctx.alert.starts_at
    before = sorted(
        (c for c in analysis.ctx.changes if c.ts <= page and c.service),
        key=lambda c: (c.ts, c.id),
        reverse=True,
    )
    out: list[str] = []
    for c in before:
        if c.service not in out:
            out.append(c.service)
    return out


def rankings(analysis: Analysis) -> dict[str, list[str]]:
    """Each baseline's top `TOP_K` services for one analysed bundle."""
    z = _zscores(analysis)
    alert = analysis.ctx.alert.service
    full = {
        "z-score": _by_z(z),
        "topology walk": _walk(analysis, z),
        "latest change": _latest_change(analysis),
        "alert service": [alert] if alert else [],
    }
    return {name: full[name][:TOP_K] for name in NAMES}


def same_service(a: str | None, b: str | None) -> bool:
    """One service in two spellings: the triage reads a topology in its series' spelling
    (`ibmmq` for the topology's `ibm-mq`, `alert_service.squash`), and a truth names it
    as the topology did."""
    return a == b or (bool(a) and bool(b) and squash(a or "") == squash(b or ""))


def rank_of(service: str, ordered: list[str]) -> int | None:
    """1-based rank of `service` in a ranked answer (None: not named), in whichever
    spelling (`same_service`)."""
    return next((i for i, x in enumerate(ordered, 1) if same_service(x, service)), None)
