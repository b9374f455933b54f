"""Gray releases end to end: several canaries in flight, one defective (issue #10).

`scripts/gen_gray.py` writes bundles in which three to five services are each partway
through a canary release, one of them bad, with per-pod series labelled by version in
the four ways the generator knows (`version`, `app_kubernetes_io_version`,
`pod_template_hash`, `track`). The engine must find the bad release by comparing each
release's new pods with its old ones, well ahead of "blame the latest deploy", and must
not be confidently wrong.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from aisre_cli.investigate.evaluate import evaluate

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "gen_gray.py"


def _generate(out: Path, seed: int, n: int) -> list[Path]:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--seed", str(seed), "--n", str(n)],
        check=True,
        capture_output=True,
    )
    return sorted(p for p in out.iterdir() if p.is_dir())


def test_generator_is_deterministic_and_valid(tmp_path: Path) -> None:
    a = _generate(tmp_path / "a", 3, 4)
    b = _generate(tmp_path / "b", 3, 4)
    for x, y in zip(a, b, strict=True):
        for f in sorted(x.rglob("*")):
            if f.is_file():
                assert f.read_bytes() == (y / f.relative_to(x)).read_bytes()
    for d in a:
        truth = yaml.safe_load((d / "truth.yaml").read_text())["root_cause"]
        changes = yaml.safe_load((d / "changes.json").read_text())
        assert truth["change_id"] in {c["id"] for c in changes}
        assert len(changes) >= 3
        r = subprocess.run(
            [sys.executable, "-m", "aisre_cli", "bundle", "validate", str(d)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stdout + r.stderr


def test_the_bad_canary_is_found_ahead_of_the_latest_deploy(tmp_path: Path) -> None:
    _generate(tmp_path / "gray", 11, 16)
    report = evaluate([tmp_path / "gray"])
    s = report.summary
    assert s.n == 16 and not report.errors
    latest = s.service.baselines["latest change"][0]
    assert latest < 0.6  # the bad release is not simply the latest one
    assert s.top1 >= 0.85
    assert s.top1 >= latest + 0.4
    assert s.n_confident_wrong == 0
    assert s.ece <= 0.10
