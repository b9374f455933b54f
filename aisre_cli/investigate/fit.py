"""Fit the ranking weights: conditional logit with a "no cause" option, by maximum likelihood.

Model (the one `rank.Ranker.score` applies): for one bundle with candidates
x_1..x_n (feature vectors in `rank.FEATURES` order),

    P(candidate i) = exp(w·x_i) / (exp(b) + Σ_j exp(w·x_j)),   P(no cause) = exp(b) / (…)

with b = `null_score`. The label of a bundle is the set of candidates matching its
truth (DESIGN.md rules; for `match: service` every candidate of the true service),
or the null option when the truth is `unknown` or no candidate matches. The
likelihood of a bundle is the probability of its label set. Bundles are weighted
so that every dataset (top folder) counts the same in total: a large synthetic suite
must not drown a smaller real one. We minimise the weighted negative log-likelihood
plus an L2 penalty (λ/2)(|w|² + b²) with a hand-written
L-BFGS (two-loop recursion, Armijo backtracking); numpy only.

Honest numbers: k-fold cross-validation split by bundle (stratified by dataset and
truth kind, deterministic). Inside each outer fold an inner cross-validation picks λ (lowest
held-out log-loss) and the escalation threshold, so every reported held-out number
(top-1, top-3, ECE, unknown escalation) comes from bundles the fold never saw. The
final weights are fit on everything with the λ the outer CV prefers, and
`escalate_below` is chosen on the outer held-out predictions to maximise
(confident and right) + (escalated and the top hypothesis not right).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aisre_cli.investigate.evaluate import (
    CaseResult,
    Summary,
    _result_from_scores,
    by_dataset,
    summarize,
)
from aisre_cli.investigate.rank import FEATURES, MEMORY_PRIOR_WEIGHT, Weights

FloatArr = npt.NDArray[np.float64]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]

DEFAULT_L2_GRID: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
DEFAULT_FOLDS = 5


# ------------------------------------------------------------------ data


@dataclass
class Item:
    """One bundle's candidates and label, ready for the likelihood."""

    case: CaseResult
    x: FloatArr
    """n × F feature matrix."""
    label: BoolArr
    """n booleans: candidates in the label set (all False: the label is "no cause")."""

    @property
    def is_null(self) -> bool:
        return not bool(self.label.any())


def make_items(cases: Sequence[CaseResult]) -> list[Item]:
    """Items for every case that was triaged with cached features."""
    items: list[Item] = []
    nf = len(FEATURES)
    for c in cases:
        if not c.ok or c.features is None or c.truth is None:
            continue
        f = c.features
        x = np.asarray(f.rows, dtype=np.float64).reshape(len(f.rows), nf)
        t = c.truth
        lab = np.array([t.matches(k, s, sub) for s, k, sub in f.keys], dtype=np.bool_)
        items.append(Item(c, x, lab))
    return items


@dataclass
class _Packed:
    """Items concatenated for vectorised evaluation."""

    x: FloatArr  # N × F
    grp: IntArr  # N: item index of each row
    starts: IntArr  # G: first row of each item (items with no rows are dropped)
    label: BoolArr  # N
    null_label: BoolArr  # G
    n_groups: int
    weight: FloatArr | None = None  # G: each dataset weighs the same in total


def _pack(items: Sequence[Item]) -> _Packed:
    nf = len(FEATURES)
    kept = [it for it in items if it.x.shape[0] > 0]
    if not kept:
        return _Packed(
            np.zeros((0, nf)),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.bool_),
            np.zeros(0, dtype=np.bool_),
            0,
        )
    x = np.vstack([it.x for it in kept])
    sizes = np.array([it.x.shape[0] for it in kept], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    grp = np.repeat(np.arange(len(kept), dtype=np.int64), sizes)
    label = np.concatenate([it.label for it in kept])
    null_label = np.array([it.is_null for it in kept], dtype=np.bool_)
    # Balance datasets: a large synthetic suite must not drown a small real one.
    names = [it.case.dataset for it in kept]
    counts = {n: names.count(n) for n in set(names)}
    weight = np.array([len(kept) / (len(counts) * counts[n]) for n in names], dtype=np.float64)
    return _Packed(x, grp, starts, label, null_label, len(kept), weight)


# ------------------------------------------------------------------ likelihood


def _nll_grad(theta: FloatArr, d: _Packed, l2: float) -> tuple[float, FloatArr]:
    """Penalised negative log-likelihood and its gradient; theta = (w..., b)."""
    nf = d.x.shape[1]
    w, b = theta[:nf], float(theta[nf])
    pen = 0.5 * l2 * float(theta @ theta)
    gpen = l2 * theta
    if d.n_groups == 0:
        return pen, gpen
    s = d.x @ w
    m = np.maximum(np.maximum.reduceat(s, d.starts), b)  # per group
    e = np.exp(s - m[d.grp])
    en = np.exp(b - m)
    z = en + np.add.reduceat(e, d.starts)
    p = e / z[d.grp]
    pnull = en / z
    # numerator: probability mass of the label set
    el = np.where(d.label, e, 0.0)
    num = np.where(d.null_label, en, np.add.reduceat(el, d.starts))
    num = np.maximum(num, 1e-300)
    wt = d.weight if d.weight is not None else np.ones(d.n_groups)
    nll = float(-np.sum(wt * (np.log(num) - np.log(z))))
    q = np.where(d.label, el / num[d.grp], 0.0)  # posterior over the label set
    qnull = d.null_label.astype(np.float64)
    gw = d.x.T @ ((p - q) * wt[d.grp])
    gb = float(np.sum(wt * (pnull - qnull)))
    grad = np.concatenate([gw, [gb]])
    return nll + pen, grad + gpen


Objective = Callable[[FloatArr], tuple[float, FloatArr]]


def _lbfgs(
    fg: Objective,
    theta0: FloatArr,
    max_iter: int = 500,
    tol: float = 1e-6,
    history: int = 10,
) -> FloatArr:
    """Minimise fg (value, gradient) from theta0: L-BFGS with Armijo backtracking."""
    theta = theta0.astype(np.float64).copy()
    f, g = fg(theta)
    s_hist: list[FloatArr] = []
    y_hist: list[FloatArr] = []
    for _ in range(max_iter):
        if float(np.max(np.abs(g))) < tol:
            break
        # two-loop recursion
        q = g.copy()
        alphas: list[float] = []
        for s_k, y_k in zip(reversed(s_hist), reversed(y_hist), strict=True):
            a = float(s_k @ q) / float(y_k @ s_k)
            alphas.append(a)
            q -= a * y_k
        if s_hist:
            gamma = float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            gamma = 1.0 / max(1.0, float(np.linalg.norm(g)))
        r = gamma * q
        for s_k, y_k, a in zip(s_hist, y_hist, reversed(alphas), strict=True):
            beta = float(y_k @ r) / float(y_k @ s_k)
            r += (a - beta) * s_k
        direction = -r
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            s_hist.clear()
            y_hist.clear()
            direction = -g
            slope = float(g @ direction)
        step = 1.0
        while True:
            cand = theta + step * direction
            f_new, g_new = fg(cand)
            if f_new <= f + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.5
        s_new = cand - theta
        y_new = g_new - g
        theta, f_old, f, g = cand, f, f_new, g_new
        if float(s_new @ y_new) > 1e-12:
            s_hist.append(s_new)
            y_hist.append(y_new)
            if len(s_hist) > history:
                s_hist.pop(0)
                y_hist.pop(0)
        if abs(f_old - f) <= 1e-12 * max(1.0, abs(f)):
            break
    return theta


def _softplus(u: FloatArr) -> FloatArr:
    out: FloatArr = np.logaddexp(0.0, u)
    return out


def _sigmoid(u: FloatArr) -> FloatArr:
    out: FloatArr = 0.5 * (1.0 + np.tanh(0.5 * u))
    return out


def fit_theta(
    items: Sequence[Item],
    l2: float,
    theta0: FloatArr | None = None,
    signs: FloatArr | None = None,
) -> FloatArr:
    """Maximum-likelihood (w, b) for `items` with L2 strength `l2`.

    `signs` (one entry per parameter: +1 keeps it >= 0, -1 keeps it <= 0, 0 leaves it
    free) constrains weights through the smooth reparameterisation w = ±softplus(u),
    so the same unconstrained L-BFGS applies.
    """
    nf = len(FEATURES)
    d = _pack(items)
    if signs is None or not np.any(signs):
        start = theta0 if theta0 is not None else np.zeros(nf + 1)
        return _lbfgs(lambda th: _nll_grad(th, d, l2), start)
    sg = np.asarray(signs, dtype=np.float64)
    con = sg != 0

    def to_theta(u: FloatArr) -> FloatArr:
        th = u.copy()
        th[con] = sg[con] * _softplus(u[con])
        return th

    def fg(u: FloatArr) -> tuple[float, FloatArr]:
        th = to_theta(u)
        f, g = _nll_grad(th, d, l2)
        gu = g.copy()
        gu[con] = g[con] * sg[con] * _sigmoid(u[con])
        return f, gu

    u0 = np.zeros(nf + 1)
    u0[con] = -2.0  # softplus(-2) ≈ 0.13: start near zero, inside the allowed side
    return to_theta(_lbfgs(fg, u0))


def design_signs() -> FloatArr:
    """Signs of the engine's hand-set default weights (0 where the default is 0);
    the null score stays free."""
    from aisre_cli.investigate.rank import DEFAULT_WEIGHTS

    out = np.zeros(len(FEATURES) + 1)
    for i, k in enumerate(FEATURES):
        v = DEFAULT_WEIGHTS.get(k, 0.0)
        out[i] = 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)
    return out


def log_loss(items: Sequence[Item], theta: FloatArr) -> float:
    """Mean negative log-likelihood of `items` (no penalty)."""
    d = _pack(items)
    if d.n_groups == 0:
        return 0.0
    nll, _ = _nll_grad(theta, d, 0.0)
    return nll / max(1, len(items))


def to_weights(
    theta: FloatArr, escalate_below: float, meta: dict[str, Any] | None = None
) -> Weights:
    nf = len(FEATURES)
    w = {k: float(theta[i]) for i, k in enumerate(FEATURES)}
    # evaluation runs without memory, so the fit cannot learn this weight: pin it
    w["memory_prior"] = MEMORY_PRIOR_WEIGHT
    return Weights(
        w=w,
        null_score=float(theta[nf]),
        escalate_below=escalate_below,
        meta=dict(meta or {}),
    )


# ------------------------------------------------------------------ prediction


def predict(items: Sequence[Item], theta: FloatArr, escalate_below: float) -> list[CaseResult]:
    """Re-rank each item's candidates with theta, exactly as the engine scores them."""
    nf = len(FEATURES)
    w, b = theta[:nf], float(theta[nf])
    out: list[CaseResult] = []
    for it in items:
        scores = (it.x @ w).tolist() if it.x.shape[0] else []
        out.append(_result_from_scores(it.case, scores, b, escalate_below))
    return out


def choose_threshold(cases: Sequence[CaseResult]) -> float:
    """The `escalate_below` maximising (not escalated and right) + (escalated and not right).

    Escalation happens when the top confidence is below the threshold. Among the
    thresholds with the best score, the middle of the best range is taken.
    """
    pts = sorted((c.confidence, c.top_correct) for c in cases if c.ok)
    if not pts:
        return 0.5
    confs = sorted({round(c, 6) for c, _ in pts})
    cands = [0.0] + [(a + b) / 2 for a, b in zip(confs, confs[1:], strict=False)]
    cands.append(min(1.0, confs[-1] + 1e-3))

    def utility(t: float) -> int:
        return sum(1 for c, ok in pts if (c >= t and ok) or (c < t and not ok))

    scores = [utility(t) for t in cands]
    best = max(scores)
    # the longest run of consecutive best thresholds; its middle is the most robust choice
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(cands):
        if scores[i] == best:
            j = i
            while j + 1 < len(cands) and scores[j + 1] == best:
                j += 1
            runs.append((i, j))
            i = j + 1
        else:
            i += 1
    lo, hi = max(runs, key=lambda r: cands[r[1]] - cands[r[0]])
    t = (cands[lo] + cands[hi]) / 2
    return round(min(0.99, max(0.0, t)), 4)


# ------------------------------------------------------------------ cross-validation


def assign_folds(items: Sequence[Item], k: int) -> list[int]:
    """Deterministic folds by bundle, stratified by dataset and truth kind (round-robin)."""

    def key(i: int) -> tuple[str, str, str]:
        c = items[i].case
        return (c.dataset, c.truth.kind if c.truth is not None else "", c.path)

    order = sorted(range(len(items)), key=key)
    folds = [0] * len(items)
    for pos, i in enumerate(order):
        folds[i] = pos % k
    return folds


def _cv_predictions(
    items: Sequence[Item], k: int, l2: float, signs: FloatArr | None = None
) -> tuple[list[tuple[int, FloatArr]], float]:
    """(held-out (index, theta) per fold, mean held-out log-loss) for one λ."""
    folds = assign_folds(items, k)
    thetas: list[tuple[int, FloatArr]] = []
    loss = 0.0
    for f in range(k):
        train = [it for it, g in zip(items, folds, strict=True) if g != f]
        test = [it for it, g in zip(items, folds, strict=True) if g == f]
        if not test:
            continue
        th = fit_theta(train, l2, signs=signs)
        thetas.append((f, th))
        loss += log_loss(test, th) * len(test)
    return thetas, loss / max(1, len(items))


def _held_out(
    items: Sequence[Item],
    k: int,
    l2: float,
    escalate_below: float | None,
    signs: FloatArr | None = None,
) -> tuple[list[CaseResult], float]:
    """Held-out predictions for every item with a fixed λ (threshold: given, or 0.5)."""
    folds = assign_folds(items, k)
    thetas, loss = _cv_predictions(items, k, l2, signs)
    by_fold = dict(thetas)
    preds: list[CaseResult | None] = [None] * len(items)
    for i, it in enumerate(items):
        th = by_fold[folds[i]]
        preds[i] = predict([it], th, 0.5 if escalate_below is None else escalate_below)[0]
    return [p for p in preds if p is not None], loss


def select_l2(
    items: Sequence[Item], k: int, grid: Sequence[float], signs: FloatArr | None = None
) -> tuple[float, list[CaseResult]]:
    """λ with the lowest k-fold held-out log-loss, and its held-out predictions."""
    best: tuple[float, float, list[CaseResult]] | None = None
    kk = max(2, min(k, len(items)))
    for l2 in grid:
        preds, loss = _held_out(items, kk, l2, None, signs)
        if best is None or loss < best[0] - 1e-9:
            best = (loss, l2, preds)
    assert best is not None
    return best[1], best[2]


@dataclass
class FoldReport:
    fold: int
    n: int
    l2: float
    escalate_below: float
    top1: float
    top3: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "fold": self.fold,
            "n": self.n,
            "l2": self.l2,
            "escalate_below": self.escalate_below,
            "top1": round(self.top1, 4),
            "top3": round(self.top3, 4),
        }


@dataclass
class FitResult:
    weights: Weights
    held_out: Summary
    held_out_cases: list[CaseResult]
    folds: list[FoldReport]
    training: Summary
    """In-sample numbers of the final weights (for comparison only; not the claim)."""
    l2: float
    n_items: int
    meta: dict[str, Any] = field(default_factory=dict)
    held_out_by_dataset: dict[str, Summary] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "held_out_by_dataset": {
                k: v.to_dict() for k, v in sorted(self.held_out_by_dataset.items())
            },
            "weights": {
                "w": {k: round(v, 6) for k, v in self.weights.w.items()},
                "null_score": round(self.weights.null_score, 6),
                "escalate_below": self.weights.escalate_below,
            },
            "held_out": self.held_out.to_dict(),
            "folds": [f.to_dict() for f in self.folds],
            "training": self.training.to_dict(),
            "l2": self.l2,
            "n": self.n_items,
            "meta": self.meta,
        }


def headline(s: Summary) -> dict[str, Any]:
    """The numbers stored in weights.json meta."""
    return {
        "n": s.n,
        "top1": round(s.top1, 4),
        "top3": round(s.top3, 4),
        "mrr": round(s.mrr, 4),
        "ece": round(s.ece, 4),
        "unknown_escalated": None if s.unknown_escalated is None else round(s.unknown_escalated, 4),
        "false_escalation": None if s.false_escalation is None else round(s.false_escalation, 4),
        "decision_accuracy": round(s.decision_accuracy, 4),
    }


def cross_validate_fit(
    cases: Sequence[CaseResult],
    folds: int = DEFAULT_FOLDS,
    l2_grid: Sequence[float] = DEFAULT_L2_GRID,
    suite: str = "",
    signs: FloatArr | None = None,
) -> FitResult:
    """Nested k-fold CV (held-out numbers), then the final fit on every case.

    `signs` constrains weight signs (see `fit_theta`; `design_signs()` uses the signs
    of the engine's hand-set defaults)."""
    items = make_items(cases)
    if len(items) < 2:
        from aisre_cli.errors import UsageError

        raise UsageError(
            f"fitting needs at least 2 triaged bundles with a truth, got {len(items)}",
            hint="point `aisre eval --fit` at a folder of bundles with truth.yaml",
        )
    k = max(2, min(folds, len(items)))
    fold_of = assign_folds(items, k)
    held: list[CaseResult | None] = [None] * len(items)
    reports: list[FoldReport] = []
    for f in range(k):
        tr_idx = [i for i, g in enumerate(fold_of) if g != f]
        te_idx = [i for i, g in enumerate(fold_of) if g == f]
        if not te_idx:
            continue
        train = [items[i] for i in tr_idx]
        # inner CV on the training part only: λ and the escalation threshold
        l2, inner_preds = select_l2(train, k, l2_grid, signs)
        thr = choose_threshold(inner_preds)
        th = fit_theta(train, l2, signs=signs)
        preds = predict([items[i] for i in te_idx], th, thr)
        for i, p in zip(te_idx, preds, strict=True):
            held[i] = p
        s = summarize(preds)
        reports.append(FoldReport(f, len(te_idx), l2, thr, s.top1, s.top3))
    held_cases = [h for h in held if h is not None]
    # add error rows back so held-out top-1/top-3 count them as misses, like `aisre eval`
    errors = [c for c in cases if c.error is not None]
    held_summary = summarize([*held_cases, *errors])
    held_by_ds = by_dataset([*held_cases, *errors])

    # final model: λ by CV on everything; threshold on the outer held-out predictions
    l2_all, _ = select_l2(items, k, l2_grid, signs)
    theta = fit_theta(items, l2_all, signs=signs)
    thr_all = choose_threshold(held_cases)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "suite": suite,
        "folds": k,
        "n_bundles": len(items),
        "l2": l2_all,
        "held_out": headline(held_summary),
        "held_out_by_dataset": {k: headline(v) for k, v in sorted(held_by_ds.items())},
        "method": "conditional logit with null option, L2, L-BFGS; nested CV for λ/threshold",
        "sign_constraints": (
            {k: int(signs[i]) for i, k in enumerate(FEATURES) if signs[i]}
            if signs is not None
            else None
        ),
    }
    training = summarize([*predict(items, theta, thr_all), *errors])
    meta["training"] = headline(training)
    weights = to_weights(theta, thr_all, meta)
    return FitResult(
        weights=weights,
        held_out=held_summary,
        held_out_cases=held_cases,
        folds=reports,
        training=training,
        l2=l2_all,
        n_items=len(items),
        meta=meta,
        held_out_by_dataset=held_by_ds,
    )


def save(result: FitResult, path: Path | None = None) -> Path:
    """Write the fitted weights (with meta) to weights.json (or `path`)."""
    from aisre_cli.investigate.rank import WEIGHTS_FILE

    p = path or WEIGHTS_FILE
    result.weights.save(p)
    return p
