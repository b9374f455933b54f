"""Regression gate: on each evaluation dataset, top-1 with the shipped weights, and the
leave-one-dataset-out (LODO) top-1 and top-3, may not drop more than 2 points below
`bench/baseline.json`; and on each dataset left out, the engine's service-level AC@1
must beat the best naive baseline (`investigate/baselines.py`) outright. The baseline
moves only through `python bench/update_baseline.py` (a deliberate, reviewed change),
never from a test.

One test does it all: the datasets are triaged once (feature extraction per bundle is the
costly part, spread over worker processes) and every LODO fit reuses the cached candidate
features, so the gate never triages a bundle twice (nor in two xdist workers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisre_cli.investigate.evaluate import evaluate
from aisre_cli.investigate.fit import DEFAULT_TEMPERATURES, leave_one_dataset_out
from tests.conftest import IN_CI, PETSHOP, REPO, SUITE

BASELINE = REPO / "bench" / "baseline.json"
TOLERANCE = 0.02
NEZHA = REPO.parent / "shared" / "datasets" / "nezha-ob"
DATASETS = {"suite": SUITE, "petshop": PETSHOP, "nezha-ob": NEZHA}


def test_ranking_does_not_regress() -> None:
    present: dict[str, Path] = {}
    for name, path in DATASETS.items():
        if path.exists():
            present[name] = path
        elif IN_CI:
            pytest.fail(f"dataset {name} missing under CI: {path}")
    if not present:
        pytest.skip("no evaluation dataset available")
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    missing = [n for n in present if n not in baseline or "lodo" not in baseline[n]]
    if missing:
        pytest.fail(
            f"no baseline for {', '.join(missing)} in {BASELINE.name}: run "
            f"`python bench/update_baseline.py` and commit it"
        )
    report = evaluate(list(present.values()), keep_features=True)
    assert set(report.by_dataset) == set(present) or len(present) == 1
    fails: list[str] = []
    notes: list[str] = []
    for name in present:
        s = report.by_dataset.get(name, report.summary)
        base = baseline[name]
        notes.append(
            f"{name}: top-1 {s.top1:.3f} vs {base['top1']:.3f}, top-3 {s.top3:.3f} vs "
            f"{base['top3']:.3f}, errors {s.n_errors}, n {s.n} vs {base['n']}"
        )
        if s.top1 < base["top1"] - TOLERANCE:
            fails.append(f"{name}: top-1 {s.top1:.3f} < baseline {base['top1']:.3f}")
        if s.n < base["n"]:
            fails.append(f"{name}: {s.n} bundles evaluated, baseline has {base['n']}")
    if len(present) == len(DATASETS):
        # as `aisre eval --fit --temperature` (the headline) chooses λ and T
        lodo = leave_one_dataset_out(report.cases, temperatures=DEFAULT_TEMPERATURES)
        assert lodo is not None
        assert set(lodo.by_dataset) == set(DATASETS)
        for name, s in sorted(lodo.by_dataset.items()):
            base = baseline[name]["lodo"]
            notes.append(
                f"{name} LODO: top-1 {s.top1:.3f} vs {base['top1']:.3f}, "
                f"top-3 {s.top3:.3f} vs {base['top3']:.3f}"
            )
            for key, now in (("top1", s.top1), ("top3", s.top3)):
                if now < base[key] - TOLERANCE:
                    fails.append(f"{name}: LODO {key} {now:.3f} < baseline {base[key]:.3f}")
            sl = s.service
            best = sl.best_baseline
            assert best is not None and sl.n > 0
            notes.append(
                f"{name} LODO service AC@1 {sl.top1:.3f}, best naive ({best}) "
                f"{sl.baselines[best][0]:.3f}"
            )
            if sl.margin is None or sl.margin <= 0:
                fails.append(
                    f"{name}: LODO service AC@1 {sl.top1:.3f} does not beat the naive "
                    f"{best} baseline ({sl.baselines[best][0]:.3f})"
                )
    assert not fails, "regression: " + "; ".join(fails) + "\n" + "\n".join(notes)


HELDOUT = REPO / "scenarios" / "heldout"


def test_heldout_set_does_not_regress() -> None:
    """scenarios/heldout is never fitted on: evaluated with the shipped weights, its
    top-1/top-3 may not drop more than 2 points below the baseline, and the engine must
    beat the best naive baseline on it."""
    baseline = json.loads(BASELINE.read_text())
    assert "heldout" in baseline, "run `python bench/update_baseline.py` and commit it"
    base = baseline["heldout"]
    s = evaluate(HELDOUT).summary
    note = (
        f"heldout: top-1 {s.top1:.3f} vs {base['top1']:.3f},"
        f" top-3 {s.top3:.3f} vs {base['top3']:.3f}"
    )
    assert s.n == base["n"] and s.n_errors == 0, note
    assert s.top1 >= base["top1"] - TOLERANCE, note
    assert s.top3 >= base["top3"] - TOLERANCE, note
    assert s.service.margin is not None and s.service.margin > 0, (note, s.service.to_dict())
