"""The lazy command table in app.py matches the real commands, and each command
loads only its own module."""

from __future__ import annotations

import json
import subprocess
import sys

import typer

from aisre_cli.ui.cli import app as app_mod


def test_command_table_matches_the_real_commands() -> None:
    app_mod._register()
    group = typer.main.get_command(app_mod.app)
    commands = getattr(group, "commands", {})
    real = {name: cmd for name, cmd in commands.items() if not cmd.hidden}
    assert set(real) == set(app_mod.COMMANDS)
    for name, (_, short) in app_mod.COMMANDS.items():
        assert real[name].get_short_help_str(limit=300) == short, name


def test_a_command_imports_only_its_own_module() -> None:
    probe = (
        "import json, sys\n"
        "from aisre_cli.ui.cli.app import main\n"
        "try:\n    main(['triage', '--help'])\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted(m for m in sys.modules"
        " if m.startswith('aisre_cli.ui.cli.'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert loaded == [
        "aisre_cli.ui.cli.app",
        "aisre_cli.ui.cli.common",
        "aisre_cli.ui.cli.triage",
    ]
