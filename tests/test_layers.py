"""The import-linter contracts (layers follow the data flow; nothing below ui imports
typer, rich or textual) hold. dev.py also runs lint-imports before pytest; this keeps
the contract inside the test suite for anyone who runs pytest alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_import_contracts_are_kept() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(exe), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout
    assert "ui goes through flows" in proc.stdout
