"""Run the `aisre` CLI in-process, as a test does: exit code, stdout, stderr."""

from __future__ import annotations

import pytest

from aisre_cli.ui.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`aisre ARGS…` in this process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    cap = capsys.readouterr()
    return code, cap.out, cap.err
