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


_FREEZE_PROBE = """
import atexit, gc, sys
atexit.register(lambda: sys.stderr.write(f"\\nfrozen={gc.get_freeze_count() > 0}\\n"))
sys.argv = ["aisre", "--bundle", DEMO, "triage", "--json", "--no-record"]
{entry}
"""


def test_only_a_one_shot_aisre_process_freezes_its_start_up_heap() -> None:
    """The console script freezes what start-up loaded out of the cycle collector
    (runtime.settle_heap); the same command run inside another process (tests, an
    embedding host) leaves that process's collector alone."""
    from aisre_cli.settings.paths import demo_bundle_dir

    demo = demo_bundle_dir()

    for entry, frozen in (
        ("from aisre_cli.__main__ import run; run()", True),
        ("from aisre_cli.ui.cli.app import main; main(sys.argv[1:])", False),
    ):
        code = _FREEZE_PROBE.replace("DEMO", repr(str(demo))).replace("{entry}", entry)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr[-500:]
        assert json.loads(p.stdout)["hypotheses"], "the triage ran"
        assert f"frozen={frozen}" in p.stderr, (entry, p.stderr[-300:])


_HEAVY_PROBE = """
import gc, sys
from aisre_cli import runtime
if ONE_SHOT:
    runtime.one_shot_process()
assert "colorsys" not in sys.modules
gc.enable()
mod = runtime.heavy_import("colorsys")
assert mod is sys.modules["colorsys"] and mod.rgb_to_hsv
assert gc.isenabled(), "the collector is on again after the import"
print(gc.get_freeze_count() > 0)
gc.disable()
runtime.heavy_import("colorsys")
assert not gc.isenabled(), "a collector the caller turned off stays off"
try:
    runtime.heavy_import("aisre_no_such_module")
except ImportError:
    pass
assert not gc.isenabled()
gc.enable()
try:
    runtime.heavy_import("aisre_no_such_module")
except ImportError:
    assert gc.isenabled(), "a failed import turns the collector back on"
"""


def test_heavy_import_pauses_the_collector_and_freezes_only_in_a_one_shot_process() -> None:
    """psycopg is imported mid-command (a team store): with the collector paused, then
    frozen out of its sight in the `aisre` console script only; the collector is on
    again afterwards, also when the import fails."""
    for one_shot, frozen in ((True, "True"), (False, "False")):
        code = _HEAVY_PROBE.replace("ONE_SHOT", repr(one_shot))
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr[-800:]
        assert p.stdout.strip() == frozen
