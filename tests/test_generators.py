"""The committed demo bundle and evaluation suite are generated artifacts: check them.

`scripts/gen_demo.py` and `scripts/gen_scenarios.py` are seeded and deterministic, so
a rerun must reproduce the committed files byte for byte (a drift means someone edited
the generator without regenerating, or the other way round). Every suite bundle must
also honour the Incident bundle v1 contract and the suite's own promises: alerts fire
after the window start and after onset, at least 30 baseline points, at least ten
bundles per kind, and a size that keeps the suite small.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "aisre_cli" / "data" / "demo"
SUITE = REPO / "scenarios" / "suite"
KINDS = (
    "deploy",
    "config_change",
    "resource_saturation",
    "dependency_failure",
    "traffic_surge",
    "crash_loop",
    "certificate_expiry",
    "network",
    "unknown",
)
MAX_BUNDLE_BYTES = 150_000


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _assert_same_tree(expected: Path, actual: Path) -> None:
    exp, act = _files(expected), _files(actual)
    assert sorted(exp) == sorted(act), "different file sets"
    drift = [name for name in exp if exp[name] != act[name]]
    assert not drift, f"regenerated files differ from the committed ones: {drift[:5]}"


def _bundles() -> list[Path]:
    return sorted(p.parent for p in SUITE.glob("*/bundle.yaml"))


def _manifest() -> dict[str, dict]:
    return json.loads((SUITE / "MANIFEST.json").read_text())


def test_demo_is_reproducible(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_demo.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    _assert_same_tree(DEMO, out)


def test_demo_tells_the_documented_story() -> None:
    bundle = yaml.safe_load((DEMO / "bundle.yaml").read_text())
    alerts = json.loads((DEMO / "alerts.json").read_text())
    focus = next(a for a in alerts if a["fingerprint"] == bundle["focus_alert"])
    assert focus["labels"]["alertname"] == "CheckoutHighErrorRate"
    assert focus["labels"]["service"] == "checkout"
    assert focus["labels"]["severity"] == "critical"
    assert any(
        a["labels"]["service"] == "payments" and a["labels"]["severity"] == "warning"
        for a in alerts
    )
    truth = yaml.safe_load((DEMO / "truth.yaml").read_text())["root_cause"]
    changes = {c["id"]: c for c in json.loads((DEMO / "changes.json").read_text())}
    assert truth["kind"] == "deploy" and truth["service"] == "payments"
    assert changes[truth["change_id"]]["service"] == "payments"
    new_template = "NullPointerException in PaymentAuthorizer.capture"
    deploy_at = _ts(changes[truth["change_id"]]["ts"])
    hits = [
        json.loads(line)
        for line in (DEMO / "logs" / "payments.jsonl").read_text().splitlines()
        if new_template in line
    ]
    assert hits and all(_ts(h["ts"]) > deploy_at for h in hits)


def test_suite_sample_is_reproducible(tmp_path: Path) -> None:
    ids = sorted(_manifest())[::23][:5]
    assert len(ids) == 5
    out = tmp_path / "suite"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "gen_scenarios.py"),
            "--out",
            str(out),
            "--only",
            ",".join(ids),
        ],
        check=True,
        capture_output=True,
    )
    for bid in ids:
        _assert_same_tree(SUITE / bid, out / bid)


def test_suite_kind_distribution() -> None:
    kinds = Counter(
        yaml.safe_load((b / "truth.yaml").read_text())["root_cause"]["kind"] for b in _bundles()
    )
    assert set(kinds) == set(KINDS)
    assert all(kinds[k] >= 10 for k in KINDS), kinds
    assert sum(kinds.values()) >= 90
    manifest = _manifest()
    assert sorted(manifest) == sorted(b.name for b in _bundles())
    assert len({m["topology"] for m in manifest.values()}) >= 3


@pytest.mark.parametrize("bundle", _bundles(), ids=lambda p: p.name)
def test_suite_bundle_is_well_formed(bundle: Path) -> None:
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    assert size <= MAX_BUNDLE_BYTES

    meta = yaml.safe_load((bundle / "bundle.yaml").read_text())
    assert meta["id"] == bundle.name and meta["title"]
    start, end = _ts(meta["window"]["start"]), _ts(meta["window"]["end"])
    assert start < end

    alerts = json.loads((bundle / "alerts.json").read_text())
    assert isinstance(alerts, list) and alerts
    for a in alerts:
        assert {"labels", "annotations", "startsAt", "endsAt", "fingerprint", "status"} <= set(a)
        assert {"generatorURL", "receivers", "updatedAt"} <= set(a)
        assert re.fullmatch(r"[0-9a-f]{16}", a["fingerprint"])
        assert set(a["status"]) == {"state", "silencedBy", "inhibitedBy"}
        assert a["receivers"] and all("name" in r for r in a["receivers"])
        assert start < _ts(a["startsAt"]) <= end
    fps = [a["fingerprint"] for a in alerts]
    assert len(set(fps)) == len(fps)
    assert meta["focus_alert"] in fps

    info = _manifest()[bundle.name]
    onset = _ts(info["onset"])
    focus = next(a for a in alerts if a["fingerprint"] == meta["focus_alert"])
    assert _ts(focus["startsAt"]) >= onset + 60, "the page fires after onset (for: >= 1m)"

    queries = yaml.safe_load((bundle / "metrics" / "queries.yaml").read_text())
    files = sorted((bundle / "metrics").glob("*.json"))
    assert files
    for f in files:
        body = json.loads(f.read_text())
        assert body["status"] == "success" and body["data"]["resultType"] == "matrix"
        assert f.stem in queries
        for series in body["data"]["result"]:
            assert isinstance(series["metric"], dict)
            labels = series["metric"]
            assert any(k in labels for k in ("service", "job", "app"))
            for t, v in series["values"]:
                assert isinstance(t, int) and isinstance(v, str)
                float(v)
    golden = json.loads(files[0].read_text())["data"]["result"][0]["values"]
    step = golden[1][0] - golden[0][0]
    assert sum(1 for t, _ in golden if t < onset) >= 30

    for f in sorted((bundle / "logs").glob("*.jsonl")):
        for line in f.read_text().splitlines():
            rec = json.loads(line)
            assert {"ts", "service", "level", "msg"} <= set(rec)
    changes = json.loads((bundle / "changes.json").read_text())
    for c in changes:
        assert {"id", "ts", "service", "kind", "summary"} <= set(c)
        assert c["kind"] in ("deploy", "config", "flag", "infra", "scale")
    topo = yaml.safe_load((bundle / "topology.yaml").read_text())["services"]
    assert 6 <= len(topo) <= 15
    truth = yaml.safe_load((bundle / "truth.yaml").read_text())["root_cause"]
    assert truth["kind"] in KINDS and truth["service"] in topo
    if truth["kind"] in ("deploy", "config_change"):
        cause = next(c for c in changes if c["id"] == truth["change_id"])
        assert cause["service"] == truth["service"] and _ts(cause["ts"]) < onset
    assert step in (15, 30, 60)
