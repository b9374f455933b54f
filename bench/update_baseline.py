"""Write `bench/baseline.json`: the numbers the regression gate compares against.

Run this only deliberately (after a reviewed change to the engine or the weights):

    python bench/update_baseline.py            # every dataset that is present
    python bench/update_baseline.py suite      # just one (LODO still fits on all)

Per dataset it records the evaluation with the shipped weights (top-1, top-3, MRR,
ECE, confident-wrong, ...) and the leave-one-dataset-out numbers (`lodo`: fit on
the other datasets, λ/temperature/threshold chosen without this one, as
`aisre eval --fit --temperature` does). LODO needs
every dataset; when one is missing the stored `lodo` entries are kept as they are.

`tests/test_regression_gate.py` fails when top-1, or LODO top-1/top-3, on a dataset
drops more than 2 points below the value recorded here.

`heldout` (scenarios/heldout, the independently written generator's set) is recorded
with the shipped weights only: it is never fitted on, so it is not in `DATASETS` and
has no LODO entry.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BASELINE = REPO / "bench" / "baseline.json"
HELDOUT = REPO / "scenarios" / "heldout"
DATASETS: dict[str, Path] = {
    "suite": REPO / "scenarios" / "suite",
    "petshop": REPO.parent / "shared" / "datasets" / "petshop",
    "nezha-ob": REPO.parent / "shared" / "datasets" / "nezha-ob",
}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def numbers(s: Any) -> dict[str, Any]:
    """The stored numbers of one evaluation `Summary`."""
    return {
        "n": s.n,
        "errors": s.n_errors,
        "top1": _r(s.top1),
        "top3": _r(s.top3),
        "mrr": _r(s.mrr),
        "unknown_escalated": _r(s.unknown_escalated),
        "ece": _r(s.ece),
        "confident_wrong": _r(s.confident_wrong),
        "service_level": s.service.to_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="*", help=f"any of {', '.join(DATASETS)} (default: all)")
    args = ap.parse_args(argv)
    names = args.datasets or list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        ap.error(f"unknown dataset {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    from aisre_cli.investigate.evaluate import evaluate
    from aisre_cli.investigate.fit import DEFAULT_TEMPERATURES, leave_one_dataset_out

    current = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    present = {n: p for n, p in DATASETS.items() if p.exists()}
    for name in names:
        if name not in present:
            print(f"{name}: {DATASETS[name]} not found, kept as is", file=sys.stderr)
    if not present:
        return 1
    # one triage pass over every dataset: the plain numbers and every LODO fit share it
    report = evaluate(list(present.values()), keep_features=True)
    # λ and the temperature chosen as `aisre eval --fit --temperature` (the headline) does
    lodo = (
        leave_one_dataset_out(report.cases, temperatures=DEFAULT_TEMPERATURES)
        if len(present) == len(DATASETS)
        else None
    )
    if lodo is None:
        print("not every dataset is present: LODO numbers kept as they are", file=sys.stderr)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in names:
        if name not in present:
            continue
        s = report.by_dataset.get(name, report.summary)
        old = current.get(name, {})
        new: dict[str, Any] = numbers(s)
        new["weights_date"] = report.weights_meta.get("date")
        new["measured"] = now
        if lodo is not None:
            new["lodo"] = numbers(lodo.by_dataset[name])
        elif "lodo" in old:
            new["lodo"] = old["lodo"]
        print(
            f"{name}: top-1 {old.get('top1', '-')} -> {new['top1']}, "
            f"top-3 {old.get('top3', '-')} -> {new['top3']} (n={new['n']})"
            + (
                f"; LODO top-1 {old.get('lodo', {}).get('top1', '-')} -> {new['lodo']['top1']}, "
                f"top-3 {old.get('lodo', {}).get('top3', '-')} -> {new['lodo']['top3']}"
                if "lodo" in new
                else ""
            )
        )
        current[name] = new
    if HELDOUT.exists() and not args.datasets:
        held = evaluate(HELDOUT)
        new = numbers(held.summary)
        new["weights_date"] = held.weights_meta.get("date")
        new["measured"] = now
        print(f"heldout: top-1 {current.get('heldout', {}).get('top1', '-')} -> {new['top1']}")
        current["heldout"] = new
    BASELINE.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    print(f"wrote {BASELINE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
