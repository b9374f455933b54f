"""Trace blame alone as a root-cause ranker, per bundle of a dataset (default nezha-ob).

For each bundle: rank services by `trace_blame(spans, ref)` and report where the truth
service lands, whether any `TraceFinding` is produced, and AC@1/AC@3 over all bundles and
over the bundles with spans after the alert. `ref` is the split between before and after:
by default the engine's own choice (`analyze_context`'s metric onset, as triage passes it
to the trace analyzer), or a fixed offset from the alert with `--ref-offset`.

    python bench/trace_blame.py [DATASET_DIR] [--ref-offset SECONDS] [--verbose] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aisre_cli.investigate.analyzers.traces import analyze, trace_blame  # noqa: E402
from aisre_cli.sources.bundle import BundleSource  # noqa: E402

DEFAULT = REPO.parent / "shared" / "datasets" / "nezha-ob"


def engine_ref(path: Path) -> float:
    """The split time triage hands the trace analyzer (metric onset, as analyze_context)."""
    from aisre_cli.investigate.gather import gather, list_alerts, resolve_alert
    from aisre_cli.investigate.triage import analyze_context
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.registry import bundle_set

    srcs = bundle_set(path)
    alerts, _ = list_alerts(srcs, 20.0, None)
    assert srcs.bundle is not None
    alert = resolve_alert(alerts, srcs.bundle.meta.focus_alert or alerts[0].id)
    ctx = gather(srcs, alert, alerts)
    return analyze_context(ctx, Profile()).onset


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default=str(DEFAULT))
    ap.add_argument("--ref-offset", type=float, default=None, help="ref = alert + SECONDS")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    spent = 0.0
    n_spans = 0
    for d in sorted(p for p in Path(args.dataset).iterdir() if (p / "bundle.yaml").exists()):
        b = BundleSource(d)
        truth = b.truth()
        if truth is None:
            continue
        want = truth.root_cause.service
        alert = next((a for a in b.list_alerts() if a.id == b.meta.focus_alert), b.list_alerts()[0])
        at = alert.starts_at.timestamp()
        spans = b.fetch_spans(b.window.start, b.window.end)
        ref = at + args.ref_offset if args.ref_offset is not None else engine_ref(d)
        t0 = time.perf_counter()
        blame = trace_blame(spans, ref)
        found = analyze(spans, ref)
        spent += time.perf_counter() - t0
        n_spans += len(spans)
        order = sorted((s for s, v in blame.items() if v > 0), key=lambda s: -blame[s])
        rank = order.index(want) + 1 if want in order else None
        rows.append(
            {
                "bundle": d.name,
                "truth": want,
                "spans": len(spans),
                "after_alert": sum(1 for s in spans if s.start >= at),
                "ref_minus_alert": round(ref - at, 1),
                "rank": rank,
                "top": [(s, round(blame[s], 3)) for s in order[:3]],
                "findings": [(f.service, f.evidence_kind, f.strength) for f in found[:3]],
            }
        )

    def ac(sub: list[dict[str, object]], k: int) -> float:
        hits = sum(1 for r in sub if isinstance(r["rank"], int) and r["rank"] <= k)
        return hits / len(sub) if sub else 0.0

    after = [r for r in rows if r["after_alert"]]
    summary = {
        "bundles": len(rows),
        "with_spans_after_alert": len(after),
        "with_any_finding": sum(1 for r in rows if r["findings"]),
        "truth_top_finding": sum(
            1 for r in rows if r["findings"] and r["findings"][0][0] == r["truth"]
        ),
        "ac1_all": round(ac(rows, 1), 3),
        "ac3_all": round(ac(rows, 3), 3),
        "ac1_after": round(ac(after, 1), 3),
        "ac3_after": round(ac(after, 3), 3),
        "analyzer_ms_per_1k_spans": round(1000 * spent / max(1, n_spans) * 1000, 2),
    }
    if args.json:
        print(json.dumps({"summary": summary, "rows": rows}, indent=2))
        return 0
    for r in rows:
        if args.verbose or True:
            top = ", ".join(f"{s} {v:.2f}" for s, v in r["top"])  # type: ignore[attr-defined]
            fnd = ", ".join(f"{s}:{k}:{v:.2f}" for s, k, v in r["findings"])  # type: ignore[attr-defined]
            print(
                f"{r['bundle']:<28} {r['truth']:<22} after={r['after_alert']:>5} "
                f"ref{r['ref_minus_alert']:+7.0f}s rank={r['rank'] or '-':<2} | {top} | {fnd}"
            )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
