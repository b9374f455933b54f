"""Regression gate: top-1 on each evaluation dataset may not drop more than 2 points
below `bench/baseline.json`. The baseline moves only through `python bench/update_baseline.py`
(a deliberate, reviewed change), never from a test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisre_cli.investigate.evaluate import evaluate
from tests.conftest import IN_CI, PETSHOP, REPO, SUITE

BASELINE = REPO / "bench" / "baseline.json"
TOLERANCE = 0.02
DATASETS = {"suite": SUITE, "petshop": PETSHOP}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_top1_does_not_regress(name: str) -> None:
    path: Path = DATASETS[name]
    if not path.exists():
        if IN_CI:
            pytest.fail(f"dataset {name} missing under CI: {path}")
        pytest.skip(f"dataset {name} not available at {path}")
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    if name not in baseline:
        pytest.fail(
            f"no baseline for {name} in {BASELINE.name}: run `python bench/update_baseline.py "
            f"{name}` and commit it"
        )
    base = baseline[name]
    report = evaluate(path)
    s = report.summary
    msg = (
        f"{name}: top-1 {s.top1:.3f} vs baseline {base['top1']:.3f} "
        f"(top-3 {s.top3:.3f} vs {base['top3']:.3f}; errors {s.n_errors}; n {s.n} vs {base['n']})"
    )
    assert s.top1 >= base["top1"] - TOLERANCE, "regression: " + msg
    assert s.n >= base["n"], f"fewer bundles evaluated than in the baseline: {msg}"
