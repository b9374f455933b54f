"""Gray-release incident generator (incident bundle v1): several canaries in flight, one bad.

Each bundle is one hour of a small microservice system at a 30 s step in which three to
five services are each partway through a canary release: the new version's pods came
up at the release and take a share of the traffic beside the old version's pods. One
release is defective: its new pods fail (errors), slow down (latency) or burn CPU and
slow down, and its callers up to the entry service feel a diluted share of that. The
page fires at the entry service. Which release is bad is drawn uniformly, so the
latest release is the bad one only about a third of the time: "blame the latest
deploy" is the baseline to beat.

What makes it hard, as in real gray releases:

* the service-level signal of the bad service is diluted by its healthy old pods;
* the innocent canaries differ a little from their old pods too (a few percent of CPU
  or latency), and one or two nodes shift their CPU a little near the page;
* the version label varies across bundles the ways real systems spell it: `version`
  (as the change records it), `app_kubernetes_io_version` (the Kubernetes recommended
  label, relabelled), `pod_template_hash` (a hash, not the version), `track`
  (`canary` beside `stable`) and cAdvisor's `image` (the version is its tag).

Series are per pod, with `service`, `pod`, `node` and the version label. The truth is
the bad release (`kind: deploy`, its service and change id). Deterministic for a seed.

This generator is ours, written for issue #10's gray-release line, so numbers on it
are a check of that path, not a claim about data we have not seen.

    python scripts/gen_gray.py --out /tmp/gray --seed 1 --n 30
    python scripts/gen_gray.py --out /tmp/gray --seed 21 --n 48 --subtle
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

STEP = 30
N = 120
ALERT_IDX = 100
SYSTEMS: tuple[tuple[str, dict[str, list[str]]], ...] = (
    (
        "shop",
        {
            "storefront": ["checkout", "catalog", "search", "cart"],
            "checkout": ["payments", "inventory", "cart"],
            "search": ["catalog"],
            "catalog": ["pricing"],
            "cart": [],
            "payments": [],
            "inventory": [],
            "pricing": [],
        },
    ),
    (
        "media",
        {
            "edge-api": ["playback", "profile", "recommend"],
            "playback": ["license", "manifest"],
            "recommend": ["profile", "ranking"],
            "manifest": ["cdn-router"],
            "profile": [],
            "license": [],
            "ranking": [],
            "cdn-router": [],
        },
    ),
    (
        "bank",
        {
            "gateway": ["accounts", "transfers", "auth"],
            "transfers": ["ledger", "fraud", "accounts"],
            "accounts": ["ledger"],
            "fraud": ["scoring"],
            "auth": [],
            "ledger": [],
            "scoring": [],
        },
    ),
)
LABEL_STYLES = ("version", "app_kubernetes_io_version", "pod_template_hash", "track", "image")
DEFECTS = ("errors", "latency", "cpu")
FULL = ((0.08, 0.45), (2.0, 6.0), (2.0, 3.5))
"""The bad canary's extra error ratio, latency factor and CPU factor (ranges)."""
SUBTLE = ((0.01, 0.05), (1.2, 1.8), (1.2, 1.6))
"""`--subtle`: a defect that barely shows beside the old pods."""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(rng: random.Random, n: int = 9) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def _callers(graph: dict[str, list[str]], s: str) -> list[str]:
    return [x for x, deps in graph.items() if s in deps]


def _ancestors(graph: dict[str, list[str]], s: str) -> dict[str, int]:
    """Every transitive caller of `s` with its distance in hops."""
    out: dict[str, int] = {}
    frontier, d = [s], 0
    while frontier:
        d += 1
        nxt = []
        for x in frontier:
            for c in _callers(graph, x):
                if c not in out:
                    out[c] = d
                    nxt.append(c)
        frontier = nxt
    return out


def bundle(i: int, seed: int, out: Path, subtle: bool = False) -> None:
    rng = random.Random(f"gray-{seed}-{i}")
    system, graph = SYSTEMS[i % len(SYSTEMS)]
    entry = next(iter(graph))
    t0 = 1_750_000_000 + (seed * 1000 + i) * 7200
    ts = [t0 + k * STEP for k in range(N)]
    style = LABEL_STYLES[(i // len(SYSTEMS)) % len(LABEL_STYLES)]
    # releases in flight at distinct services, at distinct minutes before the page
    k = rng.randint(3, 5)
    released = rng.sample([s for s in graph if s != entry] + [entry], k)
    at_idx = sorted(rng.sample(range(16, ALERT_IDX - 8), k))
    rng.shuffle(at_idx)
    bad = rng.randrange(k)
    defect = rng.choice(DEFECTS)
    releases: dict[str, dict[str, Any]] = {}
    changes = []
    for j, s in enumerate(released):
        major, minor = rng.randint(1, 4), rng.randint(0, 30)
        old_v, new_v = f"v{major}.{minor}.{rng.randint(0, 9)}", f"v{major}.{minor + 1}.0"
        cid = f"{s}-{_iso(ts[at_idx[j]])[:10].replace('-', '')}-{j}"
        releases[s] = {"at": at_idx[j], "old": old_v, "new": new_v, "id": cid, "bad": j == bad}
        changes.append(
            {
                "id": cid,
                "ts": _iso(ts[at_idx[j]]),
                "service": s,
                "kind": "deploy",
                "version": new_v,
                "previous_version": old_v,
                "summary": f"canary {s} {new_v} at {rng.choice((10, 20, 25, 50))}% of pods",
                "author": rng.choice(("argo-rollouts", "flagger", "spinnaker", "ci-bot")),
            }
        )
    bad_svc = released[bad]
    bad_at = releases[bad_svc]["at"] + rng.randint(0, 4)
    err_r, lat_r, cpu_r = SUBTLE if subtle else FULL
    mag = {"errors": rng.uniform(*err_r), "latency": rng.uniform(*lat_r)}[
        defect if defect != "cpu" else "latency"
    ]
    cpu_mult = rng.uniform(*cpu_r) if defect == "cpu" else 1.0
    up = _ancestors(graph, bad_svc)

    def label_for(s: str, new: bool, hashes: dict[tuple[str, bool], str]) -> dict[str, str]:
        r = releases.get(s)
        if style == "track":
            return {"track": "canary" if new else "stable"}
        if style == "pod_template_hash":
            return {"pod_template_hash": hashes.setdefault((s, new), _hash(rng))}
        v = (r["new"] if new else r["old"]) if r else "v1.0.0"
        if style == "image":
            return {"image": f"registry.example.com:5000/shop/{s}:{v}"}
        return {style: v}

    hashes: dict[tuple[str, bool], str] = {}
    series: dict[str, list[dict[str, Any]]] = {
        "http_server_error_ratio": [],
        "http_server_request_duration_seconds_p99": [],
        "container_cpu_usage_cores": [],
        "http_server_requests_per_second": [],
        "node_cpu_utilisation_ratio": [],
    }
    node_of: dict[str, str] = {}
    nodes = [f"ip-10-0-{rng.randint(1, 250)}-{rng.randint(1, 250)}" for _ in range(3)]
    n_old_of = {s: rng.randint(2, 4) for s in graph}
    # the share of the bad service's requests its canary pod serves: what its callers feel
    canary_share = 1.0 / (n_old_of[bad_svc] + 1)
    for s in graph:
        r = releases.get(s)
        base_err = rng.uniform(0.001, 0.01)
        base_lat = rng.uniform(0.05, 0.4)
        base_cpu = rng.uniform(0.1, 0.8)
        base_rps = rng.uniform(20, 300)
        n_old = n_old_of[s]
        pods = [(False, f"{s}-{_hash(rng, 10)}-{_hash(rng, 5)}") for _ in range(n_old)]
        if r:
            pods.append((True, f"{s}-{_hash(rng, 10)}-{_hash(rng, 5)}"))
        hops = up.get(s)
        for new, pod in pods:
            node = rng.choice(nodes)
            node_of.setdefault(s, node)
            lab = {"service": s, "pod": pod, "node": node, **label_for(s, new, hashes)}
            start = r["at"] if (r and new) else 0
            rows: dict[str, list[tuple[float, float]]] = {n: [] for n in series if "node" not in n}
            # an innocent canary is a little different from its old pods, not worse
            drift = rng.uniform(0.97, 1.08) if (r and new) else 1.0
            for k2 in range(start, N):
                e = base_err * rng.uniform(0.7, 1.3)
                lat = base_lat * rng.uniform(0.9, 1.1) * drift
                cpu = base_cpu * rng.uniform(0.9, 1.1) * drift
                # the service's traffic is spread over the pods serving at the time: a
                # canary pod takes its share from the old ones, the total stays the same
                serving = n_old + (1 if (r and k2 >= r["at"]) else 0)
                rps = base_rps / serving * rng.uniform(0.9, 1.1)
                if k2 >= bad_at:
                    if s == bad_svc and new:
                        if defect == "errors":
                            e += mag
                        else:
                            lat *= mag
                            cpu *= cpu_mult
                    elif hops is not None:  # a caller: a diluted share of the canary's harm
                        dil = canary_share * 0.8 ** (hops - 1)
                        if defect == "errors":
                            e += mag * dil
                        else:
                            lat *= 1.0 + (mag - 1.0) * dil
                rows["http_server_error_ratio"].append((ts[k2], min(e, 1.0)))
                rows["http_server_request_duration_seconds_p99"].append((ts[k2], lat))
                rows["container_cpu_usage_cores"].append((ts[k2], cpu))
                rows["http_server_requests_per_second"].append((ts[k2], rps))
            for name, pts in rows.items():
                series[name].append({"metric": {"__name__": name, **lab}, "values": pts})
    # nodes: a little CPU shift on one or two, near the page, beside nothing wrong
    shifted = set(rng.sample(nodes, rng.randint(1, 2)))
    for node in nodes:
        base = rng.uniform(0.25, 0.55)
        at = rng.randint(ALERT_IDX - 20, ALERT_IDX - 2)
        svc = next((s for s, n in node_of.items() if n == node), entry)
        pts = []
        for k2 in range(N):
            v = base * rng.uniform(0.95, 1.05)
            if node in shifted and k2 >= at:
                v *= rng.uniform(1.15, 1.3)
            pts.append((ts[k2], v))
        series["node_cpu_utilisation_ratio"].append(
            {
                "metric": {"__name__": "node_cpu_utilisation_ratio", "node": node, "service": svc},
                "values": pts,
            }
        )

    bid = f"gray-{seed}-{i:03d}"
    d = out / bid
    (d / "metrics").mkdir(parents=True)
    for name, rs in series.items():
        for r2 in rs:
            r2["values"] = [[t, f"{v:.6g}"] for t, v in r2["values"]]
        body = {"status": "success", "data": {"resultType": "matrix", "result": rs}}
        (d / "metrics" / f"{name}.json").write_text(json.dumps(body, separators=(",", ":")))
    alert_name = "HighErrorRate" if defect == "errors" else "HighLatency"
    labels = {"alertname": alert_name, "service": entry, "severity": "critical"}
    fp = hashlib.sha1(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    alert = {
        "labels": labels,
        "annotations": {"summary": f"{entry} {alert_name}"},
        "startsAt": _iso(ts[ALERT_IDX]),
        "endsAt": _iso(ts[ALERT_IDX] + 3600),
        "updatedAt": _iso(ts[ALERT_IDX]),
        "fingerprint": fp,
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
    }
    (d / "alerts.json").write_text(json.dumps([alert], indent=1))
    (d / "changes.json").write_text(json.dumps(changes, indent=1))
    topo = {"services": {s: {"depends_on": deps} for s, deps in graph.items()}}
    (d / "topology.yaml").write_text(yaml.safe_dump(topo, sort_keys=False))
    meta = {
        "id": bid,
        "title": f"gray release on {system}: {k} canaries in flight",
        "window": {"start": _iso(ts[0]), "end": _iso(ts[-1] + STEP)},
        "focus_alert": fp,
    }
    (d / "bundle.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    truth = {
        "root_cause": {"kind": "deploy", "service": bad_svc, "change_id": releases[bad_svc]["id"]}
    }
    (d / "truth.yaml").write_text(yaml.safe_dump(truth, sort_keys=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--subtle", action="store_true", help="defects that barely show")
    args = ap.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    for i in range(args.n):
        bundle(i, args.seed, args.out, args.subtle)
    print(f"wrote {args.n} bundles to {args.out}")


if __name__ == "__main__":
    main()
