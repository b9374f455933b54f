"""Replay: does memory help when a failure class recurs?

Bundles are triaged in order, each twice: once without memory ("before") and once
with the memory built so far ("after"). After each one, the incident is recorded and
resolved with the bundle's `truth.yaml`, as the on-call engineer would confirm the
cause. A case is *recurring* when an earlier bundle of the sequence had the same
failure class (truth kind and service). The report compares top-1 and MRR before and
after, overall and on the recurring cases, and counts how many recurring cases
cited memory evidence.

Triage itself is injected (`TriageFn`): memory sits below investigate and must not
import it; the UI composes the two.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisre_cli.errors import AisreError, UsageError
from aisre_cli.memory.store import Advisor, MemoryStore, MemoryStoreError
from aisre_cli.model import HYPOTHESIS_KINDS, TriageReport
from aisre_cli.sources.bundle import BundleSource

TriageFn = Callable[[Path, Advisor | None], TriageReport]


@dataclass(frozen=True)
class Truth:
    kind: str
    service: str
    change_id: str | None = None
    service_only: bool = False

    @property
    def failure_class(self) -> str:
        return self.service if self.service_only else f"{self.kind}|{self.service}"

    @property
    def cause_kind(self) -> str:
        """The kind to confirm in the memory: the truth's, or `unknown` for a
        `match: service` label that is no hypothesis kind (nezha-ob's `code_defect`):
        such a truth says only which service it was, as `unknown` does."""
        return self.kind if self.kind in HYPOTHESIS_KINDS else "unknown"


def read_truth(path: Path) -> Truth | None:
    t = BundleSource(path).truth()
    if t is None:
        return None
    rc = t.root_cause
    return Truth(rc.kind, rc.service, rc.change_id, (t.match or "").lower() == "service")


def truth_rank(truth: Truth, report: TriageReport) -> int | None:
    """1-based rank of the truth among the report's hypotheses (services for
    `match: service`), as `aisre eval` counts it."""
    hyps = report.verdict.hypotheses
    if truth.service_only:
        services: list[str] = []
        for h in hyps:
            if h.service not in services:
                services.append(h.service)
        return services.index(truth.service) + 1 if truth.service in services else None
    for i, h in enumerate(hyps, 1):
        if h.kind == truth.kind and h.service == truth.service:
            if truth.change_id is None or h.subject == truth.change_id:
                return i
    return None


def discover(paths: Sequence[Path]) -> list[Path]:
    """Bundles in the given order; a folder of bundles is expanded in time order."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.is_dir():
            raise UsageError(f"{p}: not a bundle directory or a folder of bundles")
        if (p / "bundle.yaml").exists():
            out.append(p)
            continue
        found: list[tuple[str, str, Path]] = []
        broken: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(p, followlinks=True):
            if "bundle.yaml" in filenames:
                d = Path(dirpath)
                try:
                    found.append((BundleSource(d).window.start.isoformat(), str(d), d))
                except AisreError:
                    # no time to order it by (a malformed bundle.yaml): replayed last,
                    # where reading it again makes it an error case, not the end of the run
                    broken.append(d)
                dirnames[:] = []
                continue
            dirnames[:] = sorted(x for x in dirnames if not x.startswith("."))
        out.extend(d for _, _, d in sorted(found))
        out.extend(sorted(broken))
    if not out:
        raise UsageError("no bundle to replay", hint="pass bundle directories or folders of them")
    return out


@dataclass
class ReplayCase:
    bundle: str
    failure_class: str
    recurring: bool
    rank_before: int | None
    rank_after: int | None
    memory_evidence: int
    classification: str
    incident: str
    memory_cause: str | None = None
    """The failure class the first memory evidence names (None without a match)."""
    error: str | None = None

    @property
    def memory_right(self) -> bool:
        return self.memory_cause == self.failure_class

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "memory_right": self.memory_right}


def _rate(xs: list[ReplayCase], after: bool) -> dict[str, float | int]:
    if not xs:
        return {"n": 0, "top1": 0.0, "mrr": 0.0}
    ranks = [c.rank_after if after else c.rank_before for c in xs]
    top1 = sum(1 for r in ranks if r == 1) / len(xs)
    mrr = sum(1.0 / r for r in ranks if r) / len(xs)
    return {"n": len(xs), "top1": round(top1, 4), "mrr": round(mrr, 4)}


def _precision(xs: list[ReplayCase]) -> dict[str, float | int]:
    """How often the cited past cause was this incident's real failure class."""
    right = sum(1 for c in xs if c.memory_right)
    return {"n": len(xs), "right": right, "rate": round(right / len(xs), 4) if xs else 0.0}


@dataclass
class ReplayReport:
    cases: list[ReplayCase] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ok = [c for c in self.cases if c.error is None]
        rec = [c for c in ok if c.recurring]
        return {
            "bundles": len(self.cases),
            "errors": len(self.cases) - len(ok),
            "all": {"before": _rate(ok, False), "after": _rate(ok, True)},
            "recurring": {
                "before": _rate(rec, False),
                "after": _rate(rec, True),
                "with_memory_evidence": sum(1 for c in rec if c.memory_evidence),
                "known_issue": sum(1 for c in rec if c.classification == "known_issue"),
            },
            "memory_precision": _precision([c for c in ok if c.memory_cause]),
            "known_issue_precision": _precision(
                [c for c in ok if c.classification == "known_issue"]
            ),
            "first_seen": {
                "before": _rate([c for c in ok if not c.recurring], False),
                "after": _rate([c for c in ok if not c.recurring], True),
            },
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "aisre.replay/v1",
            "summary": self.summary(),
            "cases": [c.to_dict() for c in self.cases],
        }


def replay(
    bundles: Sequence[Path],
    triage: TriageFn,
    store: MemoryStore,
    progress: Callable[[int, int, str], None] | None = None,
) -> ReplayReport:
    """See the module docstring. `store` should be a scratch store (it is written).

    A bundle that cannot be replayed (no or a malformed truth.yaml, a bundle triage
    refuses) is a case with `error` set, and the replay goes on with the next one."""
    out = ReplayReport()
    seen: set[str] = set()
    for n, path in enumerate(bundles, 1):
        try:
            case = _replay_one(path, triage, store, seen)
        except MemoryStoreError:
            raise  # the scratch memory itself failed: every later bundle would too
        except AisreError as err:
            msg = " ".join(err.message.split())
            case = ReplayCase(path.name, "", False, None, None, 0, "", "", error=msg)
        out.cases.append(case)
        if case.error is None:
            seen.add(case.failure_class)
        if progress is not None:
            progress(n, len(bundles), path.name)
    return out


def _replay_one(path: Path, triage: TriageFn, store: MemoryStore, seen: set[str]) -> ReplayCase:
    truth = read_truth(path)
    if truth is None:
        raise UsageError(f"{path}: no truth.yaml", hint="replay needs the confirmed cause")
    cls = truth.failure_class
    before = triage(path, None)
    adv = Advisor(store)
    after = triage(path, adv)
    inc = adv.record(after)
    store.resolve(
        inc.uid,
        kind=truth.cause_kind,
        service=truth.service,
        change=truth.change_id,
        note=f"replay: confirmed from {path.name}/truth.yaml",
    )
    cited = next(
        (e.data.get("cause") for e in after.evidence if e.kind == "memory" and e.data),
        None,
    )
    memory_cause = None
    if isinstance(cited, dict):
        memory_cause = Truth(
            str(cited.get("kind")), str(cited.get("service")), None, truth.service_only
        ).failure_class
    return ReplayCase(
        bundle=path.name,
        failure_class=cls,
        recurring=cls in seen,
        rank_before=truth_rank(truth, before),
        rank_after=truth_rank(truth, after),
        memory_evidence=sum(1 for e in after.evidence if e.kind == "memory"),
        classification=after.verdict.classification,
        incident=inc.uid,
        memory_cause=memory_cause,
    )
