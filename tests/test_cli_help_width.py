"""Help text at 80 columns: an example's trailing `# comment` must fit on its line.

Click re-wraps help paragraphs to the terminal; an example line that is too long comes
out with its comment split over two lines, which reads as a second, broken command."""

from __future__ import annotations

import click
import pytest
import typer
from typer.testing import CliRunner

from aisre_cli.ui.cli import app as app_mod


def _commands() -> list[list[str]]:
    app_mod._register()
    root = typer.main.get_command(app_mod.app)
    out: list[list[str]] = [[]]

    def walk(cmd: click.Command, path: list[str]) -> None:
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if sub.hidden:
                continue
            out.append([*path, name])
            walk(sub, [*path, name])

    walk(root, [])
    return out


def _broken_examples(text: str) -> list[str]:
    lines = text.splitlines()
    bad = []
    for cur, nxt in zip(lines, lines[1:], strict=False):
        if "aisre " in cur and " # " in cur and nxt.strip():
            head = nxt.strip()
            if not head.startswith(("aisre", "#", "-")) and not nxt.startswith(cur[:4] + " "):
                bad.append(f"{cur.strip()!r} / {head!r}")
    return bad


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "aisre")
def test_examples_fit_80_columns(path: list[str]) -> None:
    app_mod._register()
    res = CliRunner().invoke(
        app_mod.app, [*path, "--help"], terminal_width=80, env={"COLUMNS": "80"}
    )
    assert res.exit_code == 0, res.output
    assert not _broken_examples(res.output)
