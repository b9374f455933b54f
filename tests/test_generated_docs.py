"""The man page and shell completions are generated from the CLI and must not drift.

Fix any failure here with `python scripts/gen_docs.py` and commit the result.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "scripts" / "gen_docs.py"
MAN = ROOT / "man" / "aisre.1"
BASH = ROOT / "completions" / "aisre.bash"
ZSH = ROOT / "completions" / "aisre.zsh"
FISH = ROOT / "completions" / "aisre.fish"
GENERATED = (MAN, BASH, ZSH, FISH)
HINT = "run python scripts/gen_docs.py"


def _top_level_commands() -> list[str]:
    import typer.main

    from aisre_cli.ui.cli.app import _register, app

    _register()
    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    return sorted(name for name, cmd in commands.items() if not getattr(cmd, "hidden", False))


def test_generated_files_are_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, (
        f"generated docs/completions are out of date; {HINT}\n{proc.stdout}{proc.stderr}"
    )


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: p.name)
def test_generated_file_exists(path: Path) -> None:
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing; {HINT}"


def test_man_page_has_th_header() -> None:
    text = MAN.read_text(encoding="utf-8")
    th = [ln for ln in text.splitlines() if ln.startswith(".TH ")]
    assert th, f"man/aisre.1 has no .TH header; {HINT}"
    assert th[0].startswith(".TH AISRE 1 ")
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES"):
        assert f".SH {section}" in text, f"man/aisre.1 lacks {section}; {HINT}"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_completion_parses() -> None:
    proc = subprocess.run(["bash", "-n", str(BASH)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(
    shutil.which("zsh") is None and not os.environ.get("CI"), reason="zsh not installed"
)
def test_zsh_completion_parses() -> None:
    proc = subprocess.run(["zsh", "-n", str(ZSH)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(
    shutil.which("fish") is None and not os.environ.get("CI"), reason="fish not installed"
)
def test_fish_completion_parses() -> None:
    proc = subprocess.run(["fish", "--no-execute", str(FISH)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_completion_completes_top_level_commands() -> None:
    script = (
        f'source "{BASH}"; COMP_WORDS=(aisre ""); COMP_CWORD=1; _aisre; echo "${{COMPREPLY[*]}}"'
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == _top_level_commands(), HINT


def test_every_top_level_command_is_documented() -> None:
    names = _top_level_commands()
    assert names, "no commands registered"
    for path in GENERATED:
        text = path.read_text(encoding="utf-8")
        if path == MAN:
            text = text.replace("\\-", "-")
        missing = [n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text)]
        assert not missing, f"{path.relative_to(ROOT)} lacks {missing}; {HINT}"
