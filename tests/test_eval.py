"""`aisre eval` and the weight fit: report structure, JSON, threshold exit code, and
that the maximum-likelihood fit recovers a known ranking from synthetic features."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from aisre_cli.errors import ExitCode
from aisre_cli.investigate.evaluate import (
    CaseFeatures,
    CaseResult,
    TruthSpec,
    bucket_ece,
    calibration,
    calibration_noise,
    discover,
    evaluate,
    rank_case,
    summarize,
    truth_rank,
)
from aisre_cli.investigate.fit import (
    DEFAULT_TEMPERATURES,
    Item,
    choose_threshold,
    cross_validate_fit,
    fit_theta,
    leave_one_dataset_out,
    make_items,
    predict,
    save,
    select_hyper,
    top_brier,
)
from aisre_cli.investigate.rank import (
    FEATURES,
    MEMORY_PRIOR_WEIGHT,
    Candidate,
    Ranker,
    Weights,
    softmax_with_null,
)
from tests.conftest import DEMO, IN_CI, PETSHOP

# one bundle of each cause kind in the PetShop dataset (service match)
PETSHOP_PICK = (
    "petshop-high_traffic-test-issue0",
    "petshop-high_traffic-test-issue10",
    "petshop-high_traffic-test-issue3",
)


def require(path: Path, what: str) -> None:
    """Skip when a dataset is absent, but fail under CI (it must be there)."""
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{what} missing under CI: {path}")
        pytest.skip(f"{what} not available at {path}")


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """demo + 3 PetShop bundles + an `unknown` case + a broken bundle, nested one level."""
    root = tmp_path_factory.mktemp("evalset")
    for name in PETSHOP_PICK:
        require(PETSHOP / name, "PetShop dataset")
        shutil.copytree(PETSHOP / name, root / "petshop" / name)
    if (DEMO / "bundle.yaml").exists():
        shutil.copytree(DEMO, root / "demo")
    # the same data, but the truth says "no cause is knowable": the right answer is escalate
    unk = root / "petshop" / "unknown-copy"
    shutil.copytree(PETSHOP / PETSHOP_PICK[0], unk)
    (unk / "truth.yaml").write_text("root_cause: {kind: unknown, service: none}\n")
    broken = root / "broken"
    shutil.copytree(PETSHOP / PETSHOP_PICK[1], broken)
    (broken / "alerts.json").write_text("{not json")
    # a bundle without truth is skipped, not evaluated
    shutil.copytree(PETSHOP / PETSHOP_PICK[2], root / "no-truth")
    (root / "no-truth" / "truth.yaml").unlink()
    return root


def _runner() -> CliRunner:
    import aisre_cli.ui.cli.evaluate  # noqa: F401  (registers `eval`)

    return CliRunner()


# ------------------------------------------------------------------ matching rules


def test_truth_matching_rules() -> None:
    t = TruthSpec("deploy", "api", "chg-2")
    assert t.matches("deploy", "api", "chg-2")
    assert not t.matches("deploy", "api", "chg-1")  # names a change: subject must be it
    assert not t.matches("config_change", "api", "chg-2")
    assert TruthSpec("deploy", "api").matches("deploy", "api", "anything")
    svc = TruthSpec("deploy", "api", None, "service")
    assert svc.matches("unknown", "api", None)  # service only
    # an `unknown` truth names the alerting service: only "it starts there, cause
    # unknown" says that; a specific kind, or another service, does not
    unk = TruthSpec("unknown", "api")
    assert unk.matches("unknown", "api", "api")
    assert not unk.matches("deploy", "api", "chg-2")
    assert not unk.matches("unknown", "db", None)
    assert not TruthSpec("unknown", "").matches("unknown", "", None)
    ordered = [("db", "deploy", "c1"), ("db", "unknown", None), ("api", "network", "api")]
    assert truth_rank(svc, ordered) == 2  # services de-duplicated: db, api
    assert truth_rank(TruthSpec("network", "api"), ordered) == 3
    assert truth_rank(TruthSpec("deploy", "cache"), ordered) is None
    # the triage reads a topology in its series' spelling (`ibmmq` for `ibm-mq`): one
    # service in two spellings is matched; another name is not
    mq = TruthSpec("network", "ibm-mq")
    assert mq.matches("network", "ibmmq", "ibmmq") and mq.matches("network", "IBM_MQ", None)
    assert not mq.matches("network", "ibm-mq-2", None)
    assert truth_rank(TruthSpec("network", "ibm-mq", None, "service"), [("ibmmq", "x", None)]) == 1


def test_a_restating_unknown_is_not_listed_and_eval_grades_the_same_list() -> None:
    """`unknown` at a service that a specific hypothesis above it already names is
    folded; an unknown ranked first, or alone on its service, stays. The report and
    the evaluation list the same hypotheses in the same order."""
    from aisre_cli.investigate.rank import Candidate, Ranker, listing_order

    rows = [
        ("search", "dependency_failure", 9.0),
        ("search", "network", 8.7),
        ("search", "unknown", 6.9),  # restates search: folded
        ("es", "resource_saturation", 5.1),
        ("edge", "unknown", 3.9),  # nothing specific on edge above it: listed
        ("es", "unknown", 3.8),  # es named above: folded
    ]
    cands = [Candidate(s, k, None, f"{s} {k}", {}, [], score=sc) for s, k, sc in rows]  # type: ignore[arg-type]
    hyps, _ = Ranker(Weights.load()).to_hypotheses(cands, limit=10)
    listed = [(h.service, h.kind) for h in hyps]
    assert listed == [
        ("search", "dependency_failure"),
        ("search", "network"),
        ("es", "resource_saturation"),
        ("edge", "unknown"),
    ]
    keys = [(s, k, None) for s, k, _ in rows]
    assert [keys[i][:2] for i in listing_order(keys, [r[2] for r in rows])] == listed
    truth = TruthSpec("resource_saturation", "es", None)
    assert truth_rank(truth, [keys[i] for i in listing_order(keys, [r[2] for r in rows])]) == 3
    # an unknown ranked first is the verdict (it escalates): never folded
    first = [("api", "unknown", 9.0), ("api", "deploy", 8.0)]
    k2 = [(s, k, None) for s, k, _ in first]
    assert [k2[i][1] for i in listing_order(k2, [r[2] for r in first])] == ["unknown", "deploy"]


def _field(rows: list[tuple[str, str, float]], null: float = 2.0) -> tuple[list[float], float]:
    return softmax_with_null([(s, k, None) for s, k, _ in rows], [r[2] for r in rows], null)


FIVE = [
    ("pay", "deploy", 3.0),
    ("db", "resource_saturation", 1.0),
    ("cache", "unknown", 1.0),
    ("queue", "unknown", 1.0),
    ("edge", "unknown", 1.0),
]


def test_bystanders_below_the_list_do_not_dilute_the_confidence() -> None:
    """A system's size is not evidence: 30 faint services below the five listed leave
    the top suspect's confidence and "no cause" as they were."""
    alone, null_alone = _field(FIVE)
    # the bystanders come first: the list is by score, not by the order proposed
    big = [(f"svc{i}", "unknown", 0.5) for i in range(30)] + FIVE
    probs, null_p = _field(big)
    assert probs[30] == pytest.approx(alone[0]) and null_p == pytest.approx(null_alone)
    # the listed ones and "no cause" share it all; a bystander still orders below them
    assert sum(probs[30:]) + null_p == pytest.approx(1.0)
    assert 0.0 < probs[0] < min(probs[30:])
    # the field has its own scale, not the bystanders': the same with every one at 0.9
    probs9, _ = _field(FIVE + [(f"svc{i}", "unknown", 0.9) for i in range(30)])
    assert probs9[0] == pytest.approx(alone[0])


def test_a_listed_suspects_other_hypotheses_share_the_field() -> None:
    """Every candidate on a listed service is in the field, even one the list folds or
    that ranks below the fifth: its weight is that service's, not a bystander's."""
    base, _ = _field(FIVE)
    # a sixth candidate on a listed service (db) takes its share from the top
    with_db, _ = _field([*FIVE, ("db", "unknown", 0.9)])
    assert with_db[0] < base[0] - 0.01
    assert sum(with_db) + _field([*FIVE, ("db", "unknown", 0.9)])[1] == pytest.approx(1.0)
    # the same score on a sixth service does not
    with_new, _ = _field([*FIVE, ("other", "unknown", 0.9)])
    assert with_new[0] == pytest.approx(base[0])
    # the triage scores with the same function the evaluation grades
    cands = [
        Candidate(s, k, None, f"{s} {k}", {"anomaly": sc}, [])  # type: ignore[arg-type]
        for s, k, sc in [*FIVE, ("db", "unknown", 0.9)]
    ]
    null_p = Ranker(Weights(w={"anomaly": 1.0}, null_score=2.0, escalate_below=0.5)).score(cands)
    assert [c.prob for c in cands] == pytest.approx(with_db)
    assert null_p == pytest.approx(_field([*FIVE, ("db", "unknown", 0.9)])[1])


def test_calibration_buckets() -> None:
    ece, buckets = calibration([(0.95, True), (0.95, False), (0.15, False), (1.0, True)])
    assert len(buckets) == 10
    assert buckets[9].n == 3 and buckets[1].n == 1
    # bucket 9: conf 0.9667, acc 0.6667; bucket 1: conf 0.15, acc 0
    assert ece == pytest.approx(3 / 4 * (0.9667 - 0.6667) + 1 / 4 * 0.15, abs=1e-3)


def test_bucket_ece_is_the_ece_of_calibration() -> None:
    """The vectorised ECE behind the noise reference buckets exactly as `calibration`
    does, bucket edges included (0.3, 0.7 and 1.0 are float-awkward)."""
    rng = np.random.default_rng(3)
    conf = [0.0, 0.1, 0.3, 0.7, 0.9, 1.0, 0.29999999, 0.7000001, *rng.random(40).tolist()]
    for _ in range(5):
        right = (rng.random(len(conf)) < 0.6).tolist()
        ece, _ = calibration(list(zip(conf, right, strict=True)))
        got = bucket_ece(np.array(conf), np.array([right], dtype=np.float64))
        assert got.shape == (1,) and got[0] == pytest.approx(ece, abs=1e-12)


def test_calibration_noise_separates_noise_from_miscalibration() -> None:
    rng = np.random.default_rng(7)
    # 68 mid-range confidences, outcomes drawn from them: calibrated by construction,
    # and yet an ECE near .1 is ordinary on so few cases
    conf = rng.uniform(0.2, 0.9, 68)
    pairs = list(zip(conf.tolist(), (rng.random(68) < conf).tolist(), strict=True))
    ece, _ = calibration(pairs)
    nz = calibration_noise(pairs, ece)
    assert nz is not None
    assert 0.07 < nz.median < 0.15 and nz.p90 > nz.median
    assert nz.p_value > 0.05
    assert abs(nz.gap) < 3 * nz.gap_se
    # the same confidences (.55 on average), right only 40% of the time: overconfident,
    # and the ECE is far past what sampling gives
    wrong = list(
        zip(conf.tolist(), (rng.random(68) < 0.4 * conf / conf.mean()).tolist(), strict=True)
    )
    ece_w, _ = calibration(wrong)
    nz_w = calibration_noise(wrong, ece_w)
    assert nz_w is not None and ece_w > nz_w.p90 and nz_w.p_value < 0.05
    assert nz_w.gap > 2 * nz_w.gap_se  # overconfident: mean confidence above accuracy
    # underconfident: right every time at these confidences
    under = [(c, True) for c in conf.tolist()]
    nz_u = calibration_noise(under, calibration(under)[0])
    assert nz_u is not None and nz_u.gap < 0 and nz_u.p_value < 0.01
    # seeded: the report is reproducible; certain and right has no noise at all
    assert calibration_noise(pairs, ece) == nz
    sure = calibration_noise([(1.0, True)] * 20, 0.0)
    assert sure is not None and (sure.median, sure.p90, sure.gap, sure.gap_se) == (0, 0, 0, 0)
    assert sure.p_value == 1.0
    assert calibration_noise([], 0.0) is None


# ------------------------------------------------------------------ the evaluation


def test_discover_and_report_structure(eval_dir: Path) -> None:
    with_truth, without = discover(eval_dir)
    demo_truth = (DEMO / "truth.yaml").exists()
    demo_skipped = (DEMO / "bundle.yaml").exists() and not demo_truth
    assert sorted(p.name for p in without) == sorted(["no-truth"] + (["demo"] * demo_skipped))
    w = Weights.load()
    report = evaluate(eval_dir, weights=w, keep_features=True)
    s = report.summary
    names = {c.path for c in report.cases}
    assert {f"petshop/{n}" for n in PETSHOP_PICK} <= names
    assert "broken" in names and "petshop/unknown-copy" in names
    assert s.n == len(with_truth) == len(report.cases)
    # the broken bundle is an error row (counted as a miss), never a crash
    (broken,) = report.errors
    assert broken.path == "broken" and broken.error and "alerts.json" in broken.error
    assert s.n_errors == 1 and s.top1 < 1.0
    # unknown: a hit iff the verdict escalates
    (unk,) = [c for c in report.cases if c.path == "petshop/unknown-copy"]
    assert unk.top1 == unk.escalate and s.n_unknown == 1
    assert s.unknown_escalated == (1.0 if unk.escalate else 0.0)
    assert 0.0 <= s.top1 <= s.top3 <= 1.0 and s.top1 <= s.mrr <= 1.0
    assert len(s.buckets) == 10 and sum(b.n for b in s.buckets) == s.n - s.n_errors
    assert 0 < s.time_mean_s <= s.time_p95_s <= s.time_max_s
    assert sum(r.n for r in s.per_kind.values()) == s.n
    assert {"deploy", "config_change", "resource_saturation", "unknown"} <= set(s.per_kind)
    # re-ranking cached features with the same weights reproduces the engine's ranking
    for c in report.cases:
        if c.error is None:
            r = rank_case(c, w)
            assert (r.rank, r.escalate, r.top) == (c.rank, c.escalate, c.top), c.path
            assert r.confidence == pytest.approx(c.confidence, abs=1e-9)


def test_cli_json_is_stable(eval_dir: Path, tmp_path: Path) -> None:
    frozen = tmp_path / "w.json"  # one weights file for both runs
    Weights.load().save(frozen)
    args = ["eval", str(eval_dir), "--json", "--weights", str(frozen), "--allow-errors"]
    res = _runner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["schema"] == "aisre.eval/v1"
    assert set(body) >= {"summary", "cases", "errors", "skipped", "weights", "thresholds"}
    s = body["summary"]
    assert set(s) >= {
        "n",
        "errors",
        "top1",
        "top3",
        "mrr",
        "unknown",
        "known",
        "calibration",
        "per_kind",
        "time_s",
        "decision_accuracy",
        "confident_wrong",
        "service_level",
    }
    assert set(s["service_level"]) == {
        "n",
        "top1",
        "top3",
        "baselines",
        "best_baseline",
        "margin_top1",
    }
    assert set(s["confident_wrong"]) == {"n", "rate", "min_confidence"}
    assert s["confident_wrong"]["min_confidence"] == 0.8
    assert set(s["calibration"]) == {"ece", "buckets", "gap", "gap_se", "if_calibrated"}
    assert len(s["calibration"]["buckets"]) == 10
    assert set(s["calibration"]["if_calibrated"]) == {"median", "p90", "p_value"}
    assert set(s["time_s"]) == {"mean", "p95", "max"}
    case = body["cases"][0]
    assert set(case) >= {"path", "truth", "rank", "top1", "top3", "escalate", "confidence", "error"}
    assert set(case) >= {"service_rank", "baselines"}
    assert body["errors"] == [{"path": "broken", "error": body["errors"][0]["error"]}]
    assert "no-truth" in body["skipped"]
    # stable: the same input gives the same document (timings aside)
    again = json.loads(_runner().invoke(_app(), args).stdout)
    for d in (body, again):
        d.pop("elapsed_s")
        d["summary"].pop("time_s")
        for c in d["cases"]:
            c.pop("seconds")
    assert body == again


def test_cli_tables_and_threshold_exit_code(eval_dir: Path) -> None:
    runner = _runner()
    lax = "--allow-errors"  # the broken bundle is scored as a miss
    ok = runner.invoke(_app(), ["eval", str(eval_dir), "--min-top1", "0", "--min-top3", "0", lax])
    assert ok.exit_code == 0, ok.output
    assert "top-1" in ok.stdout and "per kind" in ok.stdout and "reliability" in ok.stdout
    assert "against naive baselines" in ok.stdout and "topology walk" in ok.stdout
    # the broken bundle is a miss, so top-1 < 1: a threshold of 1 must fail with exit 7
    bad = runner.invoke(_app(), ["eval", str(eval_dir), "--min-top1", "1.0", lax])
    assert bad.exit_code == ExitCode.THRESHOLD == 7
    assert "below threshold" in bad.stderr and "below threshold" not in bad.stdout
    js = runner.invoke(_app(), ["eval", str(eval_dir), "--json", "--min-top3", "1.0", lax])
    assert js.exit_code == 7
    assert json.loads(js.stdout)["thresholds"]["passed"] is False


def test_cli_bad_dir_is_a_usage_error(tmp_path: Path) -> None:
    from aisre_cli.errors import UsageError

    res = _runner().invoke(_app(), ["eval", str(tmp_path / "nope")])
    assert isinstance(res.exception, UsageError)


def test_cli_fit_writes_weights(eval_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "weights.json"
    args = ["eval", str(eval_dir), "--fit", "--folds", "2", "--json", "--weights-out", str(out)]
    args.append("--allow-errors")
    res = _runner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["fit"]["saved_to"] == str(out)
    assert body["thresholds"]["applied_to"] == "held_out"
    saved = json.loads(out.read_text())
    assert set(saved["weights"]) == set(FEATURES)
    meta = saved["meta"]
    assert meta["folds"] == 2 and "date" in meta and "suite" in meta
    assert set(meta["held_out"]) >= {"top1", "top3", "ece", "unknown_escalated"}
    w = Weights.load(out)
    assert 0.0 <= w.escalate_below <= 1.0


def _app() -> typer.Typer:
    from aisre_cli.ui.cli.app import app

    return app


def test_demo_bundle_evaluates(tmp_path: Path) -> None:
    """The shipped demo triages cleanly under `aisre eval` (a hit when it carries a truth)."""
    require(DEMO / "bundle.yaml", "demo bundle")
    shutil.copytree(DEMO, tmp_path / "demo")
    report = evaluate(tmp_path)
    assert not report.errors
    if (DEMO / "truth.yaml").exists():
        assert report.summary.n == 1 and report.cases[0].top1
    else:
        assert report.skipped == ["demo"]


# ------------------------------------------------------------------ the fit


def _synthetic(n_bundles: int, seed: int, true_w: np.ndarray, null: float) -> list[CaseResult]:
    """Bundles whose labels are drawn from the conditional logit with known weights."""
    rng = np.random.default_rng(seed)
    nf = len(FEATURES)
    cases: list[CaseResult] = []
    for b in range(n_bundles):
        n = int(rng.integers(3, 9))
        x = rng.uniform(0.0, 1.0, size=(n, nf))
        s = x @ true_w
        p = np.exp(np.append(s, null) - max(s.max(), null))
        p /= p.sum()
        pick = int(rng.choice(n + 1, p=p))
        keys = [(f"svc{b}-{i}", "deploy", f"c{i}") for i in range(n)]
        truth = (
            TruthSpec("unknown", "none")
            if pick == n
            else TruthSpec("deploy", keys[pick][0], keys[pick][2])
        )
        cases.append(
            CaseResult(
                path=f"b{b:03d}",
                id=f"b{b:03d}",
                truth=truth,
                features=CaseFeatures(keys=keys, rows=x.tolist()),
            )
        )
    return cases


def test_fit_recovers_a_known_ranking() -> None:
    nf = len(FEATURES)
    rng = np.random.default_rng(7)
    true_w = rng.normal(0.0, 3.0, size=nf)
    null = 0.5 * float(true_w.sum()) + 2.0  # some bundles have "no cause"
    train = _synthetic(1500, 1, true_w, null)
    test = _synthetic(300, 2, true_w, null)
    theta = fit_theta(make_items(train), l2=0.01)
    w_hat = theta[:nf]
    assert np.corrcoef(w_hat, true_w)[0, 1] > 0.95
    assert abs(theta[nf] - null) < 0.25 * max(1.0, abs(null))
    # held-out: the fitted ranking agrees with the true one
    items = make_items(test)
    fitted = predict(items, theta, 0.0)
    oracle = predict(items, np.append(true_w, null), 0.0)
    top_f = [c.top for c in fitted]
    top_o = [c.top for c in oracle]
    agree = sum(a == b for a, b in zip(top_f, top_o, strict=True)) / len(top_f)
    assert agree > 0.9
    known = [c for c in fitted if c.truth is not None and not c.truth.is_unknown]
    known_o = [c for c in oracle if c.truth is not None and not c.truth.is_unknown]
    assert summarize(known).top1 >= summarize(known_o).top1 - 0.03


def test_cv_fit_reports_held_out_numbers(tmp_path: Path) -> None:
    nf = len(FEATURES)
    true_w = np.linspace(-3.0, 4.0, nf)
    cases = _synthetic(150, 3, true_w, 2.0)
    res = cross_validate_fit(cases, folds=5, l2_grid=(0.01, 0.1, 1.0), suite="synthetic")
    assert [f.fold for f in res.folds] == [0, 1, 2, 3, 4]
    assert sum(f.n for f in res.folds) == res.held_out.n == 150
    # held-out is not better than training by construction of the data, roughly equal here
    assert res.held_out.top1 <= res.training.top1 + 0.05
    assert res.held_out.top1 > 0.5
    meta = res.weights.meta
    assert meta["folds"] == 5 and meta["suite"] == "synthetic"
    assert meta["held_out"]["top1"] == round(res.held_out.top1, 4)
    p = save(res, tmp_path / "w.json")
    assert Weights.load(p).w.keys() == set(FEATURES)
    # deterministic: same data, same folds, same weights
    again = cross_validate_fit(cases, folds=5, l2_grid=(0.01, 0.1, 1.0), suite="synthetic")
    assert again.weights.w == res.weights.w


def test_choose_threshold_separates_right_from_wrong() -> None:
    def case(conf: float, right: bool) -> CaseResult:
        t = TruthSpec("deploy", "a", None)
        return CaseResult(
            "p",
            "p",
            t,
            rank=1 if right else None,
            confidence=conf,
            top=("a" if right else "b", "deploy", None),
        )

    cases = [case(c, True) for c in (0.7, 0.8, 0.9)] + [case(c, False) for c in (0.2, 0.3, 0.5)]
    t = choose_threshold(cases)
    assert 0.5 < t < 0.7


def test_several_folders_and_symlinks(eval_dir: Path, tmp_path: Path) -> None:
    links = tmp_path / "mixed"
    links.mkdir()
    (links / "one").symlink_to(eval_dir / "petshop" / PETSHOP_PICK[0], target_is_directory=True)
    (links / "loop").symlink_to(links, target_is_directory=True)  # must not recurse forever
    report = evaluate([eval_dir / "petshop", links])
    assert set(report.by_dataset) == {"petshop", "mixed"}
    assert report.by_dataset["mixed"].n == 1
    assert "mixed/one" in {c.path for c in report.cases}
    assert report.summary.n == report.by_dataset["petshop"].n + 1


def test_sign_constraints_are_respected() -> None:
    nf = len(FEATURES)
    true_w = np.linspace(-3.0, 4.0, nf)
    items = make_items(_synthetic(200, 5, true_w, 2.0))
    # demand the opposite sign of the truth on the first two features
    signs = np.zeros(nf + 1)
    signs[0], signs[nf - 1] = 1.0, -1.0
    theta = fit_theta(items, l2=0.01, signs=signs)
    assert theta[0] >= 0.0 and theta[nf - 1] <= 0.0
    free = fit_theta(items, l2=0.01)
    assert free[0] < 0.0 and free[nf - 1] > 0.0


def test_an_unknown_truth_accepts_no_cause_or_unknown_at_the_alerting_service() -> None:
    """For an `unknown` truth both honest answers are in the label set: "no cause found"
    and "it starts at the alerting service, cause unknown" (both escalate); the
    likelihood is their summed probability, and the gradient is that of the loss."""
    from aisre_cli.investigate.fit import _nll_grad, _pack, log_loss

    nf = len(FEATURES)
    rng = np.random.default_rng(3)
    keys = [("api", "unknown", "api"), ("api", "deploy", "c1"), ("db", "unknown", "db")]
    x = rng.uniform(0.0, 1.0, size=(3, nf))
    case = CaseResult(
        "u", "u", TruthSpec("unknown", "api"), features=CaseFeatures(keys, x.tolist())
    )
    (it,) = make_items([case])
    assert it.label.tolist() == [True, False, False] and it.is_null
    theta = rng.normal(0.0, 0.5, nf + 1)
    s = np.append(x @ theta[:nf], theta[nf])
    p = np.exp(s - s.max())
    p /= p.sum()
    assert log_loss([it], theta) == pytest.approx(-np.log(p[0] + p[3]))
    known = CaseResult(
        "k", "k", TruthSpec("deploy", "api", "c1"), features=CaseFeatures(keys, x.tolist())
    )
    d = _pack(make_items([case, known]))
    _, g = _nll_grad(theta, d, 0.0)
    eps = 1e-6
    for j in range(nf + 1):
        e = np.zeros(nf + 1)
        e[j] = eps
        num = (_nll_grad(theta + e, d, 0.0)[0] - _nll_grad(theta - e, d, 0.0)[0]) / (2 * eps)
        assert g[j] == pytest.approx(num, abs=1e-5)


@pytest.mark.parametrize("true_crowd", [2.0, -2.0])
def test_diffuse_evidence_never_makes_a_cause_likelier(true_crowd: float) -> None:
    """`crowd` only trades the causes against "no cause"; however the data leans, a fit
    may make "no cause" likelier with it, never less likely (issue #10, item 7)."""
    nf = len(FEATURES)
    i = FEATURES.index("crowd")
    true_w = np.linspace(-3.0, 4.0, nf)
    true_w[i] = true_crowd
    items = make_items(_synthetic(200, 5, true_w, 2.0))
    theta = fit_theta(items, l2=0.01)
    assert theta[i] <= 0.0
    if true_crowd < 0:  # where the data agrees, the constraint does not bind
        assert theta[i] < -0.5


# ------------------------------------------------------------------ confident-wrong, match: service


def _case(
    conf: float, right: bool, escalate: bool = False, truth: TruthSpec | None = None
) -> CaseResult:
    t = truth or TruthSpec("deploy", "a", None)
    return CaseResult(
        "p",
        "p",
        t,
        rank=1 if right else None,
        escalate=escalate,
        confidence=conf,
        top=("a" if right else "b", "deploy", None),
    )


def test_confident_wrong_counts_only_trusted_wrong_answers() -> None:
    cases = [
        _case(0.9, False),  # confident, wrong, not escalated: counts
        _case(0.8, False),  # the boundary is inclusive
        _case(0.95, False, escalate=True),  # escalated: the engineer was told not to trust it
        _case(0.79, False),  # not confident enough
        _case(0.99, True),  # right
        _case(0.9, False, truth=TruthSpec("unknown", "none")),  # no cause, yet a sure answer
        CaseResult("e", "e", TruthSpec("deploy", "a"), error="boom"),  # errors: never confident
    ]
    assert [c.confident_wrong for c in cases] == [True, True, False, False, False, True, False]
    s = summarize(cases)
    assert s.n == 7 and s.n_confident_wrong == 3
    assert s.confident_wrong == pytest.approx(3 / 7)
    assert s.to_dict()["confident_wrong"] == {"n": 3, "rate": 0.4286, "min_confidence": 0.8}


def test_a_service_truth_grades_the_service_confidence() -> None:
    """`match: service` grades "the cause is in this service": the confidence graded (ECE,
    confident-wrong) is that claim's, every candidate on the service together, which
    is what the fit maximises for such a truth. An exact truth grades the hypothesis."""
    keys = [("a", "deploy", "d1"), ("a", "resource_saturation", "cpu"), ("b", "unknown", "b")]
    rows = [[0.0] * len(FEATURES) for _ in keys]
    w = Weights(w=dict.fromkeys(FEATURES, 0.0), null_score=-50.0, escalate_below=0.0)
    for match, graded in (("service", 2 / 3), (None, 1 / 3)):
        base = CaseResult(
            "p",
            "p",
            TruthSpec("deploy", "b", None, match),
            features=CaseFeatures(keys=keys, rows=rows),
        )
        r = rank_case(base, w)  # three equal scores: 1/3 each, "a" holds 2/3
        assert r.top is not None and r.top[0] == "a" and not r.top_correct
        assert r.confidence == pytest.approx(1 / 3, abs=1e-6)
        assert r.service_confidence == pytest.approx(2 / 3, abs=1e-6)
        assert r.graded_confidence == pytest.approx(graded, abs=1e-6)
        assert r.to_dict()["service_confidence"] == pytest.approx(0.6667, abs=1e-4)
    sure = _case(0.5, False, truth=TruthSpec("deploy", "a", None, "service"))
    sure.service_confidence = 0.85  # the hypothesis is unsure, its service is not
    assert sure.confident_wrong
    assert summarize([sure]).buckets[8].confidence == pytest.approx(0.85)


def test_match_service_ignores_a_kind_the_engine_does_not_have(tmp_path: Path) -> None:
    """nezha-ob labels causes `code_defect`: under `match: service` that is only a label."""
    t = TruthSpec("code_defect", "cart", None, "service")
    assert t.matches("resource_saturation", "cart", None) and t.matches("deploy", "cart", "c1")
    assert not t.matches("code_defect", "checkout", None)
    assert truth_rank(t, [("checkout", "network", None), ("cart", "deploy", "c1")]) == 2
    # the same bundle, its truth kind replaced by one the engine has never heard of
    require(PETSHOP / PETSHOP_PICK[0], "PetShop dataset")
    orig = tmp_path / "orig" / "b"
    shutil.copytree(PETSHOP / PETSHOP_PICK[0], orig)
    odd = tmp_path / "odd" / "b"
    shutil.copytree(orig, odd)
    text = (odd / "truth.yaml").read_text()
    assert "match: service" in text
    kind_line = next(x for x in text.splitlines() if x.strip().startswith("kind:"))
    (odd / "truth.yaml").write_text(text.replace(kind_line, "  kind: code_defect"))
    a = evaluate(tmp_path / "orig").cases[0]
    b = evaluate(tmp_path / "odd").cases[0]
    assert b.error is None and b.truth is not None and b.truth.kind == "code_defect"
    assert (b.rank, b.top, b.top1) == (a.rank, a.top, a.top1)
    assert "code_defect" in summarize([b]).per_kind


# ------------------------------------------------------------------ leave-one-dataset-out


def _shifted(seed: int) -> list[CaseResult]:
    """Three datasets. In `a` and `b` the labels follow the features through the same
    logit and feature 1 is always 0; in `c` the label follows feature 1 only (a signal
    the other systems never export). A model fit elsewhere cannot rank `c`; one that
    has seen `c` can."""
    nf = len(FEATURES)
    shared = np.linspace(-2.0, 3.0, nf)
    shared[1] = 0.0
    only_c = np.zeros(nf)
    only_c[1] = 8.0
    out: list[CaseResult] = []
    for j, name in enumerate(("a", "b", "c")):
        for c in _synthetic(60, seed + j, only_c if name == "c" else shared, 1.0):
            c.dataset = name
            c.path = f"{name}/{c.path}"
            if name != "c":
                assert c.features is not None
                for row in c.features.rows:
                    row[1] = 0.0
            out.append(c)
    return out


def test_lodo_never_uses_the_held_out_dataset() -> None:
    cases = _shifted(11)
    lo = leave_one_dataset_out(cases, folds=3, l2_grid=(0.03, 0.3))
    assert lo is not None
    assert [f.dataset for f in lo.folds] == ["a", "b", "c"]
    assert set(lo.by_dataset) == {"a", "b", "c"} and lo.held_out.n == 180
    assert lo.folds[2].inner == "leave-one-dataset-out over a, b"
    # relabel every bundle of `c`: its LODO predictions (top, confidence, escalation)
    # must not move, because neither the weights nor λ/threshold saw `c`
    flipped = []
    for c in cases:
        if c.dataset == "c":
            assert c.features is not None
            keys = c.features.keys
            c = CaseResult(
                c.path,
                c.id,
                TruthSpec("deploy", keys[-1][0], keys[-1][2]),
                features=c.features,
                dataset="c",
            )
        flipped.append(c)
    lo2 = leave_one_dataset_out(flipped, folds=3, l2_grid=(0.03, 0.3))
    assert lo2 is not None

    def view(r: list[CaseResult], ds: str) -> list[tuple[object, ...]]:
        return [(c.path, c.top, round(c.confidence, 9), c.escalate) for c in r if c.dataset == ds]

    assert view(lo2.cases, "c") == view(lo.cases, "c") != []
    # ...while the folds that trained on `c` did see the change (the test can fail)
    assert view(lo2.cases, "a") != view(lo.cases, "a")


def test_lodo_shows_the_shift_that_kfold_hides() -> None:
    res = cross_validate_fit(_shifted(21), folds=3, l2_grid=(0.03, 0.3), suite="shift")
    assert res.lodo is not None and res.headline is res.lodo.held_out
    kfold_c = res.held_out_by_dataset["c"].top1
    lodo_c = res.lodo.by_dataset["c"].top1
    assert lodo_c < kfold_c - 0.1, (lodo_c, kfold_c)
    # the shipped hyperparameters were chosen by leave-one-dataset-out over all three
    assert res.selection == "leave-one-dataset-out over a, b, c"
    meta = res.weights.meta
    assert set(meta["lodo_by_dataset"]) == {"a", "b", "c"}
    assert meta["lodo_by_dataset"]["c"]["top1"] == round(lodo_c, 4)
    assert "confident_wrong" in meta["lodo"]


def test_two_datasets_fall_back_to_kfold_inside() -> None:
    cases = [c for c in _shifted(31) if c.dataset != "c"]
    lo = leave_one_dataset_out(cases, folds=3, l2_grid=(0.1,))
    assert lo is not None
    assert [f.inner for f in lo.folds] == ["3-fold over b", "3-fold over a"]
    one = [c for c in cases if c.dataset == "a"]
    assert leave_one_dataset_out(one) is None  # nothing to leave out


def _held_at(items: list[Item], t: float) -> list[CaseResult]:
    """Leave-one-dataset-out predictions of `items` at λ 0.1 and temperature `t`."""
    out: list[CaseResult] = []
    for d in sorted({it.case.dataset for it in items}):
        train = [it for it in items if it.case.dataset != d]
        test = [it for it in items if it.case.dataset == d]
        out.extend(predict(test, fit_theta(train, 0.1) / t, 0.5))
    return out


def test_top_brier_weighs_each_dataset_the_same() -> None:
    def case(ds: str, conf: float, right: bool) -> CaseResult:
        c = _case(conf, right)
        c.dataset = ds
        return c

    # a: 3 right at .9 (each .01); b: 1 wrong at .5 (.25)
    cases = [case("a", 0.9, True)] * 3 + [case("b", 0.5, False)]
    assert top_brier(cases) == pytest.approx((0.01 + 0.25) / 2)
    assert top_brier(cases, by_dataset=False) == pytest.approx((3 * 0.01 + 0.25) / 4)
    assert top_brier([]) == 0.0


def test_temperature_is_chosen_on_held_out_data_and_folded_in() -> None:
    items = make_items(_shifted(41))
    plain = select_hyper(items, 3, (0.1,), (1.0,))
    assert plain.temperature == 1.0 and plain.method == "leave-one-dataset-out"
    hot = select_hyper(items, 3, (0.1,), DEFAULT_TEMPERATURES)
    assert hot.temperature in DEFAULT_TEMPERATURES
    # T is the one whose held-out top-hypothesis confidence scores best (Brier), and
    # the predictions it returns are those (the threshold is set on them)
    assert top_brier(hot.held_out) == pytest.approx(
        min(top_brier(_held_at(items, t)) for t in DEFAULT_TEMPERATURES), abs=1e-6
    )
    assert top_brier(hot.held_out) < top_brier(plain.held_out)  # T = 1 is in the grid
    # on these shifted datasets the fitted scale is overconfident elsewhere: T > 1
    assert hot.temperature > 1.0
    res = cross_validate_fit(
        _shifted(41), folds=3, l2_grid=(0.1,), temperatures=DEFAULT_TEMPERATURES
    )
    assert res.temperature == hot.temperature
    theta = fit_theta(items, 0.1) / res.temperature
    got = np.array([res.weights.w[k] for k in FEATURES if k != "memory_prior"])
    want = np.array([theta[i] for i, k in enumerate(FEATURES) if k != "memory_prior"])
    assert np.allclose(got, want, atol=1e-6)
    assert res.weights.null_score == pytest.approx(theta[len(FEATURES)], abs=1e-6)
    # the pinned memory prior is on the same scale: divided by T like every weight
    assert res.weights.w["memory_prior"] == pytest.approx(MEMORY_PRIOR_WEIGHT / res.temperature)


def test_calibration_sets_help_choose_the_temperature_and_are_never_fitted() -> None:
    """Datasets `a` and `b` are fitted; `c` (whose label follows a feature they never
    export) is only a calibration set: a model of `a` and `b` is often wrong there at
    whatever confidence, so with it the temperature chosen is higher (softer), as the
    held-out Brier score over `a`, `b` and `c` together says. The weights are still
    those fitted on `a` and `b` alone, only divided by that temperature."""
    cases = _shifted(41)
    fitted = [c for c in cases if c.dataset != "c"]
    cal = [replace(c, dataset="calibration/c") for c in cases if c.dataset == "c"]
    items, cal_items = make_items(fitted), make_items(cal)
    plain = select_hyper(items, 3, (0.1,), DEFAULT_TEMPERATURES)
    withcal = select_hyper(items, 3, (0.1,), DEFAULT_TEMPERATURES, calibration=cal_items)
    assert withcal.temperature > plain.temperature
    full = fit_theta(items, 0.1)

    def score(t: float) -> float:
        return top_brier(_held_at(items, t) + predict(cal_items, full / t, 0.5))

    assert score(withcal.temperature) == pytest.approx(
        min(score(t) for t in DEFAULT_TEMPERATURES), abs=1e-6
    )
    res = cross_validate_fit(
        fitted, folds=3, l2_grid=(0.1,), temperatures=DEFAULT_TEMPERATURES, calibration=cal
    )
    assert res.temperature == withcal.temperature
    assert "calibration bundles (calibration/c)" in res.selection
    theta = full / res.temperature
    got = np.array([res.weights.w[k] for k in FEATURES if k != "memory_prior"])
    want = np.array([theta[i] for i, k in enumerate(FEATURES) if k != "memory_prior"])
    assert np.allclose(got, want, atol=1e-6)
    assert res.lodo is not None and set(res.lodo.by_dataset) == {"a", "b"}


# ------------------------------------------------------------------ parallel, CLI


def test_parallel_evaluation_equals_serial(eval_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import aisre_cli.investigate.evaluate as ev

    monkeypatch.setattr(ev, "PARALLEL_MIN", 2)
    seen: list[int] = []
    serial = evaluate(eval_dir, jobs=1, keep_features=True)
    par = evaluate(eval_dir, jobs=2, keep_features=True, progress=lambda d, t, n: seen.append(d))
    assert sorted(seen) == list(range(1, len(serial.cases) + 1))

    def view(r: ev.EvalReport) -> list[tuple[object, ...]]:
        return [
            (c.path, c.rank, c.top, c.escalate, c.confidence, c.error, c.features) for c in r.cases
        ]

    assert view(par) == view(serial)


def test_cli_fit_with_two_folders_reports_lodo(eval_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for name in PETSHOP_PICK[:2]:
        (other / name).symlink_to(eval_dir / "petshop" / name, target_is_directory=True)
    out = tmp_path / "w.json"
    args = [
        "eval",
        str(eval_dir / "petshop"),
        str(other),
        "--fit",
        "--folds",
        "2",
        "--weights-out",
        str(out),
    ]
    res = _runner().invoke(_app(), [*args, "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["thresholds"]["applied_to"] == "lodo"
    lodo = body["fit"]["lodo"]
    assert set(lodo["by_dataset"]) == {"petshop", "other"}
    assert {f["dataset"] for f in lodo["folds"]} == {"petshop", "other"}
    for f in lodo["folds"]:
        assert set(f) == {"dataset", "n", "l2", "temperature", "escalate_below", "inner"}
    assert "confident_wrong" in lodo["by_dataset"]["other"]
    assert body["fit"]["selection"] == "leave-one-dataset-out over other, petshop"
    assert json.loads(out.read_text())["meta"]["lodo_by_dataset"].keys() == {"petshop", "other"}
    text = _runner().invoke(_app(), args)
    assert text.exit_code == 0, text.output
    assert "leave-one-dataset-out per folder" in text.stdout and "within-dataset" in text.stdout
    assert "conf-wrong" in text.stdout
    # the ECE beside what sampling alone gives, in the summary and per held-out folder
    assert "ECE from sampling alone" in text.stdout and "noise" in text.stdout
    assert "if_calibrated" in lodo["by_dataset"]["petshop"]["calibration"]


# ------------------------------------------------------------------ invalid input (QA pass)


def _demo_cases(root: Path, truths: dict[str, str | None]) -> Path:
    """Copies of the demo bundle under `root`, one per name, with the given truth.yaml
    text (None: keep the demo's own truth)."""
    require(DEMO / "truth.yaml", "demo bundle with a truth")
    for name, text in truths.items():
        shutil.copytree(DEMO, root / name)
        if text is not None:
            (root / name / "truth.yaml").write_text(text)
    return root


def test_invalid_truth_is_an_error_row_not_a_miss(tmp_path: Path) -> None:
    """A truth kind no hypothesis has (without `match: service`) and a `match` other than
    `service` are refused as `incident replay` refuses them: error rows naming the file,
    and no per-kind row for the bogus kind."""
    root = _demo_cases(
        tmp_path / "cases",
        {
            "ok": None,
            "bogus": "root_cause: {kind: bogus, service: payments}\n",
            "banana": "root_cause: {kind: deploy, service: payments}\nmatch: banana\n",
            "empty": "",
            "labelled": "root_cause: {kind: code_defect, service: payments}\nmatch: service\n",
            "upper": "root_cause: {kind: deploy, service: payments}\nmatch: Service\n",
        },
    )
    report = evaluate(root, jobs=1)
    by = {c.path: c for c in report.cases}
    assert by["ok"].error is None and by["labelled"].error is None and by["upper"].error is None
    assert by["labelled"].top1 and by["upper"].top1
    assert "truth.yaml: root_cause.kind: unknown kind 'bogus'" in (by["bogus"].error or "")
    assert "truth.yaml: match: expected 'service'" in (by["banana"].error or "")
    assert (by["empty"].error or "").endswith("truth.yaml: the file is empty")
    assert "bogus" not in report.summary.per_kind
    assert report.summary.n_errors == 3


def test_missing_alerts_and_unmatched_focus_say_so(tmp_path: Path) -> None:
    root = _demo_cases(tmp_path / "cases", {"noalerts": None, "focus": None, "none": None})
    (root / "noalerts" / "alerts.json").unlink()
    meta = root / "focus" / "bundle.yaml"
    meta.write_text(
        "\n".join(
            "focus_alert: NoSuchAlert" if x.startswith("focus_alert:") else x
            for x in meta.read_text().splitlines()
        )
    )
    (root / "none" / "alerts.json").write_text("[]")
    by = {c.path: c.error or "" for c in evaluate(root, jobs=1).cases}
    assert by["noalerts"].endswith("alerts.json: missing (required: the alerts of the incident)")
    assert "holds no alert" not in by["noalerts"]
    assert by["focus"].endswith(
        "bundle.yaml: focus_alert 'NoSuchAlert' matches no alert in alerts.json"
    )
    assert by["none"].endswith("alerts.json: holds no alert")


def test_cli_exits_2_listing_the_bundles_that_failed(tmp_path: Path) -> None:
    """Errors are not silent: a warning on stderr lists each failed bundle (path: reason)
    and the exit is 2 unless --allow-errors, which keeps exit 0 (they count as misses)."""
    root = _demo_cases(
        tmp_path / "cases", {"ok": None, "bogus": "root_cause: {kind: bogus, service: x}\n"}
    )
    res = _runner().invoke(_app(), ["eval", str(root), "--json", "-j", "1"])
    assert res.exit_code == ExitCode.USAGE == 2
    assert json.loads(res.stdout)["summary"]["errors"] == 1  # the report is still printed
    assert "1 of 2 bundle(s) could not be evaluated" in res.stderr
    assert "bogus: " in res.stderr and "unknown kind 'bogus'" in res.stderr
    assert "--allow-errors" in res.stderr
    lax = _runner().invoke(_app(), ["eval", str(root), "-j", "1", "--allow-errors"])
    assert lax.exit_code == 0, lax.output
    assert "could not be evaluated" in lax.stderr and "bogus: " in lax.stderr
    clean = _runner().invoke(_app(), ["eval", str(root / "ok"), "-j", "1"])
    assert clean.exit_code == 0 and "could not be evaluated" not in clean.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{bad", "invalid JSON at line 1 column 2"),
        ("{}", "weights: field required"),
        ("[1]", "expected a JSON object, got list"),
        ('{"weights": {"bogus": 1.0}}', "weights: unknown feature 'bogus'"),
        ('{"weights": {"anomaly": "x"}}', "weights.anomaly: input should be a valid number"),
        ('{"weights": {"anomaly": "1.5"}}', "weights.anomaly: input should be a valid number"),
        ('{"weights": {"anomaly": NaN}}', "weights.anomaly: input should be a finite number"),
        ('{"weights": {}, "escalate_below": 3}', "escalate_below: input should be less than"),
        ('{"weights": {}, "null_score": true}', "null_score: input should be a valid number"),
    ],
)
def test_a_malformed_weights_file_is_a_one_line_usage_error(
    tmp_path: Path, content: str, needle: str
) -> None:
    from tests.contract_servers.cli import run_cli

    w = tmp_path / "w.json"
    w.write_text(content)
    r = run_cli(["eval", str(DEMO), "--weights", str(w), "--json"])
    assert r.code == ExitCode.USAGE == 2, (r.code, r.err)
    assert "internal error" not in r.err and "Traceback" not in r.err
    lines = [x for x in r.err.splitlines() if x.strip()]
    assert lines[0].startswith("error: ") and str(w) in lines[0] and needle in lines[0], lines
    assert lines[1].startswith("hint: ") and len(lines) == 2


def test_a_weights_file_as_fit_writes_it_still_loads(tmp_path: Path) -> None:
    """Every file `Weights.save` writes (the shipped one included) passes the boundary
    model, and a partial one keeps the documented defaults."""
    from aisre_cli.investigate.rank import WEIGHTS_FILE

    shipped = Weights.load(WEIGHTS_FILE)
    p = tmp_path / "w.json"
    shipped.save(p)
    again = Weights.load(p)
    assert again.w == shipped.w and again.escalate_below == shipped.escalate_below
    p.write_text('{"weights": {"anomaly": 2}, "meta": {"note": "hand-made"}}')
    partial = Weights.load(p)
    assert partial.w["anomaly"] == 2.0 and partial.w["logs"] == 0.0
    assert partial.meta == {"note": "hand-made"}


def test_saving_weights_that_fails_midway_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`eval --fit` overwrites the weights every triage reads: a write stopped midway
    (Ctrl-C after a long fit, a full disk) must leave the old file, not half of one."""
    import os

    from aisre_cli.investigate.rank import WEIGHTS_FILE

    shipped = Weights.load(WEIGHTS_FILE)
    p = tmp_path / "w.json"
    shipped.save(p)
    before = p.read_bytes()
    changed = Weights.load(p)
    changed.w["anomaly"] = 9.0

    def full_disk(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        changed.save(p)
    assert p.read_bytes() == before


def test_misses_fit_a_narrow_terminal(tmp_path: Path) -> None:
    """On an 80-column terminal a long case name stays whole on one line (to be copied)
    and the truth and top hypothesis are not squeezed to a few letters: the misses
    become one block per case. A bundle that cannot be evaluated has its error folded,
    never cut."""
    name = "incident-2022-08-22T0410-frontend-cpu-contention-long-name"
    truth = "root_cause:\n  kind: resource_saturation\n  service: frontend-web\n"
    root = _demo_cases(tmp_path / "cases", {name: truth})
    res = CliRunner().invoke(_app(), ["eval", str(root)], env={"COLUMNS": "80"})
    assert res.exit_code in (0, 1), res.output
    lines = res.stdout.splitlines()
    assert max(len(x) for x in lines) <= 80
    block = lines[next(i for i, x in enumerate(lines) if x.startswith("misses")) :]
    assert name in block  # whole, on a line of its own
    assert "    truth: resource_saturation frontend-web (not ranked)" in block
    top = [x for x in block if x.startswith("    top:   deploy payments")]
    assert len(top) == 1 and top[0].endswith("(confidence 1.00)")
    # wide enough: the table, the name still whole on one line
    res = CliRunner().invoke(_app(), ["eval", str(root)], env={"COLUMNS": "140"})
    lines = res.stdout.splitlines()
    table = lines[next(i for i, x in enumerate(lines) if x.startswith("misses")) :]
    assert any(name in x and "resource_saturation" in x and "│" in x for x in table)
    # a bundle that cannot be evaluated: the error folds, nothing is cut
    (root / name / "truth.yaml").write_text("root_cause: {}\n")
    res = CliRunner().invoke(_app(), ["eval", str(root)], env={"COLUMNS": "80"})
    assert res.exit_code == 2
    lines = res.stdout.splitlines()
    table = lines[next(i for i, x in enumerate(lines) if x.startswith("errors")) :]
    assert "…" not in "".join(table) and any(name in x for x in table)


def test_kind_unknown_under_match_service_is_graded_by_its_service() -> None:
    """DESIGN.md: under `match: service` only the service is compared, whatever the
    kind says. A labelled root-cause service whose fault type was not named (`kind:
    unknown`, `match: service`, as an independent generator's code faults were labelled)
    was graded as an alert nothing explains: a hit only if the verdict escalated."""
    t = TruthSpec("unknown", "fraud-filter", match="service")
    assert not t.is_unknown and t.service_only
    assert t.matches("traffic_surge", "fraud-filter", None)
    assert not t.matches("unknown", "edge-api", None)
    plain = TruthSpec("unknown", "edge-api")
    assert plain.is_unknown and plain.matches("unknown", "edge-api", None)
    assert not plain.matches("deploy", "edge-api", "c1")
