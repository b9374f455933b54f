"""Evaluation: run triage on every bundle with a `truth.yaml` and score the ranking.

`evaluate(DIR)` finds every bundle under DIR (a directory holding `bundle.yaml`,
searched recursively), triages its focus alert exactly as `aisre triage` does, and
compares the ranked hypotheses with the truth (DESIGN.md, "Incident bundle v1"):

- a hypothesis matches when kind and service are equal and, where the truth names a
  `change_id`, its subject is that change;
- with `match: service` only the service is compared, and the ranking is read as a
  ranking of *services* (hypotheses de-duplicated by service, best first);
- a truth of kind `unknown` (an alert with no supporting signal) is a hit at rank 1
  if and only if the verdict escalates.

Reported: top-1, top-3, MRR, a per-kind table, the escalation rate on `unknown`
cases and the false-escalation rate on known ones, calibration (expected
calibration error of the top-1 confidence against top-1 correctness, with a
reliability table of 10 confidence buckets, and the ECE's sampling noise: what a
perfectly calibrated engine with the same confidences would show, `CalibrationNoise`),
the confident-wrong rate (top
hypothesis wrong, not escalated, confidence >= 0.8: the answers governance would
trust and should not) and time per bundle.

truth.yaml is validated when read (`sources.bundle.check_truth`): `match` is `service`
or absent, and without `match: service` the kind is one of the hypothesis kinds. Under
`match: service` the kind is never compared and may be any label (a dataset may label
causes with kinds the engine does not have, e.g. `code_defect`).

Bundles are triaged in worker processes when there are enough of them (`jobs`);
the results are identical to a serial run and come back in plan order.

A bundle that fails (malformed file or truth.yaml, no alert, a bug) becomes an error
row and counts as a miss in top-1/top-3/MRR; the run always completes (`aisre eval`
then warns and exits 2 unless `--allow-errors`).

`rank_case` re-ranks cached feature vectors with other weights, exactly as the
engine scores them; `fit.py` uses it to compute held-out numbers.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisre_cli.errors import AisreError, BundleError
from aisre_cli.investigate.baselines import NAMES as BASELINES
from aisre_cli.investigate.baselines import rank_of, rankings, same_service
from aisre_cli.investigate.gather import gather_for, list_alerts, resolve_alert
from aisre_cli.investigate.rank import (
    FEATURES,
    Candidate,
    Weights,
    listing_order,
    service_mass,
    softmax_with_null,
)
from aisre_cli.investigate.triage import Analysis, analyze_context, build_report, link_doubt
from aisre_cli.settings.config import Profile
from aisre_cli.sources.bundle import focus_hint, focus_problem
from aisre_cli.sources.registry import SourceSet, bundle_set

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SCHEMA = "aisre.eval/v1"
N_BUCKETS = 10
CONFIDENT = 0.8
NOISE_DRAWS = 2000
"""Simulated outcome sets behind `CalibrationNoise` (seeded: the report is reproducible)."""
"""Top-1 confidence from which a wrong, non-escalated answer counts as confident-wrong."""
PARALLEL_MIN = 8
"""Fewer bundles than this are triaged in-process (a worker pool costs more than it saves)."""

ProgressCb = Callable[[int, int, str], None]
"""Called as (done, total, bundle name) after each bundle."""

CandKey = tuple[str, str, str | None]
"""(service, kind, subject) of one candidate."""


# ------------------------------------------------------------------ data


@dataclass(frozen=True)
class TruthSpec:
    kind: str
    service: str
    change_id: str | None = None
    match: str | None = None

    @property
    def service_only(self) -> bool:
        return (self.match or "").strip().lower() == "service"

    @property
    def is_unknown(self) -> bool:
        """An alert nothing explains. Not under `match: service`: there only the service
        is compared, whatever the kind says (a labelled root-cause service whose fault
        type the labeller did not name: `kind: unknown`, as nezha-ob's `code_defect`)."""
        return self.kind == "unknown" and not self.service_only

    def matches(self, kind: str, service: str, subject: str | None) -> bool:
        """Does one hypothesis (kind, service, subject) match this truth?

        An `unknown` truth (an alert fires and nothing explains it; it names the
        alerting service) is matched only by the hypothesis that says exactly that:
        kind `unknown` on that service ("it starts here, a person has to find why"),
        which always escalates. Any specific kind is wrong for it."""
        if self.is_unknown:
            return kind == "unknown" and bool(self.service) and same_service(service, self.service)
        if not same_service(service, self.service):
            return False
        if self.service_only:
            return True
        if kind != self.kind:
            return False
        return self.change_id is None or subject == self.change_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "service": self.service,
            "change_id": self.change_id,
            "match": self.match,
        }


@dataclass
class CaseFeatures:
    """The scored candidates of one bundle, cached for re-ranking and fitting."""

    keys: list[CandKey]
    rows: list[list[float]]
    """One feature vector per candidate, in `FEATURES` order."""


@dataclass
class CaseResult:
    """One bundle's outcome. `error` set means the bundle could not be triaged."""

    path: str
    id: str
    truth: TruthSpec | None
    rank: int | None = None
    """1-based rank of the first matching hypothesis (services for `match: service`)."""
    escalate: bool = False
    confidence: float = 0.0
    """The top hypothesis' confidence (0 when there is none)."""
    service_confidence: float = 0.0
    """The top hypothesis' service confidence: every candidate on its service together."""
    null_prob: float = 1.0
    top: CandKey | None = None
    n_candidates: int = 0
    seconds: float = 0.0
    error: str | None = None
    features: CaseFeatures | None = field(default=None, repr=False)
    dataset: str = ""
    """Which of the evaluated folders the bundle came from (its name)."""
    service_rank: int | None = None
    """1-based rank of the truth's service among the ranked services (hypotheses
    de-duplicated by service), for a known cause: what the naive baselines compare to."""
    baselines: dict[str, list[str]] = field(default_factory=dict)
    """Each naive baseline's top services (`baselines.rankings`)."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.truth is not None

    @property
    def top1(self) -> bool:
        return self.ok and self.rank == 1

    @property
    def top3(self) -> bool:
        return self.ok and self.rank is not None and self.rank <= 3

    @property
    def rr(self) -> float:
        return 1.0 / self.rank if self.ok and self.rank else 0.0

    @property
    def confident_wrong(self) -> bool:
        """Top hypothesis wrong, verdict not escalated, confidence >= `CONFIDENT`."""
        return (
            self.ok
            and not self.escalate
            and not self.top_correct
            and round(self.graded_confidence, 4) >= CONFIDENT
        )

    @property
    def graded_confidence(self) -> float:
        """The confidence of the claim the truth grades: for a truth that names only the
        service (`match: service`), that the cause is in the top hypothesis' service;
        otherwise, the top hypothesis itself."""
        if self.truth is not None and self.truth.service_only:
            return max(self.service_confidence, self.confidence)
        return self.confidence

    @property
    def top_correct(self) -> bool:
        """Is the top hypothesis itself right? (For an `unknown` truth: only kind `unknown`
        on the alerting service, see `TruthSpec.matches`.)"""
        if not self.ok or self.top is None or self.truth is None:
            return False
        svc, kind, subject = self.top
        return self.truth.matches(kind, svc, subject)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "dataset": self.dataset,
            "id": self.id,
            "truth": self.truth.to_dict() if self.truth else None,
            "rank": self.rank,
            "top1": self.top1,
            "top3": self.top3,
            "escalate": self.escalate,
            "confidence": round(self.confidence, 4),
            "service_confidence": round(self.service_confidence, 4),
            "null_prob": round(self.null_prob, 4),
            "top": (
                {"service": self.top[0], "kind": self.top[1], "subject": self.top[2]}
                if self.top
                else None
            ),
            "candidates": self.n_candidates,
            "service_rank": self.service_rank,
            "baselines": self.baselines,
            "seconds": round(self.seconds, 4),
            "error": self.error,
        }


@dataclass
class Bucket:
    lo: float
    hi: float
    n: int
    confidence: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "lo": round(self.lo, 2),
            "hi": round(self.hi, 2),
            "n": self.n,
            "confidence": round(self.confidence, 4),
            "accuracy": round(self.accuracy, 4),
        }


@dataclass
class KindRow:
    n: int
    top1: float
    top3: float
    mrr: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "top1": round(self.top1, 4),
            "top3": round(self.top3, 4),
            "mrr": round(self.mrr, 4),
        }


@dataclass
class ServiceLevel:
    """Service-level AC@1/AC@3 over the bundles whose cause is known (and that triaged):
    the engine's ranked services beside each naive baseline's (`baselines`)."""

    n: int
    top1: float
    top3: float
    baselines: dict[str, tuple[float, float]]
    """baseline name → (AC@1, AC@3)."""

    @property
    def best_baseline(self) -> str | None:
        """The baseline with the best AC@1 (then AC@3; then the order of `BASELINES`)."""
        if not self.baselines:
            return None
        return max(self.baselines, key=lambda k: (*self.baselines[k], -BASELINES.index(k)))

    @property
    def margin(self) -> float | None:
        """Engine AC@1 minus the best baseline's AC@1 (positive: the engine is better)."""
        best = self.best_baseline
        return None if best is None else self.top1 - self.baselines[best][0]

    def to_dict(self) -> dict[str, Any]:
        best = self.best_baseline
        margin = self.margin
        return {
            "n": self.n,
            "top1": round(self.top1, 4),
            "top3": round(self.top3, 4),
            "baselines": {
                k: {"top1": round(a1, 4), "top3": round(a3, 4)}
                for k, (a1, a3) in self.baselines.items()
            },
            "best_baseline": best,
            "margin_top1": None if margin is None else round(margin, 4),
        }


def service_level(cases: Sequence[CaseResult]) -> ServiceLevel:
    known = [c for c in cases if c.ok and c.truth is not None and not c.truth.is_unknown]
    n = len(known)

    def ac(ranks: Sequence[int | None], k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0

    mine = [c.service_rank for c in known]
    base: dict[str, tuple[float, float]] = {}
    if n:
        for name in BASELINES:
            ranks = [
                rank_of(c.truth.service, c.baselines.get(name, []))
                for c in known
                if c.truth is not None
            ]
            base[name] = (ac(ranks, 1), ac(ranks, 3))
    return ServiceLevel(n, ac(mine, 1), ac(mine, 3), base)


@dataclass
class Summary:
    n: int
    """Bundles with a truth (errors included)."""
    n_errors: int
    top1: float
    top3: float
    mrr: float
    n_unknown: int
    unknown_escalated: float | None
    """Share of `unknown` cases whose verdict escalates (None: no such case)."""
    n_known: int
    false_escalation: float | None
    """Share of known-cause cases whose verdict escalates anyway."""
    decision_accuracy: float
    """(confident and right) + (escalated and the top hypothesis was not right), over n."""
    ece: float
    buckets: list[Bucket]
    per_kind: dict[str, KindRow]
    n_confident_wrong: int
    """Cases whose top hypothesis is wrong, not escalated, at confidence >= `CONFIDENT`."""
    confident_wrong: float
    """`n_confident_wrong` over n (errors included in n: they are never confident)."""
    time_mean_s: float
    time_p95_s: float
    time_max_s: float
    service: ServiceLevel = field(default_factory=lambda: ServiceLevel(0, 0.0, 0.0, {}))
    """Service-level AC@k, the engine beside the naive baselines."""
    noise: CalibrationNoise | None = None
    """How much of the ECE sampling alone would give (None: no scored case)."""

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "n": self.n,
            "errors": self.n_errors,
            "top1": r(self.top1),
            "top3": r(self.top3),
            "mrr": r(self.mrr),
            "unknown": {
                "n": self.n_unknown,
                "escalated": r(self.unknown_escalated),
            },
            "known": {"n": self.n_known, "false_escalation": r(self.false_escalation)},
            "decision_accuracy": r(self.decision_accuracy),
            "calibration": {
                "ece": r(self.ece),
                "buckets": [b.to_dict() for b in self.buckets],
                **(self.noise.to_dict() if self.noise is not None else {}),
            },
            "confident_wrong": {
                "n": self.n_confident_wrong,
                "rate": r(self.confident_wrong),
                "min_confidence": CONFIDENT,
            },
            "per_kind": {k: v.to_dict() for k, v in sorted(self.per_kind.items())},
            "service_level": self.service.to_dict(),
            "time_s": {
                "mean": round(self.time_mean_s, 4),
                "p95": round(self.time_p95_s, 4),
                "max": round(self.time_max_s, 4),
            },
        }


@dataclass
class EvalReport:
    root: str
    cases: list[CaseResult]
    summary: Summary
    skipped: list[str]
    """Bundles without truth.yaml (not evaluated)."""
    weights_meta: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    roots: list[str] = field(default_factory=list)
    by_dataset: dict[str, Summary] = field(default_factory=dict)
    """Per evaluated folder, when several were given."""

    @property
    def errors(self) -> list[CaseResult]:
        return [c for c in self.cases if c.error is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "root": self.root,
            "roots": self.roots,
            "summary": self.summary.to_dict(),
            "by_dataset": {k: v.to_dict() for k, v in sorted(self.by_dataset.items())},
            "cases": [c.to_dict() for c in self.cases],
            "errors": [{"path": c.path, "error": c.error} for c in self.errors],
            "skipped": self.skipped,
            "weights": self.weights_meta,
            "elapsed_s": round(self.elapsed_s, 3),
        }


# ------------------------------------------------------------------ discovery


def discover(root: Path) -> tuple[list[Path], list[Path]]:
    """Bundles under `root` (recursively), split into (with truth.yaml, without).

    A bundle is a directory holding `bundle.yaml` (or a `truth.yaml`: a bundle whose
    bundle.yaml is missing is still one to score, and fails as an error); bundles do
    not nest, so the search does not descend into one. Symlinked folders are followed
    (a folder of links is a handy way to mix datasets). Sorted by path for a stable order.
    """
    root = Path(root)
    with_truth: list[Path] = []
    without: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop, or the same bundle linked twice
            dirnames[:] = []
            continue
        seen.add(real)
        # a truth.yaml that is a directory (or a link to one) is listed among the
        # folders: it is still a truth to score, refused when read (an error row),
        # never a bundle silently counted as "without truth.yaml"
        has_truth = "truth.yaml" in filenames or "truth.yaml" in dirnames
        if "bundle.yaml" in filenames or has_truth:
            # a truth.yaml without a bundle.yaml (missing, misnamed `bundle.yml`) is a
            # broken bundle to score: reported as an error, never silently left out
            p = Path(dirpath)
            (with_truth if has_truth else without).append(p)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(with_truth), sorted(without)


def _rel(p: Path, root: Path) -> str:
    try:
        rel = p.relative_to(root).as_posix()
    except ValueError:
        rel = p.as_posix()
    return rel if rel not in ("", ".") else p.name


# ------------------------------------------------------------------ ranking


def truth_rank(truth: TruthSpec, ordered: Sequence[CandKey]) -> int | None:
    """Rank of the truth in an ordered list of hypotheses (None: not found)."""
    if truth.service_only:
        services: list[str] = []
        for svc, _, _ in ordered:
            if svc not in services:
                services.append(svc)
        return rank_of(truth.service, services)
    for i, (svc, kind, subject) in enumerate(ordered, 1):
        if truth.matches(kind, svc, subject):
            return i
    return None


def rank_case(base: CaseResult, weights: Weights) -> CaseResult:
    """Re-score a case's cached candidates with `weights`, as the engine would."""
    if base.features is None or base.truth is None or base.error is not None:
        return base
    feats = base.features
    w = [weights.w.get(k, 0.0) for k in FEATURES]
    scores = [sum(wi * xi for wi, xi in zip(w, row, strict=True)) for row in feats.rows]
    return _result_from_scores(base, scores, weights.null_score, weights.escalate_below)


def _result_from_scores(
    base: CaseResult, scores: Sequence[float], null_score: float, escalate_below: float
) -> CaseResult:
    assert base.features is not None and base.truth is not None
    keys = base.features.keys
    probs, null_prob = softmax_with_null(keys, scores, null_score)
    order = listing_order(keys, scores)
    ordered = [keys[i] for i in order]
    conf = probs[order[0]] if order else 0.0
    svc_conf = (
        service_mass(zip((k[0] for k in keys), probs, strict=True))[keys[order[0]][0]]
        if order
        else 0.0
    )
    rule = Weights(w={}, null_score=null_score, escalate_below=escalate_below)
    escalate = rule.escalates(
        conf if order else None, null_prob, ordered[0][1] if ordered else None
    )
    return _finish(
        CaseResult(
            path=base.path,
            dataset=base.dataset,
            id=base.id,
            truth=base.truth,
            escalate=escalate,
            confidence=conf,
            service_confidence=svc_conf,
            null_prob=null_prob,
            top=ordered[0] if ordered else None,
            n_candidates=len(keys),
            seconds=base.seconds,
            features=base.features,
            baselines=base.baselines,
        ),
        ordered,
    )


def _finish(res: CaseResult, ordered: Sequence[CandKey]) -> CaseResult:
    truth = res.truth
    assert truth is not None
    if truth.is_unknown:
        res.rank = 1 if res.escalate else None
        res.service_rank = None
    else:
        res.rank = truth_rank(truth, ordered)
        services = list(dict.fromkeys(svc for svc, _, _ in ordered))
        res.service_rank = rank_of(truth.service, services)
    return res


# ------------------------------------------------------------------ one bundle


def analyze_bundle(sources: SourceSet, profile: Profile, weights: Weights) -> Analysis:
    """Triage a bundle's focus alert (else its earliest) as evaluation does."""
    b = sources.bundle
    assert b is not None
    alerts, _ = list_alerts(sources, profile.gather_budget_s)
    if not alerts:
        p = b.root / "alerts.json"
        if not p.exists() and not p.is_symlink():
            raise BundleError(
                f"{p}: missing (required: the alerts of the incident)",
                hint="see docs/bundle-format.md; `aisre bundle validate DIR` checks a bundle",
            )
        raise BundleError(f"{p}: holds no alert", hint="a bundle freezes at least one alert")
    if b.meta.focus_alert:
        why = focus_problem(alerts, b.meta.focus_alert)
        if why is not None:
            raise BundleError(f"{b.root / 'bundle.yaml'}: {why}", hint=focus_hint(b.root))
        alert = resolve_alert(alerts, b.meta.focus_alert)
    else:
        alert = min(alerts, key=lambda a: (a.starts_at, a.id))
    return analyze_context(gather_for(sources, alert, alerts, profile), profile, weights)


def evaluate_bundle(
    path: Path,
    root: Path,
    weights: Weights,
    profile: Profile,
    keep_features: bool = False,
) -> CaseResult:
    """Triage one bundle and compare with its truth. Never raises."""
    rel = _rel(path, root)
    t0 = time.perf_counter()
    res = CaseResult(path=rel, id=path.name, truth=None)
    try:
        sources = bundle_set(path, profile.service_labels, profile.limits)
        b = sources.bundle
        assert b is not None
        res.id = b.meta.id
        t = b.truth()
        if t is None:
            raise AisreError("no truth.yaml")
        rc = t.root_cause
        if not rc.service.strip():
            # no service: no hypothesis can ever match, the case would be a silent miss
            raise BundleError(
                f"{path / 'truth.yaml'}: root_cause.service: empty",
                hint="name the service where the cause is (for kind `unknown`: the"
                " alerting service)",
            )
        res.truth = TruthSpec(rc.kind, rc.service, rc.change_id, t.match)
        analysis = analyze_bundle(sources, profile, weights)
        report = build_report(analysis, weights)
        cands: list[Candidate] = analysis.candidates
        keys: list[CandKey] = [(c.service, c.kind, c.subject) for c in cands]
        order = listing_order(keys, [c.score for c in cands])
        ordered = [keys[i] for i in order]
        res.escalate = report.verdict.escalate
        res.confidence = cands[order[0]].prob if order else 0.0
        if order:
            mass = service_mass((c.service, c.prob) for c in cands)
            res.service_confidence = mass[cands[order[0]].service]
            # what the report shows and escalates on (`triage.link_doubt`)
            doubt = link_doubt(analysis, cands[order[0]].service)
            res.confidence *= doubt
            res.service_confidence *= doubt
        res.null_prob = analysis.null_prob
        res.top = ordered[0] if ordered else None
        res.n_candidates = len(cands)
        res.baselines = rankings(analysis)
        if keep_features:
            res.features = CaseFeatures(
                keys=keys,
                rows=[[float(c.features.get(k, 0.0)) for k in FEATURES] for c in cands],
            )
        _finish(res, ordered)
    except AisreError as exc:
        res.error = exc.message
    except Exception as exc:  # a bug in one bundle must not stop the run
        res.error = f"{type(exc).__name__}: {exc}"
    res.seconds = time.perf_counter() - t0
    return res


# ------------------------------------------------------------------ summary


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for an empty list)."""
    if not values:
        return 0.0
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100.0 * len(s)) - 1))
    return s[k]


def calibration(
    pairs: Sequence[tuple[float, bool]], n_buckets: int = N_BUCKETS
) -> tuple[float, list[Bucket]]:
    """Expected calibration error and the reliability table of (confidence, correct)."""
    buckets: list[Bucket] = []
    ece = 0.0
    n = len(pairs)
    for b in range(n_buckets):
        lo, hi = b / n_buckets, (b + 1) / n_buckets
        inb = [(c, ok) for c, ok in pairs if (lo <= c < hi) or (b == n_buckets - 1 and c >= hi)]
        if not inb:
            buckets.append(Bucket(lo, hi, 0, 0.0, 0.0))
            continue
        conf = sum(c for c, _ in inb) / len(inb)
        acc = sum(1 for _, ok in inb if ok) / len(inb)
        buckets.append(Bucket(lo, hi, len(inb), conf, acc))
        ece += len(inb) / n * abs(acc - conf)
    return ece, buckets


@dataclass(frozen=True)
class CalibrationNoise:
    """The ECE beside what sampling alone gives.

    On a few dozen bundles whose confidences sit mid-range, even a perfectly calibrated
    engine shows a sizeable ECE: each bucket's accuracy is a small sample. So each
    outcome is drawn as "right with probability = its confidence" `NOISE_DRAWS` times,
    on the same confidences and buckets, and the ECE of each draw kept: `median` and
    `p90` of those, and `p_value`, the share of draws at least as large as the ECE
    observed (small: miscalibration the sample shows; large: indistinguishable from
    noise). `gap` is mean confidence minus accuracy (negative: underconfident), with
    `gap_se`, its standard error were the engine calibrated. The draws are seeded, so
    the same cases always give the same numbers."""

    gap: float
    gap_se: float
    median: float
    p90: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "gap": round(self.gap, 4),
            "gap_se": round(self.gap_se, 4),
            "if_calibrated": {
                "median": round(self.median, 4),
                "p90": round(self.p90, 4),
                "p_value": round(self.p_value, 4),
            },
        }


def bucket_ece(
    conf: npt.NDArray[np.float64], outcomes: npt.NDArray[np.float64], n_buckets: int = N_BUCKETS
) -> npt.NDArray[np.float64]:
    """The ECE of `calibration`, vectorised: `conf` (n,) against each row of
    `outcomes` (draws, n) of 0/1; an array of `draws` ECEs."""
    import numpy as np

    n = len(conf)
    # the buckets of `calibration`: [b/n, (b+1)/n), the last one closed
    edges = np.array([b / n_buckets for b in range(1, n_buckets)])
    bucket = np.searchsorted(edges, conf, side="right")
    ece = np.zeros(outcomes.shape[0])
    for b in np.unique(bucket):
        inb = bucket == b
        acc = outcomes[:, inb].mean(axis=1)
        ece += inb.sum() / n * np.abs(acc - conf[inb].mean())
    return ece


def calibration_noise(
    pairs: Sequence[tuple[float, bool]],
    observed: float,
    n_buckets: int = N_BUCKETS,
    draws: int = NOISE_DRAWS,
    seed: int = 0,
) -> CalibrationNoise | None:
    """`CalibrationNoise` of (confidence, correct) pairs whose ECE is `observed`."""
    if not pairs:
        return None
    import numpy as np

    conf = np.clip(np.array([c for c, _ in pairs], dtype=np.float64), 0.0, 1.0)
    right = np.array([1.0 if ok else 0.0 for _, ok in pairs])
    n = len(conf)
    outcomes = (np.random.default_rng(seed).random((draws, n)) < conf).astype(np.float64)
    ece = bucket_ece(conf, outcomes, n_buckets)
    return CalibrationNoise(
        gap=float(conf.mean() - right.mean()),
        gap_se=float(np.sqrt((conf * (1.0 - conf)).sum()) / n),
        median=float(np.median(ece)),
        p90=float(np.quantile(ece, 0.9)),
        # a draw equal to the observed ECE (up to float error) counts as "as large"
        p_value=float((ece >= observed - 1e-12).mean()),
    )


def summarize(cases: Sequence[CaseResult]) -> Summary:
    scored = [c for c in cases if c.truth is not None or c.error is not None]
    n = len(scored)
    ok = [c for c in scored if c.ok]
    unknown = [c for c in ok if c.truth is not None and c.truth.is_unknown]
    known = [c for c in ok if c.truth is not None and not c.truth.is_unknown]

    def rate(xs: Sequence[bool], denom: int) -> float:
        return sum(1 for x in xs if x) / denom if denom else 0.0

    per_kind: dict[str, KindRow] = {}
    kinds = sorted({c.truth.kind for c in scored if c.truth is not None})
    for k in kinds:
        sub = [c for c in scored if c.truth is not None and c.truth.kind == k]
        per_kind[k] = KindRow(
            n=len(sub),
            top1=rate([c.top1 for c in sub], len(sub)),
            top3=rate([c.top3 for c in sub], len(sub)),
            mrr=sum(c.rr for c in sub) / len(sub),
        )
    errors_no_truth = [c for c in scored if c.truth is None]
    if errors_no_truth:
        per_kind["(error)"] = KindRow(len(errors_no_truth), 0.0, 0.0, 0.0)

    decisions = [
        (not c.escalate and c.top_correct) or (c.escalate and not c.top_correct) for c in ok
    ]
    pairs = [(c.graded_confidence, c.top_correct) for c in ok]
    ece, buckets = calibration(pairs)
    times = [c.seconds for c in ok]
    n_cw = sum(1 for c in ok if c.confident_wrong)
    return Summary(
        n=n,
        n_errors=sum(1 for c in scored if c.error is not None),
        top1=rate([c.top1 for c in scored], n),
        top3=rate([c.top3 for c in scored], n),
        mrr=sum(c.rr for c in scored) / n if n else 0.0,
        n_unknown=len(unknown),
        unknown_escalated=rate([c.escalate for c in unknown], len(unknown)) if unknown else None,
        n_known=len(known),
        false_escalation=rate([c.escalate for c in known], len(known)) if known else None,
        decision_accuracy=rate(decisions, n),
        ece=ece,
        buckets=buckets,
        per_kind=per_kind,
        n_confident_wrong=n_cw,
        confident_wrong=n_cw / n if n else 0.0,
        time_mean_s=sum(times) / len(times) if times else 0.0,
        time_p95_s=_percentile(times, 95),
        time_max_s=max(times, default=0.0),
        service=service_level(ok),
        noise=calibration_noise(pairs, ece),
    )


# ------------------------------------------------------------------ entry point


def evaluate(
    root: Path | str | Sequence[Path | str],
    *,
    weights: Weights | None = None,
    profile: Profile | None = None,
    progress: ProgressCb | None = None,
    keep_features: bool = False,
    jobs: int | None = None,
) -> EvalReport:
    """Evaluate every bundle with a truth under `root` (one folder or several).

    With several folders, case paths are prefixed with the folder's name and the
    report also holds one summary per folder. Raises only if a folder is unusable.
    `jobs`: worker processes (None: one per CPU; 1: in this process).
    """
    from aisre_cli.errors import UsageError

    roots = check_roots(root)
    labels = _labels(roots)
    w = weights or Weights.load()
    prof = profile or Profile()
    plan: list[tuple[Path, Path, str]] = []
    skipped: list[str] = []
    for base, label in zip(roots, labels, strict=True):
        todo, skip = discover(base)
        plan.extend((p, base, label) for p in todo)
        prefix = f"{label}/" if len(roots) > 1 else ""
        skipped.extend(prefix + _rel(p, base) for p in skip)
    if not plan:
        where = ", ".join(str(r) for r in roots)
        without = f" ({len(skipped)} bundle(s) without one)" if skipped else ""
        raise UsageError(
            f"no bundle with a truth.yaml under {where}{without}: nothing to evaluate",
            hint="check the folder; each bundle to score needs a truth.yaml (docs/eval.md)",
        )
    t0 = time.perf_counter()
    cases = _run_plan(plan, w, prof, keep_features, len(roots) > 1, progress, jobs)
    meta = dict(w.meta)
    meta.update({"null_score": w.null_score, "escalate_below": w.escalate_below})
    by_dataset: dict[str, Summary] = {}
    if len(roots) > 1:
        for label in labels:
            by_dataset[label] = summarize([c for c in cases if c.dataset == label])
    return EvalReport(
        root=", ".join(str(r) for r in roots),
        cases=cases,
        summary=summarize(cases),
        skipped=skipped,
        weights_meta=meta,
        elapsed_s=time.perf_counter() - t0,
        roots=[str(r) for r in roots],
        by_dataset=by_dataset,
    )


def check_roots(root: Path | str | Sequence[Path | str]) -> list[Path]:
    """The folders to evaluate; raises UsageError when there is none or one is not a
    directory (the CLI calls it before it starts its progress display)."""
    from aisre_cli.errors import UsageError

    roots = [Path(root)] if isinstance(root, str | Path) else [Path(r) for r in root]
    if not roots:
        raise UsageError("no folder to evaluate", hint="pass a folder of bundles")
    for base in roots:
        if not base.exists():
            raise UsageError(f"{base}: no such directory", hint="pass a folder of bundles")
        if not base.is_dir():
            raise UsageError(f"{base}: not a directory", hint="pass a folder of bundles")
    # a folder given twice, or one inside another: its bundles would count twice (and
    # under --fit, a "held-out" folder would also be in the training data)
    real = [Path(os.path.realpath(r)) for r in roots]
    for i, a in enumerate(real):
        for j, b in enumerate(real):
            if i == j:
                continue
            if a == b and i < j:
                raise UsageError(
                    f"{roots[j]}: given twice (the same folder as {roots[i]})",
                    hint="pass each folder once",
                )
            if a != b and a.is_relative_to(b):
                raise UsageError(
                    f"{roots[i]}: inside {roots[j]}, also given: its bundles would count twice",
                    hint="pass either the folder or the one around it",
                )
    return roots


def default_jobs() -> int:
    """Worker processes for an evaluation: one per CPU this process may use."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, n)


def _run_plan(
    plan: Sequence[tuple[Path, Path, str]],
    weights: Weights,
    profile: Profile,
    keep_features: bool,
    prefix: bool,
    progress: ProgressCb | None,
    jobs: int | None,
) -> list[CaseResult]:
    """Triage every planned bundle (in worker processes when it pays), in plan order.

    Each bundle is independent of the others, so a pool gives the same results as a
    serial run. Workers are started with `forkserver` (never `fork`: the caller may
    hold threads, and a forked lock would deadlock)."""
    n_jobs = default_jobs() if jobs is None else max(1, jobs)
    n_jobs = min(n_jobs, len(plan))
    out: list[CaseResult | None] = [None] * len(plan)

    def done(i: int, res: CaseResult, count: int) -> None:
        _p, _base, label = plan[i]
        res.dataset = label
        if prefix:
            res.path = f"{label}/{res.path}"
        out[i] = res
        if progress is not None:
            progress(count, len(plan), res.path)

    count = 0
    if n_jobs > 1 and len(plan) >= PARALLEL_MIN:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        ctx = mp.get_context("forkserver")
        try:
            with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
                futs = {
                    pool.submit(evaluate_bundle, p, base, weights, profile, keep_features): i
                    for i, (p, base, _label) in enumerate(plan)
                }
                for fut in as_completed(futs):
                    count += 1
                    done(futs[fut], fut.result(), count)
        except (BrokenProcessPool, OSError):
            # workers could not start (e.g. a caller script without a __main__ guard,
            # or no semaphores in a sandbox): finish in this process
            pass
    for i, (p, base, _label) in enumerate(plan):
        if out[i] is None:
            count += 1
            done(i, evaluate_bundle(p, base, weights, profile, keep_features), count)
    return [r for r in out if r is not None]


def _labels(roots: Sequence[Path]) -> list[str]:
    """Short, unique names for the evaluated folders (their names, numbered if equal)."""
    out: list[str] = []
    for r in roots:
        name = r.resolve().name or str(r)
        label, k = name, 2
        while label in out:
            label, k = f"{name}-{k}", k + 1
        out.append(label)
    return out


def by_dataset(cases: Sequence[CaseResult]) -> dict[str, Summary]:
    """One summary per dataset label (empty when all cases share one)."""
    names = sorted({c.dataset for c in cases})
    if len(names) < 2:
        return {}
    return {n: summarize([c for c in cases if c.dataset == n]) for n in names}


def check_thresholds(summary: Summary, min_top1: float | None, min_top3: float | None) -> list[str]:
    """Human-readable failures of the requested thresholds (empty: all met)."""
    fails: list[str] = []
    if min_top1 is not None and summary.top1 < min_top1:
        fails.append(f"top-1 {summary.top1:.3f} < {min_top1:.3f}")
    if min_top3 is not None and summary.top3 < min_top3:
        fails.append(f"top-3 {summary.top3:.3f} < {min_top3:.3f}")
    return fails
