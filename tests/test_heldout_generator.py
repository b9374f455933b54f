"""The held-out bundle generator (scripts/gen_heldout.py) and its output, scenarios/heldout.

Checks that a rerun reproduces the committed files byte for byte, that every bundle
passes `aisre bundle validate`, and that the truth files cover 9 kinds x 6 bundles with a
`change_id` that points at a real change wherever the kind is a change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from aisre_cli.model import HYPOTHESIS_KINDS

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "gen_heldout.py"
HELDOUT = REPO / "scenarios" / "heldout"
KINDS = HYPOTHESIS_KINDS  # every kind the bundle contract names, six bundles each
CHANGE_KINDS = {"deploy": {"deploy"}, "config_change": {"config", "flag"}}
MAX_BUNDLE_BYTES = 150 * 1024


def _files(root: Path) -> dict[str, bytes]:
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in paths}


def _bundles() -> list[Path]:
    return sorted(p for p in HELDOUT.iterdir() if p.is_dir())


def test_rerun_reproduces_committed_files(tmp_path: Path) -> None:
    out = tmp_path / "heldout"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    want = _files(HELDOUT)
    got = _files(out)
    assert sorted(got) == sorted(want)
    drift = [name for name in want if want[name] != got[name]]
    assert not drift, f"{len(drift)} files differ after a rerun, e.g. {drift[:5]}"


def _validate(bundle: Path) -> tuple[Path, int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "aisre_cli", "bundle", "validate", str(bundle)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    return bundle, proc.returncode, (proc.stderr or proc.stdout).strip()


def test_every_bundle_validates() -> None:
    bundles = _bundles()
    assert bundles
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_validate, bundles))
    failures = [f"{b.name}: exit {rc}: {msg}" for b, rc, msg in results if rc != 0]
    assert not failures, "\n".join(failures)


def test_truth_covers_every_kind_with_usable_change_ids() -> None:
    kinds: Counter[str] = Counter()
    for bundle in _bundles():
        truth = yaml.safe_load((bundle / "truth.yaml").read_text())["root_cause"]
        kind = truth["kind"]
        kinds[kind] += 1
        topology = yaml.safe_load((bundle / "topology.yaml").read_text())["services"]
        assert truth["service"] in topology, bundle.name
        changes = json.loads((bundle / "changes.json").read_text())
        if kind in CHANGE_KINDS:
            assert "change_id" in truth, bundle.name
            matching = [c for c in changes if c["id"] == truth["change_id"]]
            assert len(matching) == 1, bundle.name
            assert matching[0]["service"] == truth["service"], bundle.name
            assert matching[0]["kind"] in CHANGE_KINDS[kind], bundle.name
        else:
            assert "change_id" not in truth, bundle.name
        meta = yaml.safe_load((bundle / "bundle.yaml").read_text())
        alerts = json.loads((bundle / "alerts.json").read_text())
        assert any(a["labels"]["alertname"] == meta["focus_alert"] for a in alerts), bundle.name
        size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
        assert size <= MAX_BUNDLE_BYTES, f"{bundle.name}: {size} bytes"
    assert kinds == Counter(dict.fromkeys(KINDS, 6))
