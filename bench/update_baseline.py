"""Write `bench/baseline.json`: the top-1/top-3 the regression gate compares against.

Run this only deliberately (after a reviewed change to the engine or the weights):

    python bench/update_baseline.py            # every dataset that is present
    python bench/update_baseline.py suite      # just one

`tests/test_regression_gate.py` fails when top-1 on a dataset drops more than
2 points below the value recorded here.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BASELINE = REPO / "bench" / "baseline.json"
DATASETS: dict[str, Path] = {
    "suite": REPO / "scenarios" / "suite",
    "petshop": REPO.parent / "shared" / "datasets" / "petshop",
}


def measure(path: Path) -> dict[str, object]:
    from aisre_cli.investigate.evaluate import evaluate

    report = evaluate(path)
    s = report.summary
    return {
        "n": s.n,
        "errors": s.n_errors,
        "top1": round(s.top1, 4),
        "top3": round(s.top3, 4),
        "mrr": round(s.mrr, 4),
        "unknown_escalated": None if s.unknown_escalated is None else round(s.unknown_escalated, 4),
        "ece": round(s.ece, 4),
        "weights_date": report.weights_meta.get("date"),
        "measured": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="*", help=f"any of {', '.join(DATASETS)} (default: all)")
    args = ap.parse_args(argv)
    names = args.datasets or list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        ap.error(f"unknown dataset {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    current = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    for name in names:
        path = DATASETS[name]
        if not path.exists():
            print(f"{name}: {path} not found, kept as is", file=sys.stderr)
            continue
        new = measure(path)
        old = current.get(name, {})
        print(
            f"{name}: top-1 {old.get('top1', '-')} -> {new['top1']}, "
            f"top-3 {old.get('top3', '-')} -> {new['top3']} (n={new['n']})"
        )
        current[name] = new
    BASELINE.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    print(f"wrote {BASELINE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
