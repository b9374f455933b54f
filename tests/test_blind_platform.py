"""The second blind generator (`scripts/gen_platform.py`): data-tier and platform faults
with kube-prometheus labels (D), and the same as sparse, messy telemetry (E: five-minute
points, pods that start mid-window, Datadog and Micrometer names). Never fitted on, but
no longer unseen: the fixes of 2026-12-04 (a caller's pool claiming its database's
connections, a full disk before an outage, a histogram read as its percentile, a
counter from two points, restarts counted per service) were made looking at them. The
floors sit below what was measured (D top-1 .933, confident-wrong 2 of 30; E .700, 4 of
30) so that a change that undoes one of those readings fails here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aisre_cli.investigate.evaluate import evaluate

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "gen_platform.py"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("platform")
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


@pytest.mark.parametrize(("family", "top1", "wrong"), [("D", 0.85, 3), ("E", 0.6, 5)])
def test_platform_faults_from_an_unseen_generator(
    bundles: Path, family: str, top1: float, wrong: int
) -> None:
    report = evaluate([bundles / family])
    s = report.summary
    assert s.n == 30 and not report.errors
    assert s.top1 >= top1, s.top1
    assert s.n_confident_wrong <= wrong
    best = max(v[0] for v in s.service.baselines.values())
    assert s.service.top1 >= best + 0.15
