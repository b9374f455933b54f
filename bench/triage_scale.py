"""Scale benchmark: triage time and peak memory against a json-parse floor.

Generates incident bundles (in a temp dir) with 10k, 100k and 1M log lines and
100, 1,000 and 5,000 metric series: ten services on a call graph, a bad deploy of
one service that starts errors and latency there and in its callers, background
WARN/ERROR noise before the onset, JSON log lines with the extra keys real services
write (trace_id, span_id, pod, http fields, user agent...), RFC 3339 timestamps with
milliseconds (epoch milliseconds on one service), and metric names from common
exporters (HTTP server histograms, cAdvisor, kube-state-metrics, node exporter,
blackbox exporter, process collectors). A second kind of bundle, "distinct", holds
only ERROR lines of which no two share a template (the log templater's worst case).

Each triage runs in its own subprocess (`aisre_cli.investigate.triage.run_triage` on
the bundle's focus alert), which reports its wall time (imports excluded) and its
peak RSS (`getrusage(RUSAGE_SELF).ru_maxrss`). The floor, also in a subprocess, is
the time Python's `json.loads` takes to parse every log line of the same bundle.

    python bench/triage_scale.py                # the table
    python bench/triage_scale.py --json
    python bench/triage_scale.py --quick        # 10k and 100k lines only
    python bench/triage_scale.py --profile      # cProfile the 1M x 1000 triage
    python bench/triage_scale.py --profile-distinct
    python bench/triage_scale.py --sizes 300000dx1000   # one distinct-lines case
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (log lines, series, kind): "mixed" is a realistic service log mix (mostly info/debug,
# a few templates repeated many times); "distinct" is every line an ERROR with a template
# of its own (no repeats), the templater's worst case.
Case = tuple[int, int, str]
SIZES: list[Case] = [
    (10_000, 100, "mixed"),
    (10_000, 1_000, "mixed"),
    (100_000, 1_000, "mixed"),
    (1_000_000, 1_000, "mixed"),
    (1_000_000, 5_000, "mixed"),
    (100_000, 1_000, "distinct"),
    (1_000_000, 1_000, "distinct"),
]
QUICK: list[Case] = [
    (10_000, 100, "mixed"),
    (10_000, 1_000, "mixed"),
    (100_000, 1_000, "mixed"),
    (100_000, 1_000, "distinct"),
]
# acceptance: triage / floor
LIMITS = {"mixed": 1.5, "distinct": 3.0}
RSS_LIMIT_MB = 600.0

T0 = 1_764_150_000  # window start (unix s)
WINDOW_S = 80 * 60
STEP_S = 15
ONSET = T0 + 45 * 60  # errors start at the faulty service
DEPLOY = ONSET - 4 * 60  # the bad deploy
ALERT = ONSET + 3 * 60

TOPOLOGY: dict[str, list[str]] = {
    "frontend": ["checkout", "cart", "catalog", "auth"],
    "checkout": ["payments", "cart", "inventory", "orders-db"],
    "cart": ["redis"],
    "catalog": ["search", "orders-db"],
    "payments": ["orders-db", "auth"],
    "inventory": ["orders-db"],
    "auth": ["redis"],
    "search": [],
    "orders-db": [],
    "redis": [],
}
SERVICES = list(TOPOLOGY)
FAULTY = "payments"
AFFECTED = {"payments": 1.0, "checkout": 0.6, "frontend": 0.35}  # error share after onset
EPOCH_MS_SERVICE = "inventory"  # this one logs epoch milliseconds
# share of log volume per service
VOLUME = {
    "frontend": 0.22,
    "checkout": 0.14,
    "cart": 0.12,
    "catalog": 0.14,
    "payments": 0.08,
    "inventory": 0.07,
    "auth": 0.1,
    "search": 0.06,
    "orders-db": 0.04,
    "redis": 0.03,
}

# metric name, family of values, label style
METRICS: list[tuple[str, str]] = [
    ("http_server_requests_seconds_count", "counter_rps"),
    ("http_server_requests_seconds_bucket", "latency_bucket"),
    ("http_server_errors_total", "errors"),
    ("container_cpu_usage_seconds_total", "cpu"),
    ("container_memory_working_set_bytes", "memory"),
    ("kube_pod_container_status_restarts_total", "restarts"),
    ("node_filesystem_avail_bytes", "disk"),
    ("process_open_fds", "fds"),
    ("probe_success", "probe"),
    ("probe_duration_seconds", "probe_latency"),
    ("go_goroutines", "gauge"),
    ("db_client_connections_usage", "connections"),
]
ROUTES = [
    "/",
    "/api/cart",
    "/api/checkout",
    "/api/products",
    "/api/login",
    "/api/pay",
    "/api/orders",
    "/api/search",
    "/healthz",
    "/api/stock",
]
LE = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
UAS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/132.0",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
]


# ------------------------------------------------------------------ generation


def _iso_ms(ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(d.microsecond / 1000):03d}Z"


def write_common(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "bundle.yaml").write_text(
        f'id: "scale-{root.name}"\ntitle: "scale benchmark"\n'
        f'window: {{start: "{_iso_ms(T0)}", end: "{_iso_ms(T0 + WINDOW_S)}"}}\n'
        'focus_alert: "5ca1ab1e00000001"\n'
    )
    alerts = [
        {
            "labels": {"alertname": "HighErrorRate", "service": "frontend", "severity": "page"},
            "annotations": {"summary": "5xx ratio above 5% on frontend"},
            "startsAt": _iso_ms(ALERT),
            "endsAt": _iso_ms(ALERT + 3600),
            "updatedAt": _iso_ms(ALERT + 60),
            "fingerprint": "5ca1ab1e00000001",
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
            "receivers": [{"name": "pagerduty"}],
        },
        {
            "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "warn"},
            "annotations": {"summary": "p99 above 1s"},
            "startsAt": _iso_ms(ALERT + 30),
            "endsAt": _iso_ms(ALERT + 3600),
            "updatedAt": _iso_ms(ALERT + 60),
            "fingerprint": "5ca1ab1e00000002",
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "generatorURL": "http://prometheus:9090/graph",
            "receivers": [{"name": "slack"}],
        },
    ]
    (root / "alerts.json").write_text(json.dumps(alerts, indent=1))
    changes = [
        {
            "id": "deploy-4411",
            "ts": _iso_ms(DEPLOY),
            "service": FAULTY,
            "kind": "deploy",
            "summary": "payments v2.14.0: switch provider client",
            "version": "v2.14.0",
            "previous_version": "v2.13.2",
            "author": "dev@example.com",
        },
        {
            "id": "deploy-4409",
            "ts": _iso_ms(DEPLOY - 6 * 60),
            "service": "search",
            "kind": "deploy",
            "summary": "search v1.8.3",
            "version": "v1.8.3",
        },
        {
            "id": "flag-77",
            "ts": _iso_ms(T0 + 10 * 60),
            "service": "catalog",
            "kind": "flag",
            "summary": "enable new ranking for 5% of users",
        },
    ]
    (root / "changes.json").write_text(json.dumps(changes, indent=1))
    topo = "services:\n" + "".join(
        f"  {s}:\n    depends_on: [{', '.join(d)}]\n" for s, d in TOPOLOGY.items()
    )
    (root / "topology.yaml").write_text(topo)


def write_metrics(root: Path, n_series: int, seed: int = 1) -> None:
    """n_series series spread over services and exporter metric names, one file per name."""
    rng = random.Random(seed)
    mdir = root / "metrics"
    mdir.mkdir(parents=True, exist_ok=True)
    times = list(range(T0, T0 + WINDOW_S + 1, STEP_S))
    per_name: dict[str, list[dict[str, object]]] = {m: [] for m, _ in METRICS}
    for i in range(n_series):
        svc = SERVICES[i % len(SERVICES)]
        name, kind = METRICS[(i // len(SERVICES)) % len(METRICS)]
        k = i // (len(SERVICES) * len(METRICS))
        labels: dict[str, str] = {"__name__": name}
        # label variants: service / job / app
        key = ("service", "job", "app")[i % 3]
        labels[key] = svc
        labels["pod"] = f"{svc}-{7 + k % 5}f9c{k % 7}d-{k:05x}"
        labels["namespace"] = "shop"
        if kind in ("counter_rps", "latency_bucket", "errors"):
            labels["route"] = ROUTES[k % len(ROUTES)]
            labels["method"] = "GET" if k % 3 else "POST"
        if kind == "latency_bucket":
            labels["le"] = LE[k % len(LE)]
        if kind == "disk":
            labels["mountpoint"] = "/var/lib/data"
            labels["device"] = "nvme0n1p1"
        if kind in ("probe", "probe_latency"):
            labels["instance"] = f"https://{svc}.shop.svc:8443/healthz"
        base = {
            "counter_rps": 120.0,
            "latency_bucket": 0.08,
            "errors": 0.2,
            "cpu": 0.35,
            "memory": 3.2e8,
            "restarts": 1.0,
            "disk": 4.1e10,
            "fds": 210.0,
            "probe": 1.0,
            "probe_latency": 0.012,
            "gauge": 150.0,
            "connections": 18.0,
        }[kind]
        base *= 0.5 + rng.random()
        hit = AFFECTED.get(svc, 0.0)
        values: list[list[object]] = []
        level = base
        counter = 0.0
        for t in times:
            level = base * (1 + 0.05 * rng.gauss(0, 1))
            if t >= ONSET and hit > 0:
                lag = (list(AFFECTED).index(svc)) * 45
                if t >= ONSET + lag:
                    if kind == "errors":
                        level = base + 40 * hit * base + 5
                    elif kind == "latency_bucket":
                        level = base * (1 + 8 * hit)
                    elif kind == "probe" and svc == FAULTY:
                        level = 0.0 if rng.random() < 0.5 else 1.0
                    elif kind == "cpu" and svc == FAULTY:
                        level = base * 1.3
            if kind == "restarts":
                counter += 0.0
                level = base + counter
            values.append([t, f"{level:.6g}"])
        per_name[name].append({"metric": labels, "values": values})
    for name, result in per_name.items():
        if not result:
            continue
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        (mdir / f"{name}.json").write_text(json.dumps(body, separators=(",", ":")))


INFO_MSGS = [
    "{m} {r} {st} in {d}ms",
    "request completed method={m} path={r} status={st} duration={d}ms",
    "cache hit for key product:{n}",
    "user {u} session refreshed",
    "published event order.updated id={n}",
    "GC pause {d}ms heap={n}MB",
]
DEBUG_MSGS = ["db query took {d}ms rows={n}", "span exported trace={t}"]
NOISE_MSGS = [  # background WARN/ERROR that exists before the onset
    ("warn", "slow query on orders took {d}ms"),
    ("warn", "retrying call to redis (attempt {a}) after timeout"),
    ("error", "failed to refresh feature flags: upstream returned 503"),
    ("warn", "deprecated API version v1 used by client {u}"),
]
FAULT_MSGS = {
    "payments": [
        ("error", "payment provider call failed: connection reset by peer order={n}"),
        ("error", "charge {t} failed: TLS handshake timeout after {d}ms"),
        ("warn", "circuit breaker half-open for provider gateway-{a}"),
    ],
    "checkout": [
        ("error", "POST /api/pay returned 502 from payments in {d}ms order={n}"),
        ("warn", "retrying payment for order {n} (attempt {a})"),
    ],
    "frontend": [("error", "upstream checkout error 502 on /api/checkout trace={t}")],
}


def write_logs(root: Path, n_lines: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    ldir = root / "logs"
    ldir.mkdir(parents=True, exist_ok=True)
    for svc in SERVICES:
        n = max(1, round(n_lines * VOLUME[svc]))
        if svc == SERVICES[-1]:
            n = n_lines - sum(max(1, round(n_lines * VOLUME[s])) for s in SERVICES[:-1])
        hit = AFFECTED.get(svc, 0.0)
        epoch_ms = svc == EPOCH_MS_SERVICE
        out: list[str] = []
        dt = WINDOW_S / n
        for i in range(n):
            ts = T0 + i * dt + rng.random() * dt
            u = rng.random()
            fill = {
                "m": "GET" if u < 0.7 else "POST",
                "r": ROUTES[int(u * 1000) % len(ROUTES)],
                "st": 200,
                "d": int(3 + rng.expovariate(1 / 40)),
                "n": rng.randrange(1_000_000),
                "u": f"u{rng.randrange(50_000)}",
                "t": f"{rng.getrandbits(64):016x}",
                "a": 1 + rng.randrange(3),
            }
            if ts >= ONSET and hit > 0 and u < 0.25 * hit:
                level, tmpl = FAULT_MSGS[svc][int(u * 997) % len(FAULT_MSGS[svc])]
            elif u > 0.995:
                level, tmpl = NOISE_MSGS[int(u * 100_000) % len(NOISE_MSGS)]
            elif u > 0.93:
                level, tmpl = "debug", DEBUG_MSGS[int(u * 1000) % len(DEBUG_MSGS)]
            else:
                level, tmpl = "info", INFO_MSGS[int(u * 10_007) % len(INFO_MSGS)]
            rec = {
                "ts": int(ts * 1000) if epoch_ms else _iso_ms(ts),
                "service": svc,
                "level": level,
                "msg": tmpl.format(**fill),
                "trace_id": f"{rng.getrandbits(128):032x}",
                "span_id": f"{rng.getrandbits(64):016x}",
                "pod": f"{svc}-7f9c{i % 3}d-{(i % 5):05x}",
                "http": {"method": fill["m"], "path": fill["r"], "status": fill["st"]},
                "duration_ms": fill["d"],
                "user_agent": UAS[i % len(UAS)],
                "region": "eu-west-1",
                "version": "v2.14.0" if svc == FAULTY and ts >= DEPLOY else "v2.13.2",
            }
            out.append(json.dumps(rec, separators=(",", ":")))
        (ldir / f"{svc}.jsonl").write_text("\n".join(out) + "\n")


_SYLLABLES = [
    "ka", "lo", "mi", "nu", "po", "ri", "su", "tu", "vo", "zy", "gra", "ple", "stro", "qui",
    "wen", "hol", "jun", "xor", "yel", "bri", "dro", "fli", "glo", "shu", "tha", "ulm",
]  # fmt: skip
_DISTINCT_FORMS = [
    "{a} failed while {b} the {c}: {d} {e} after {n}ms",
    "cannot {a} {b}.{c} for {d} ({e} rejected) id={x}",
    "error in {a} handler: {b} {c} {d} is {e}",
    "{a}Exception: {b} {c} not {d} in {e} at 10.0.{n}",
    "unexpected {a} from {b}: {c} {d} {e} order {n}",
]


def _word(rng: random.Random) -> str:
    """A letters-only word (masking never rewrites it), so lines never share a template."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(2 + rng.randrange(3)))


def write_distinct_logs(root: Path, n_lines: int, seed: int = 3) -> None:
    """n_lines ERROR lines in which no two lines share a template (the templater's worst
    case: every line creates a new template), spread over the services and the window."""
    rng = random.Random(seed)
    ldir = root / "logs"
    ldir.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    per: dict[str, list[str]] = {s: [] for s in SERVICES}
    dt = WINDOW_S / n_lines
    for i in range(n_lines):
        svc = SERVICES[i % len(SERVICES)]
        while True:
            form = _DISTINCT_FORMS[rng.randrange(len(_DISTINCT_FORMS))]
            msg = form.format(
                n=rng.randrange(1_000_000), x=f"{rng.getrandbits(48):012x}",
                **{k: _word(rng) for k in "abcde"},
            )  # fmt: skip
            if msg not in seen:
                seen.add(msg)
                break
        rec = {"ts": _iso_ms(T0 + i * dt), "service": svc, "level": "error", "msg": msg}
        per[svc].append(json.dumps(rec, separators=(",", ":")))
    for svc, lines in per.items():
        (ldir / f"{svc}.jsonl").write_text("\n".join(lines) + "\n")


def make_bundle(
    root: Path, n_lines: int, n_series: int, logs_from: Path | None, distinct: bool = False
) -> Path:
    write_common(root)
    write_metrics(root, n_series)
    if logs_from is not None:
        # hard links: the same bytes without a copy, and regular files inside the bundle
        # (a triage refuses a symlink that leaves the bundle)
        (root / "logs").mkdir()
        for f in sorted(logs_from.iterdir()):
            os.link(f, root / "logs" / f.name)
    elif distinct:
        write_distinct_logs(root, n_lines)
    else:
        write_logs(root, n_lines)
    return root


# ------------------------------------------------------------------ children


def child_triage(bundle: str, profile_out: str | None) -> None:
    t_imp = time.perf_counter()
    from aisre_cli.investigate.triage import run_triage
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.registry import bundle_set

    import_s = time.perf_counter() - t_imp
    prof = None
    if profile_out:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    report = run_triage(bundle_set(bundle), None, Profile())
    took = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile_out)
    top = report.verdict.hypotheses[0] if report.verdict.hypotheses else None
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "triage_s": took,
                "triage_cpu_s": cpu,
                "import_s": import_s,
                "peak_rss_mb": rss_kb / 1024.0,
                "top": f"{top.kind} {top.service} {top.subject or ''}".strip() if top else None,
                "escalate": report.verdict.escalate,
            }
        )
    )


def child_floor(bundle: str) -> None:
    loads = json.loads
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    n = 0
    for p in sorted((Path(bundle) / "logs").glob("*.jsonl")):
        with p.open("rb") as fh:
            for raw in fh:
                loads(raw)
                n += 1
    took = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    print(json.dumps({"floor_s": took, "floor_cpu_s": cpu, "lines": n}))


def _child(args: list[str]) -> dict[str, object]:
    t0 = time.perf_counter()
    cp = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    if cp.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{cp.stderr[-3000:]}")
    out: dict[str, object] = json.loads(cp.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t0
    return out


# ------------------------------------------------------------------ driver


def run(sizes: list[Case], repeat: int, keep: Path | None) -> list[dict[str, object]]:
    tmp = Path(tempfile.mkdtemp(prefix="aisre-scale-")) if keep is None else keep
    tmp.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    logs_cache: dict[tuple[int, str], Path] = {}
    try:
        for n_lines, n_series, kind in sizes:
            b = tmp / f"b{n_lines}-{n_series}-{kind}"
            t0 = time.perf_counter()
            if keep is not None and (b / "bundle.yaml").exists() and (b / "logs").exists():
                pass  # --keep: reuse the bundle generated by an earlier run
            else:
                if b.exists() or b.is_symlink():
                    shutil.rmtree(b)
                make_bundle(
                    b, n_lines, n_series, logs_cache.get((n_lines, kind)), kind == "distinct"
                )
            logs_cache.setdefault((n_lines, kind), b / "logs")
            gen_s = time.perf_counter() - t0
            # interleaved, so that both see the same machine load
            tri: list[dict[str, object]] = []
            flo: list[dict[str, object]] = []
            for _ in range(repeat):
                tri.append(_child(["--child-triage", str(b)]))
                flo.append(_child(["--child-floor", str(b)]))
            pairs = sorted(
                float(t["triage_s"]) / float(f["floor_s"])  # type: ignore[arg-type]
                for t, f in zip(tri, flo, strict=True)
            )
            best = min(tri, key=lambda r: float(r["triage_s"]))  # type: ignore[arg-type]
            floor = min(float(r["floor_s"]) for r in flo)  # type: ignore[arg-type]
            tri_s = float(best["triage_s"])  # type: ignore[arg-type]
            size_mb = (
                sum(
                    os.path.getsize(os.path.join(d, f))
                    for d, _, files in os.walk(b, followlinks=True)
                    for f in files
                )
                / 1e6
            )
            tri_cpu = min(float(r["triage_cpu_s"]) for r in tri)  # type: ignore[arg-type]
            flo_cpu = min(float(r["floor_cpu_s"]) for r in flo)  # type: ignore[arg-type]
            row = {
                "kind": kind,
                "lines": n_lines,
                "series": n_series,
                "bundle_mb": round(size_mb, 1),
                "triage_s": round(tri_s, 3),
                "floor_s": round(floor, 3),
                "ratio": round(tri_s / floor, 2) if floor > 0 else math.inf,
                "ratio_paired_median": round(pairs[len(pairs) // 2], 2),
                "cpu_ratio": round(tri_cpu / flo_cpu, 2) if flo_cpu > 0 else math.inf,
                "peak_rss_mb": round(max(float(r["peak_rss_mb"]) for r in tri), 1),  # type: ignore[arg-type]
                "process_wall_s": round(float(best["wall_s"]), 3),  # type: ignore[arg-type]
                "import_s": round(float(best["import_s"]), 3),  # type: ignore[arg-type]
                "top": best["top"],
                "escalate": best["escalate"],
                "gen_s": round(gen_s, 1),
                "limit": LIMITS[kind],
                "ok": tri_s / floor <= LIMITS[kind] and rss_ok(tri),
            }
            rows.append(row)
            print(
                f"  {n_lines:>9,} {kind} lines {n_series:>5,} series: triage {tri_s:.2f}s, "
                f"floor {floor:.2f}s, rss {row['peak_rss_mb']} MB",
                file=sys.stderr,
            )
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def growth(rows: list[dict[str, object]]) -> list[str]:
    """Time growth between sizes that differ 10x in log lines at the same series count."""
    out = []
    by = {(r["kind"], r["lines"], r["series"]): float(r["triage_s"]) for r in rows}  # type: ignore[arg-type]
    for (kind, lines, series), t in sorted(by.items()):  # type: ignore[type-var]
        big = by.get((kind, lines * 10, series))  # type: ignore[operator]
        if big:
            out.append(
                f"{kind} {lines:,}→{lines * 10:,} lines at {series:,} series: "  # type: ignore[operator]
                f"time x{big / t:.1f} (linear: ≤ x11)"
            )
    return out


def print_table(rows: list[dict[str, object]]) -> None:
    hdr = (
        f"{'kind':>8} {'lines':>10} {'series':>7} {'triage s':>9} {'floor s':>8} {'ratio':>6} "
        f"{'paired':>6} {'cpu':>5} {'peak RSS MB':>12} {'bundle MB':>10} {'ok':>3}  top hypothesis"
    )
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(
            f"{r['kind']:>8} {r['lines']:>10,} {r['series']:>7,} "
            f"{r['triage_s']:>9.3f} {r['floor_s']:>8.3f} "
            f"{r['ratio']:>6.2f} {r['ratio_paired_median']:>6.2f} {r['cpu_ratio']:>5.2f} "
            f"{r['peak_rss_mb']:>12.1f} {r['bundle_mb']:>10.1f} {'yes' if r['ok'] else 'NO':>3}  "
            f"{r['top']}{' (escalate)' if r['escalate'] else ''}"
        )
    for line in growth(rows):
        print(line)
    print(
        "ratio = best triage / best floor; paired = median of per-run ratios "
        "(triage and floor runs interleaved); cpu = triage CPU time / floor CPU time (user +"
        " sys: the least sensitive to other load on the machine); ok = ratio within the limit "
        f"(mixed ≤ {LIMITS['mixed']}x, distinct ≤ {LIMITS['distinct']}x) and peak RSS "
        f"≤ {RSS_LIMIT_MB:.0f} MB"
    )


def rss_ok(tri: list[dict[str, object]]) -> bool:
    return max(float(r["peak_rss_mb"]) for r in tri) <= RSS_LIMIT_MB  # type: ignore[arg-type]


def profile(n_lines: int, n_series: int, top: int, distinct: bool = False) -> None:
    import pstats

    tmp = Path(tempfile.mkdtemp(prefix="aisre-prof-"))
    try:
        b = make_bundle(tmp / "b", n_lines, n_series, None, distinct)
        out = tmp / "triage.prof"
        res = _child(["--child-triage", str(b), "--profile-out", str(out)])
        print(
            f"profiled triage of {n_lines:,} lines x {n_series:,} series: "
            f"{float(res['triage_s']):.2f}s under cProfile"
        )  # type: ignore[arg-type]
        st = pstats.Stats(str(out))
        st.sort_stats("tottime").print_stats(top)
        st.sort_stats("cumulative").print_stats(top)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="triage time and peak RSS vs a json.loads floor")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--quick", action="store_true", help="only the small sizes")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size (best time)")
    ap.add_argument(
        "--sizes",
        help="comma-separated LINESxSERIES, e.g. 1000000x1000; a d after LINES selects the"
        " distinct-lines case, e.g. 1000000dx1000 (default: all)",
    )
    ap.add_argument(
        "--keep", type=Path, help="generate bundles here and keep them (reused when present)"
    )
    ap.add_argument("--profile", action="store_true", help="cProfile the 1M x 1,000 triage")
    ap.add_argument(
        "--profile-distinct", action="store_true", help="cProfile the 1M distinct-lines triage"
    )
    ap.add_argument("--child-triage", help=argparse.SUPPRESS)
    ap.add_argument("--child-floor", help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_triage:
        child_triage(args.child_triage, args.profile_out)
        return 0
    if args.child_floor:
        child_floor(args.child_floor)
        return 0
    if args.profile:
        profile(1_000_000, 1_000, 30)
        return 0
    if args.profile_distinct:
        profile(1_000_000, 1_000, 30, distinct=True)
        return 0
    sizes = QUICK if args.quick else SIZES
    if args.sizes:
        sizes = [
            (int(a.rstrip("d")), int(b), "distinct" if a.endswith("d") else "mixed")
            for a, b in (x.lower().split("x") for x in args.sizes.split(","))
        ]
    rows = run(sizes, args.repeat, args.keep)
    if args.json:
        print(json.dumps({"rows": rows, "growth": growth(rows)}, indent=2))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
