"""Drive a RunSession to the end in a subprocess, for the crash-safety tests.

    python -m tests.fakes.crash_runner start RUNBOOK.yaml
    python -m tests.fakes.crash_runner resume RUN_ID RUNBOOK.yaml

Every step is confirmed as a human pressing `y` would be (session.confirm with the
displayed digest). The `test.touch` capability appends its name to $CRASH_EFFECTS
(fsynced), so the test can count how often each action really happened. With
AISRE_CRASHPOINT set the process SIGKILLs itself at that point.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aisre_cli.govern.session import RunSession
from aisre_cli.remediate.capabilities import Registry, default_registry
from aisre_cli.remediate.capabilities.base import (
    Action,
    AnyOutput,
    ExecContext,
    Preview,
    Scope,
    StrictInput,
    UndoCall,
)
from aisre_cli.remediate.runbook import load_file, validate_runbook
from aisre_cli.remediate.types import K8sName
from aisre_cli.settings.config import Profile


class TouchInput(StrictInput):
    name: K8sName


class Touch:
    name = "test.touch"
    description = "Append a name to $CRASH_EFFECTS (a fast, countable side effect)."
    scope: Scope = "write"
    undo_hint = ""
    supports_dry_run = True

    @property
    def input_model(self) -> type[BaseModel]:
        return TouchInput

    @property
    def output_model(self) -> type[BaseModel]:
        return AnyOutput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        return Action(self.name, "internal", summary=f"touch {inputs.model_dump()['name']}")

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        return Preview(self.render(inputs, ctx), True, "would touch")

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        with open(os.environ["CRASH_EFFECTS"], "a", encoding="utf-8") as fh:
            fh.write(inputs.model_dump()["name"] + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return AnyOutput(touched=inputs.model_dump()["name"])

    def undo(self, inputs: BaseModel, output: Mapping[str, Any]) -> UndoCall | None:
        return None

    def blast_radius(self, inputs: BaseModel) -> int:
        return 1


def registry() -> Registry:
    return Registry([*default_registry(), Touch()])


PROFILE = Profile(environment="staging", namespace="shop")


def drive(session: RunSession) -> str:
    while (ps := session.current_step()) is not None:
        conf = session.confirm(ps, ps.action.digest())
        out = session.run(ps, conf)
        if not out.ok:
            session.fail(ps, out.error or "failed")
            break
    return session.finish().status


def main(argv: list[str]) -> int:
    reg = registry()
    if argv[0] == "start":
        loaded = load_file(Path(argv[1]))
        assert loaded.runbook is not None, loaded.problems
        assert not validate_runbook(loaded.runbook, loaded.lines, reg)
        session = RunSession.start(loaded.runbook, "t", PROFILE, registry=reg)
    else:
        session = RunSession.resume(argv[1], "t", PROFILE, registry=reg)
    sys.stdout.write(session.run_id + "\n")
    sys.stdout.flush()
    status = drive(session)
    sys.stdout.write(status + "\n")
    return 0 if status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
