#!/usr/bin/env python3
"""Bootstrap and run aisre from a fresh clone with nothing but Python 3.11+.

    python3 dev.py demo    # create .venv, install, run the demo triage
    python3 dev.py test    # create .venv, install with test extras, run the whole suite

The venv lives in .venv next to this file; it is created (or repaired) on demand,
and re-installed when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _stamp(extra: str) -> Path:
    return VENV / f".installed-{extra or 'base'}"


def ensure_venv(extra: str = "") -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this file must run on any python3)
        sys.exit(f"aisre needs Python 3.11+, this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating {VENV} …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = _stamp(extra)
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f".[{extra}]" if extra else "."
    print(f"installing aisre {target} into {VENV} …", file=sys.stderr)
    quiet = [] if os.environ.get("CI") else ["-q"]
    subprocess.run(
        [str(PY), "-m", "pip", "install", *quiet, "--disable-pip-version-check", "-e", target],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(digest)


def demo(args: list[str]) -> int:
    ensure_venv()
    aisre = [str(PY), "-m", "aisre_cli"]
    subprocess.run([*aisre, "alerts"], cwd=ROOT, check=False)
    return subprocess.run([*aisre, "triage", "CheckoutHighErrorRate", *args], cwd=ROOT).returncode


def test(args: list[str]) -> int:
    ensure_venv("test")
    checks = [
        [str(PY), "-m", "ruff", "check", "aisre_cli", "tests", "bench", "scripts"],
        [str(PY), "-m", "ruff", "format", "--check", "aisre_cli", "tests", "bench", "scripts"],
        [str(PY), "-m", "mypy", "aisre_cli"],
        [str(BIN / "lint-imports")],
    ]
    for cmd in checks:
        print("$", " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)), flush=True)
        rc = subprocess.run(cmd, cwd=ROOT).returncode
        if rc:
            return rc
    jobs = os.environ.get("AISRE_TEST_JOBS", "2")
    return subprocess.run([str(PY), "-m", "pytest", "-n", jobs, "-q", *args], cwd=ROOT).returncode


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, rest = sys.argv[1], sys.argv[2:]
    return demo(rest) if cmd == "demo" else test(rest)


if __name__ == "__main__":
    sys.exit(main())
