"""Signals are read by what they mean, not by the names one system gives them: the same
real incidents, with their metrics renamed to the vocabularies other stacks export
(OpenTelemetry's semantic conventions and hostmetrics, Datadog's agent and APM, Micrometer
and gRPC), rank the same services on top. Where a vocabulary states a share the other
way round (errors where the source had success, usable memory where it had used), the
values are turned over too: 99.6% success and 0.4% errors are one measurement.

The bundles are real third-party incidents (`../shared/datasets`); the renaming touches
only metric names and, where the meaning flips, values."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from aisre_cli.investigate.evaluate import analyze_bundle
from aisre_cli.investigate.rank import Weights
from aisre_cli.settings.config import Profile
from aisre_cli.sources.registry import bundle_set
from tests.conftest import IN_CI, PETSHOP, REPO


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("relabel", REPO / "scripts" / "relabel.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


relabel = _script()
VOCABULARIES = relabel.VOCABULARIES

NEZHA = REPO.parent / "shared" / "datasets" / "nezha-ob"

# a few incidents of each real dataset, of different fault types and traffic shapes
BUNDLES = {
    NEZHA: [
        "nezha-ob-2022-08-22T0353",
        "nezha-ob-2022-08-22T0418",
        "nezha-ob-2022-08-23T1354",
        "nezha-ob-2022-08-23T1504",
    ],
    PETSHOP: [
        "petshop-high_traffic-train-issue2",
        "petshop-high_traffic-test-issue6",
        "petshop-low_traffic-test-issue0",
        "petshop-temporal_traffic1-test-issue2",
    ],
}


def _tops(root: Path) -> dict[str, list[str]]:
    """bundle id → its three top-ranked services."""
    prof, w = Profile(), Weights.load()
    out: dict[str, list[str]] = {}
    for b in sorted(root.iterdir()):
        ranked = sorted(analyze_bundle(bundle_set(b), prof, w).candidates, key=lambda c: -c.score)
        out[b.name] = list(dict.fromkeys(c.service for c in ranked))[:3]
    return out


@pytest.mark.parametrize(
    ("vocab", "dotted"), [*((v, False) for v in sorted(VOCABULARIES)), ("datadog", True)]
)
def test_renamed_vocabularies_rank_the_same_services(
    vocab: str, dotted: bool, tmp_path: Path
) -> None:
    """`dotted`: every name written with dots (`system.cpu.user`), as StatsD and
    OpenTelemetry instruments name them before a Prometheus export."""
    if not all(d.exists() for d in BUNDLES):
        if IN_CI:
            pytest.fail(f"datasets missing under CI: {', '.join(map(str, BUNDLES))}")
        pytest.skip("the shared datasets are not present")
    orig, renamed = tmp_path / "orig", tmp_path / "renamed"
    for src_root, ids in BUNDLES.items():
        for b in ids:
            shutil.copytree(src_root / b, orig / b)
            relabel.rename(src_root / b, renamed / b, VOCABULARIES[vocab], dotted)
    before, after = _tops(orig), _tops(renamed)
    assert set(before) == set(after) == {b for ids in BUNDLES.values() for b in ids}
    for b in sorted(before):
        assert after[b][0] == before[b][0], f"{vocab}: {b} top {after[b]} vs {before[b]}"
        assert set(after[b]) == set(before[b]), f"{vocab}: {b} top 3 {after[b]} vs {before[b]}"


def test_kube_prometheus_labels_rank_the_same_services(tmp_path: Path) -> None:
    """A series names its service the way the stack that scraped it does: the collector's
    job is not a service, and a pod belongs to its workload."""
    if not NEZHA.exists():
        if IN_CI:
            pytest.fail(f"dataset missing under CI: {NEZHA}")
        pytest.skip("the shared datasets are not present")
    orig, relabelled = tmp_path / "orig", tmp_path / "relabelled"
    for b in BUNDLES[NEZHA]:
        shutil.copytree(NEZHA / b, orig / b)
        relabel.kube_prometheus(NEZHA / b, relabelled / b)
    before, after = _tops(orig), _tops(relabelled)
    for b in sorted(before):
        assert after[b][0] == before[b][0], f"{b} top {after[b]} vs {before[b]}"
