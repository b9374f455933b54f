"""Start-up budget: `aisre --help` / `--version` must not import the heavy parts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "textual",
    "httpx",
    "numpy",
    "orjson",
    "aisre_cli.investigate",
    "aisre_cli.remediate",
    "aisre_cli.govern",
    "aisre_cli.memory",
)
# (pydantic is not listed: Typer >= 0.2x itself uses it to coerce parameters.)

PROBE = """
import json, sys
heavy = json.loads(sys.argv[2])
from aisre_cli.ui.cli.app import main
sys.argv = ["aisre", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
bad = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
sys.stderr.write(json.dumps(bad))
"""


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["triage", "--help"], ["alerts", "--help"]]
)
def test_help_does_not_import_heavy_modules(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert loaded == [], f"`aisre {' '.join(args)}` imported {loaded}"


def test_the_cli_does_not_scan_for_pydantic_plugins() -> None:
    """Finding third-party pydantic plugins reads every installed package's metadata
    (~25 ms of each command), and a plugin would see the validation of untrusted input
    and secrets: the CLI turns them off before pydantic is first used."""
    probe = (
        "import os; os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None)\n"
        "import aisre_cli.ui.cli.app\n"
        "from aisre_cli.model import Alert\n"
        "import pydantic.plugin._loader as loader\n"
        "print(os.environ.get('PYDANTIC_DISABLE_PLUGINS'), loader._plugins)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["__all__", "None"]  # set, and the entry points were never read
