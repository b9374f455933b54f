"""Run `aisre` in-process through `main()` (the real error renderer and exit codes),
capturing stdout and stderr."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from dataclasses import dataclass


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float


class _TtyInput(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_cli(argv: list[str], input: str | None = None, tty: bool = False) -> Result:  # noqa: A002
    """Run `aisre argv`; `tty=True` makes stdin look like a terminal (interactive prompts)."""
    from aisre_cli.ui.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = (_TtyInput if tty else io.StringIO)(input or "")
    code = 0
    t0 = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue(), time.monotonic() - t0)
