"""Trace blame alone as a root-cause ranker, per bundle of a dataset (default nezha-ob).

For each bundle: rank services by `trace_blame(spans, ref)` and report where the truth
service lands, whether any `TraceFinding` is produced, and AC@1/AC@3 over all bundles and
over the bundles with spans after the alert. `ref` is the split between before and after:
by default the engine's own choice (`page_ref` of `analyze_context`'s onset, as triage
passes it to the trace analyzer), or a fixed offset from the alert with `--ref-offset`.

    python bench/trace_blame.py [DATASET_DIR] [--ref-offset SECONDS] [--json]
    python bench/trace_blame.py --scale   # analyze() time for ~5k and ~100k spans

`--scale` copies the largest bundle's spans under new trace ids (same shapes, N times
the volume) and reports the median of 5 runs of `analyze` at each size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aisre_cli.investigate.analyzers.traces import (  # noqa: E402
    analyze,
    page_ref,
    trace_blame,
)
from aisre_cli.sources.bundle import BundleSource  # noqa: E402

DEFAULT = REPO.parent / "shared" / "datasets" / "nezha-ob"


@dataclass
class Row:
    bundle: str
    truth: str
    spans: int
    after_alert: int
    ref_minus_alert: float
    rank: int | None  # truth's place by trace blame; None when it has no blame
    top: list[tuple[str, float]]
    findings: list[tuple[str, str, float]]


def engine_ref(path: Path) -> float:
    """The split time triage hands the trace analyzer: `page_ref` of the engine's onset."""
    from aisre_cli.investigate.gather import gather, list_alerts, resolve_alert
    from aisre_cli.investigate.triage import analyze_context
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.registry import bundle_set

    srcs = bundle_set(path)
    alerts, _ = list_alerts(srcs, 20.0, None)
    assert srcs.bundle is not None
    alert = resolve_alert(alerts, srcs.bundle.meta.focus_alert or alerts[0].id)
    ctx = gather(srcs, alert, alerts)
    return page_ref(analyze_context(ctx, Profile()).onset, alert.starts_at.timestamp())


def scale(dataset: Path) -> int:
    import statistics
    from dataclasses import replace

    bundles = [p for p in dataset.iterdir() if (p / "traces" / "spans.jsonl").exists()]
    biggest = max(bundles, key=lambda p: (p / "traces" / "spans.jsonl").stat().st_size)
    b = BundleSource(biggest)
    base = b.fetch_spans(b.window.start, b.window.end)
    ref = b.list_alerts()[0].starts_at.timestamp() - 120
    out = {}
    for target in (5_000, 20_000, 100_000):
        k = max(1, round(target / len(base)))
        spans = [replace(s, trace_id=f"{s.trace_id}-{c}") for c in range(k) for s in base]
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            analyze(spans, ref)
            runs.append(time.perf_counter() - t0)
        out[len(spans)] = round(statistics.median(runs) * 1000, 1)
        print(f"{len(spans):>7} spans: analyze median {out[len(spans)]:.1f} ms", flush=True)
    print(json.dumps({"bundle": biggest.name, "ms_by_spans": out}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default=str(DEFAULT))
    ap.add_argument("--ref-offset", type=float, default=None, help="ref = alert + SECONDS")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--scale", action="store_true", help="time analyze() at 5k..100k spans")
    args = ap.parse_args()
    if args.scale:
        return scale(Path(args.dataset))
    rows: list[Row] = []
    spent = 0.0
    n_spans = 0
    for d in sorted(p for p in Path(args.dataset).iterdir() if (p / "bundle.yaml").exists()):
        b = BundleSource(d)
        truth = b.truth()
        if truth is None:
            continue
        alerts = b.list_alerts()
        alert = next((a for a in alerts if a.id == b.meta.focus_alert), alerts[0])
        at = alert.starts_at.timestamp()
        spans = b.fetch_spans(b.window.start, b.window.end)
        ref = at + args.ref_offset if args.ref_offset is not None else engine_ref(d)
        t0 = time.perf_counter()
        blame = trace_blame(spans, ref)
        found = analyze(spans, ref)
        spent += time.perf_counter() - t0
        n_spans += len(spans)
        order = sorted((s for s, v in blame.items() if v > 0), key=lambda s: -blame[s])
        want = truth.root_cause.service
        rows.append(
            Row(
                bundle=d.name,
                truth=want,
                spans=len(spans),
                after_alert=sum(1 for s in spans if s.start >= at),
                ref_minus_alert=round(ref - at, 1),
                rank=order.index(want) + 1 if want in order else None,
                top=[(s, round(blame[s], 3)) for s in order[:3]],
                findings=[(f.service, f.evidence_kind, f.strength) for f in found[:3]],
            )
        )

    def ac(sub: list[Row], k: int) -> float:
        return sum(1 for r in sub if r.rank is not None and r.rank <= k) / max(1, len(sub))

    after = [r for r in rows if r.after_alert]
    summary = {
        "bundles": len(rows),
        "with_spans_after_alert": len(after),
        "with_any_finding": sum(1 for r in rows if r.findings),
        "truth_top_finding": sum(1 for r in rows if r.findings and r.findings[0][0] == r.truth),
        "ac1_all": round(ac(rows, 1), 3),
        "ac3_all": round(ac(rows, 3), 3),
        "ac1_after": round(ac(after, 1), 3),
        "ac3_after": round(ac(after, 3), 3),
        "analyzer_ms_per_1k_spans": round(1000 * spent / max(1, n_spans) * 1000, 2),
    }
    if args.json:
        print(json.dumps({"summary": summary, "rows": [asdict(r) for r in rows]}, indent=2))
        return 0
    for r in rows:
        top = ", ".join(f"{s} {v:.2f}" for s, v in r.top)
        fnd = ", ".join(f"{s}:{k}:{v:.2f}" for s, k, v in r.findings)
        print(
            f"{r.bundle:<28} {r.truth:<22} after={r.after_alert:>5} "
            f"ref{r.ref_minus_alert:+7.0f}s rank={r.rank or '-':<2} | {top} | {fnd}"
        )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
