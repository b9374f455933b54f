"""A wheel built from the repository works on its own: installed into a fresh venv
(no checkout on the path) it lists the 6 shipped runbooks and triages the demo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow]

SHIPPED = sorted(p.stem for p in (REPO / "runbooks").glob("*.yaml"))


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{argv}: {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout


def test_wheel_ships_the_runbooks_and_triages_the_demo(tmp_path: Path) -> None:
    assert len(SHIPPED) == 6, SHIPPED
    # build from a copy of the sources, so the checkout gets no build/ or egg-info
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("aisre_cli", "runbooks"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", str(src), "--no-deps", "-w", str(dist)], tmp_path, env, 600)
    (wheel,) = dist.glob("aisre_cli-*.whl")

    # a fresh venv; its dependencies come from this test's environment (a plain path
    # entry: the checkout's editable-install hook in there is not activated)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    py = venv / "bin" / "python"
    purelib = _run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        tmp_path,
        env,
    ).strip()
    Path(purelib, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([*pip, "--python", str(py), "install", "--no-deps", str(wheel)], tmp_path, env)

    home = tmp_path / "home"
    home.mkdir()
    env["AISRE_HOME"] = str(home)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    where = _run([str(py), "-c", "import aisre_cli; print(aisre_cli.__file__)"], cwd, env)
    assert where.startswith(str(venv)), where

    aisre = str(venv / "bin" / "aisre")
    listed = json.loads(_run([aisre, "runbook", "list", "--json"], cwd, env))["runbooks"]
    assert sorted(r["id"] for r in listed) == SHIPPED
    assert all(r["source"].startswith(str(venv)) for r in listed), listed

    report = json.loads(_run([aisre, "triage", "--json"], cwd, env))
    assert report["hypotheses"] and report["hypotheses"][0]["confidence"] > 0
    suggested = {rb for h in report["hypotheses"] for rb in h.get("runbooks", [])}
    assert suggested & set(SHIPPED), report["hypotheses"][:3]
