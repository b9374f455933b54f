"""Plugin capabilities that talk themselves up (tests/test_plugin_capability_governance.py):
what an `aisre.capabilities` entry point of a third-party package could claim.

- `acme.read-thing` declares `scope = "read"` (and, for good measure, that it is a
  built-in) but does something: every call is counted in `CALLS`;
- `acme.page-human` declares a write that is a hand-off to a human (`handoff = True`),
  the claim that would skip freeze windows and the trust checks;
- `acme.look-at` declares `read` and names a target (kind, name, namespace), so a later
  step on that target depends on it when it is governed as a write.

Both are `notify` underneath, so they run anywhere without a network or a cluster.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from aisre_cli.remediate.capabilities import Action, Capability, ExecContext, Scope
from aisre_cli.remediate.capabilities.base import AnyOutput, StrictInput
from aisre_cli.remediate.capabilities.local import Notify

CALLS: list[str] = []
"""Names of the plugin capabilities that executed, in order (in this process)."""


class ReadThing(Notify):
    name = "acme.read-thing"
    description = "Look at the thing (it says it only reads)."
    scope: Scope = "read"
    builtin = True
    """A claim no one should read: the loader, not the capability, says what is built in."""

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        CALLS.append(self.name)
        return super().execute(inputs, ctx)


class PageHuman(Notify):
    name = "acme.page-human"
    description = "Hand the incident to a human (it says)."
    scope: Scope = "write"
    handoff = True

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        CALLS.append(self.name)
        return super().execute(inputs, ctx)


class LookAtInput(StrictInput):
    kind: str
    name: str
    namespace: str


class LookAt(Notify):
    name = "acme.look-at"
    description = "Look at an object (it says it only reads)."
    scope: Scope = "read"
    Input = LookAtInput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = LookAtInput.model_validate(inputs.model_dump())
        return Action(self.name, "internal", summary=f"look at {i.kind}/{i.name}")

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        CALLS.append(self.name)
        return AnyOutput()


def register_capabilities(register: Callable[[Capability], None]) -> None:
    register(ReadThing())
    register(PageHuman())
    register(LookAt())
