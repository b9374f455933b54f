"""Generate the evaluation suite of incident bundles (`scenarios/suite/`).

    .venv/bin/python scripts/gen_scenarios.py [--out scenarios/suite] [--seed N]
                                              [--only ID[,ID...]]

Each bundle is drawn from its own `random.Random(seed * 1000 + index)`, so a subset can
be regenerated alone (`--only`, used by the drift test) and the same seed always gives
byte-identical files. The plan (which kind on which topology, in which order) is a
fixed, shuffled list; bundle ids name the topology and a number, never the kind.
Writes `MANIFEST.json` (id -> kind, topology, distractors...) next to the bundles and,
for a full run into the default folder, the distribution table in `scenarios/README.md`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenario_lib as sl  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "scenarios" / "suite"
DEFAULT_SEED = 20240611
PER_KIND = 11
UNKNOWN = 12


def plan(seed: int) -> list[tuple[str, str, str, int]]:
    """(bundle id, kind, topology, per-bundle seed), in a fixed order."""
    topos = list(sl.SUITE_TOPOLOGIES)
    items: list[tuple[str, str]] = []
    for k, kind in enumerate(sl.ALL_KINDS):
        count = UNKNOWN if kind == "unknown" else PER_KIND
        for i in range(count):
            items.append((kind, topos[(i + k) % len(topos)]))
    random.Random(seed).shuffle(items)
    out = []
    counters: Counter[str] = Counter()
    for index, (kind, topo) in enumerate(items):
        counters[topo] += 1
        bid = f"{topo}-{counters[topo]:03d}"
        out.append((bid, kind, topo, seed * 1000 + index))
    return out


def generate(out: Path, seed: int, only: set[str] | None = None) -> dict[str, dict]:
    manifest: dict[str, dict] = {}
    out.mkdir(parents=True, exist_ok=True)
    if only is None:
        for child in sorted(out.iterdir()):
            if child.is_dir() and (child / "bundle.yaml").exists():
                shutil.rmtree(child)
    for bid, kind, topo, bseed in plan(seed):
        if only is not None and bid not in only:
            continue
        spec = sl.Spec(bundle_id=bid, seed=bseed, topo=sl.SUITE_TOPOLOGIES[topo], kind=kind)
        built = sl.build(spec)
        size = built.write(out / bid)
        info = dict(built.info)
        info["bytes"] = size
        manifest[bid] = info
    if only is None:
        (out / "MANIFEST.json").write_text(sl.dump_json(manifest, indent=2))
    return manifest


def readme(manifest: dict[str, dict], seed: int) -> str:
    kinds = list(sl.ALL_KINDS)
    topos = list(sl.SUITE_TOPOLOGIES)
    table = [
        "| kind | " + " | ".join(topos) + " | total |",
        "| --- | " + " | ".join("---:" for _ in topos) + " | ---: |",
    ]
    for k in kinds:
        row = [
            sum(1 for m in manifest.values() if m["kind"] == k and m["topology"] == t)
            for t in topos
        ]
        table.append(f"| {k} | " + " | ".join(str(x) for x in row) + f" | {sum(row)} |")
    tot = [sum(1 for m in manifest.values() if m["topology"] == t) for t in topos]
    table.append("| **all** | " + " | ".join(str(x) for x in tot) + f" | {len(manifest)} |")
    dist = Counter(d for m in manifest.values() for d in m["distractors"])
    dtable = ["| distractor | bundles |", "| --- | ---: |"]
    for d, c in sorted(dist.items()):
        dtable.append(f"| {d} | {c} |")
    size = sum(m["bytes"] for m in manifest.values())
    topo_lines = []
    for name, t in sl.SUITE_TOPOLOGIES.items():
        topo_lines.append(
            f"- **{name}** (namespace `{t.namespace}`): {len(t.names)} services, "
            f"call depth {t.depth()}: " + ", ".join(f"`{n}`" for n in t.names)
        )
    return TEMPLATE.format(
        n=len(manifest),
        seed=seed,
        table="\n".join(table),
        dtable="\n".join(dtable),
        size=f"{size / 1e6:.1f}",
        topologies="\n".join(topo_lines),
    )


TEMPLATE = """# Evaluation scenarios

`suite/` holds {n} synthetic incident bundles in the *Incident bundle v1* format
(see `../../shared/DESIGN.md` in the project handbook, or the reader in
`aisre_cli/sources/bundle.py`). Each bundle freezes what an on-call engineer would see
for one page: `alerts.json` (Alertmanager v2), `metrics/*.json` (Prometheus
`query_range` bodies) plus `metrics/queries.yaml`, `logs/*.jsonl`, `changes.json`,
`topology.yaml`, sometimes `traces/spans.jsonl`, and the evaluation-only `truth.yaml`.
`suite/MANIFEST.json` lists, per bundle id, the kind, topology, root and paged service,
magnitude and the distractors used; it is for evaluation reports only and must never be
read by the engine.

## Regenerate

```
.venv/bin/python scripts/gen_scenarios.py               # whole suite, seed {seed}
.venv/bin/python scripts/gen_scenarios.py --only webshop-001 --out /tmp/x
.venv/bin/python scripts/gen_demo.py                     # the shipped demo bundle
```

The generators are deterministic (one `random.Random` per bundle, no wall clock, fixed
float formatting, sorted keys); `tests/test_generators.py` regenerates the demo and a
few suite bundles and fails on any byte of drift. Shared code lives in
`scripts/scenario_lib.py`.

## What the suite covers

Every hypothesis kind of the closed taxonomy, plus `unknown` (an alert fires but nothing
explains it: the honest answer is to escalate; the truth then names the alerting
service). Kind by topology:

{table}

Total size: {size} MB.

Topologies:

{topologies}

How each kind shows up (always at the root first, then in its callers, later and weaker
per hop):

- **deploy**: a `deploy` change on the root 1-15 min before onset, new pods (new
  ReplicaSet hash in `pod`), errors and/or latency rising as a ramp or step, and a new
  ERROR log template at the root that never appeared before the deploy.
- **config_change**: a `config` or `flag` change on the root before onset (client timeout
  cut, pool size cut, feature flag rollout) and a matching new template.
- **resource_saturation**: CPU near its limit (container or node), JVM heap and
  container memory climbing to the limit (GC overhead), HikariCP pool exhausted after a
  connection leak, free disk falling to zero on a datastore, or database connection
  slots used up; the saturation starts before the symptoms.
- **dependency_failure**: a datastore, cache or queue goes away (`up` or `pg_up` /
  `redis_up` / `mysql_up` to 0, its own series stop, its logs stop); callers log
  connection refused; a dead cache mostly shows as latency (fallback to the database).
- **traffic_surge**: request rate at the entry service jumps 3-8x (and follows down the
  call graph) minutes before latency and errors rise at a bottleneck; no change on the
  path; an autoscaler reaction may follow.
- **crash_loop**: `kube_pod_container_status_restarts_total` stepping up with
  CrashLoopBackOff back-off, `kube_pod_container_status_waiting_reason`, gaps in the
  root's own series, panics or OOMKilled, kubelet back-off lines; callers see 503s.
- **certificate_expiry**: `probe_ssl_earliest_cert_expiry` of the root equals the onset,
  `probe_success` drops to 0, callers log x509 / PKIX / CERT_HAS_EXPIRED errors and the
  root's own request rate drops (handshakes fail before HTTP).
- **network**: packet drops and TCP retransmits on the root's node, latency spikes,
  callers log i/o timeouts, connection resets and no route to host.

Variation per bundle: root position (leaf or middle), onset time, magnitude (`subtle`
2-3x, `medium`, `strong`), step (15/30/60 s), window length, paged service (often one
or two hops above the root, sometimes the root), noise level, metric file stems and
quantile (p90/p95/p99, error ratio or error rate), service label (`service`, `job`,
`app`, or mixed per file), log timestamp format (RFC 3339 with and without fractions,
nanoseconds, unix seconds, unix milliseconds, or mixed per service), logger level
spelling (`ERROR`, `error`, `WARNING`, `FATAL`, `LOG`, ...).

Distractors (many bundles carry several):

{dtable}

- `innocent_deploy` / `innocent_config`: changes off the fault path shortly before onset
  (sometimes closer to onset than the real one);
- `hotfix_after_onset`: a deploy on the paged service after the page;
- `old_root_deploy`: a deploy of the root hours or days before onset;
- `unrelated_spike`: a short latency/error bump on an unrelated service well before
  onset;
- `preexisting_crashloop`: a worker that has been crash looping all along;
- `cert_expiring_soon`: an innocent certificate expiring in a few days;
- `scale_event`: an autoscaler change after onset;
- `alert_storm`: 4-10 alerts on several services (symptoms, an inhibited twin, silenced
  and unrelated alerts); `focus_alert` names the page;
- `background_log_noise`: steady ERROR/WARN templates before and after onset;
- `prompt_injection`: steady ERROR lines on an innocent service that tell the reader to
  blame another innocent service and run a rollback. They are data, never instructions.

Alerts fire after onset as real rules do (threshold plus a `for:` of 1-5 min), the
baseline before onset has at least 30 points, and every bundle stays under 150 KB.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--only", default=None, help="comma-separated bundle ids")
    ap.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="where to write the README (default: scenarios/README.md for a "
        "full run into the default folder)",
    )
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    manifest = generate(args.out, args.seed, only)
    readme_path = args.readme
    if readme_path is None and only is None and args.out.resolve() == DEFAULT_OUT:
        readme_path = REPO / "scenarios" / "README.md"
    if readme_path is not None:
        readme_path.write_text(readme(manifest, args.seed))
    kinds = Counter(m["kind"] for m in manifest.values())
    size = sum(m["bytes"] for m in manifest.values())
    print(
        f"wrote {len(manifest)} bundles ({size / 1e6:.2f} MB) to {args.out}: "
        + ", ".join(f"{k}={kinds[k]}" for k in sl.ALL_KINDS if kinds[k]),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
