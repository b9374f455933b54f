"""Local capabilities: `exec` (argv allowlisted by policy), `wait`, `notify`.

`exec` is the only capability that runs an arbitrary program, so it is `destructive`
and it runs only when the whole argv starts with a prefix the policy lists in
`exec_allowlist`. It still never uses a shell: `;`, `|` or `$(...)` in an element are
just bytes in one argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from aisre_cli.remediate import interrupt
from aisre_cli.remediate.capabilities.base import (
    Action,
    AnyOutput,
    Capability,
    CapabilityBase,
    CapabilityError,
    ExecContext,
    NotAllowed,
    Preview,
    Scope,
    StrictInput,
)
from aisre_cli.remediate.capabilities.kubectl import run_argv
from aisre_cli.remediate.types import Text, WaitDuration, parse_duration


def _no_nul(v: str) -> str:
    if "\x00" in v or "\n" in v or "\r" in v:
        raise ValueError("argv elements must not contain NUL or newlines")
    return v


ArgvElement = Annotated[str, AfterValidator(_no_nul), Field(max_length=4096)]


class _Local(CapabilityBase):
    """Defaults from CapabilityBase."""


class ExecInput(StrictInput):
    argv: list[ArgvElement] = Field(min_length=1, max_length=64)


class ExecOutput(BaseModel):
    returncode: int
    stdout: str = ""
    stderr: str = ""


def allowlisted(argv: list[str] | tuple[str, ...], allow: tuple[tuple[str, ...], ...]) -> bool:
    return any(len(p) > 0 and tuple(argv[: len(p)]) == tuple(p) for p in allow)


class Exec(_Local):
    name = "exec"
    description = "Run one program by argv (no shell) if the policy allowlists its prefix."
    scope: Scope = "destructive"
    Input = ExecInput
    Output = ExecOutput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = ExecInput.model_validate(inputs.model_dump())
        if not allowlisted(i.argv, ctx.exec_allowlist):
            raise NotAllowed(
                f"exec: {i.argv[0]!r} with these arguments is not in the policy's exec_allowlist",
                hint="add the argv prefix to `exec_allowlist` in the policy file",
            )
        return Action(self.name, "argv", argv=tuple(i.argv))

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        a = self.render(inputs, ctx)
        return Preview(a, True, f"would run:\n$ {a.text()}\n(no dry run exists for exec)")

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        cp = run_argv(self.render(inputs, ctx).argv, ctx)
        if cp.returncode != 0:
            raise CapabilityError(f"exec: exit {cp.returncode}: {cp.stderr.strip()[-300:]}")
        return ExecOutput(
            returncode=cp.returncode, stdout=cp.stdout[-4000:], stderr=cp.stderr[-4000:]
        )


class WaitInput(StrictInput):
    duration: WaitDuration


class Wait(_Local):
    name = "wait"
    description = "Wait for a while (let a rollout settle before verifying)."
    scope: Scope = "read"
    Input = WaitInput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = WaitInput.model_validate(inputs.model_dump())
        return Action(self.name, "internal", summary=f"wait {i.duration}")

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        return Preview(self.render(inputs, ctx), True, self.render(inputs, ctx).text())

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        i = WaitInput.model_validate(inputs.model_dump())
        seconds = parse_duration(i.duration)
        if ctx.sleep is not None:
            ctx.sleep(seconds)
        else:
            interrupt.sleep(seconds, progress=ctx.progress, what=f"wait {i.duration}")
        return AnyOutput()


class NotifyInput(StrictInput):
    message: Text = Field(min_length=1, max_length=2000)


class Notify(_Local):
    name = "notify"
    description = "Show a message to the operator (instructions, a manual check)."
    scope: Scope = "read"
    Input = NotifyInput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = NotifyInput.model_validate(inputs.model_dump())
        return Action(self.name, "internal", summary=f"notify: {i.message}")

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        return Preview(self.render(inputs, ctx), True, self.render(inputs, ctx).text())

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        i = NotifyInput.model_validate(inputs.model_dump())
        if ctx.notify is not None:
            ctx.notify(i.message)
        return AnyOutput(message=i.message)


def register_capabilities(register: Callable[[Capability], None]) -> None:
    """The built-in local capabilities, registered like a plugin's."""
    register(Exec())
    register(Wait())
    register(Notify())
