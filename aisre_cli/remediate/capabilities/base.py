"""What a capability is, what it renders, and the context it runs in.

A *capability* is the only way a runbook can act on the world. Each one declares:

* `name`, `description`;
* `Input` / `Output`: pydantic models; inputs are validated (narrow types from
  `remediate.types`) after templating, so nothing unvalidated reaches an argv or a
  request;
* `scope`: `read`, `write` or `destructive` (governance routes on it). A built-in's
  scope is taken as declared; a plugin's is a claim: governance routes a plugin's `read`
  as a `write` unless the policy trusts it (`trusted_plugin_capabilities`), and never
  lowers a declared `write`/`destructive`. The same holds for `handoff`;
* `undo_hint`: how it is undone ("" when it cannot be), and `undo()` that returns the
  inverse call when one exists;
* `render()`: the exact `Action` it would perform (an argv list or an HTTP request,
  never a shell string). The action's `digest()` is what a human confirms;
* `dry_run()`: what would happen, without doing it (for kubectl: the same argv with
  `--dry-run=server`);
* `execute()`: do it;
* optionally `target()`: where the action lands (for kubectl: the cluster context and
  namespace), shown in the plan and written to every audit record of the step, and
  `unpinned()`: why a step must not run because that target is not pinned (a
  kubectl write with no `kube_context` in the profile would act on whatever context
  is current). Governance refuses such a step.

The registry (`capabilities.registry`) is a closed set. There is no "run this command"
escape hatch except `exec`, which is `destructive` and only runs argv prefixes the
policy allowlists.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from aisre_cli.errors import AisreError, ExitCode
from aisre_cli.settings.config import Profile

Scope = Literal["read", "write", "destructive"]
SCOPES: tuple[Scope, ...] = ("read", "write", "destructive")


class CapabilityError(AisreError):
    """A capability failed to run (tool missing, non-zero exit, HTTP error)."""

    exit_code = ExitCode.FAILURE


class NotAllowed(CapabilityError):
    """The policy's allowlist (hosts for http.request, argv for exec) does not cover this."""

    exit_code = ExitCode.REFUSED


class StrictInput(BaseModel):
    """Base for capability inputs: unknown keys are an error, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AnyOutput(BaseModel):
    model_config = ConfigDict(extra="allow")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Action:
    """The exact thing a capability will do. What a human sees is what is hashed."""

    capability: str
    kind: Literal["argv", "http", "internal"]
    argv: tuple[str, ...] = ()
    method: str = ""
    url: str = ""
    params: tuple[tuple[str, str], ...] = ()
    body: Any = field(default=None, compare=False)
    summary: str = ""

    def text(self) -> str:
        """The rendering shown at the prompt and written to the audit log."""
        if self.kind == "argv":
            return shlex.join(self.argv)
        if self.kind == "http":
            q = ""
            if self.params:
                import urllib.parse

                q = "?" + urllib.parse.urlencode(list(self.params))
            from aisre_cli.settings.secrets import strip_userinfo

            head = f"{self.method} {strip_userinfo(self.url)}{q}"
            if self.body is not None:
                return head + "\n" + json.dumps(self.body, indent=2, sort_keys=True)
            return head
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "capability": self.capability,
            "kind": self.kind,
            "argv": list(self.argv),
            "method": self.method,
            "url": self.url,
            "params": [list(p) for p in self.params],
            "body": self.body,
            "summary": self.summary,
        }

    def digest(self) -> str:
        """sha256 of the canonical action: a confirmation is bound to this value."""
        return hashlib.sha256(canonical_json(self.to_dict()).encode()).hexdigest()


@dataclass(frozen=True)
class Preview:
    """The result of a dry run: what would happen."""

    action: Action
    ok: bool
    text: str


@dataclass(frozen=True)
class UndoCall:
    """The inverse of a capability call: another capability with its inputs."""

    capability: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Target:
    """Where an action lands, for the plan and the audit log.

    `kind` names the system (`kubernetes`); `context` and `namespace` pin a kubectl
    action to one cluster and namespace (None: not pinned / cluster-scoped)."""

    kind: str
    context: str | None = None
    namespace: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "context": self.context, "namespace": self.namespace}

    def text(self) -> str:
        """`context prod-eu, namespace shop` (or `current context (not pinned)`)."""
        ctx = f"context {self.context}" if self.context else "current context (not pinned)"
        return f"{ctx}, namespace {self.namespace}" if self.namespace else ctx


@dataclass(frozen=True)
class Permission:
    """An RBAC permission a write capability needs (`kubectl auth can-i VERB RESOURCE
    [--subresource=SUB]`), for `aisre doctor`."""

    verb: str
    resource: str
    subresource: str | None = None

    def text(self) -> str:
        return f"{self.verb} {self.resource}" + (f"/{self.subresource}" if self.subresource else "")


@dataclass
class ExecContext:
    """Everything a capability may use to act. Built by governance for one run.

    The allowlists come from the policy; remediate never reads the policy itself (it
    sits below govern in the layers).
    """

    profile: Profile
    kubectl: str = "kubectl"
    """The kubectl executable (looked up on PATH)."""
    env: Mapping[str, str] | None = None
    """Environment for subprocesses (None: inherit)."""
    http_allowlist: tuple[str, ...] = ()
    """Hosts `http.request` may call."""
    exec_allowlist: tuple[tuple[str, ...], ...] = ()
    """argv prefixes `exec` may run."""
    timeout_s: float = 60.0
    secret: Callable[[str], str | None] | None = None
    """Looks up a secret by name (keyring, then environment)."""
    sleep: Callable[[float], None] | None = None
    """Injected sleep (tests make `wait` instant)."""
    notify: Callable[[str], None] | None = None
    """Where `notify` messages go (the UI shows them)."""
    progress: Callable[[str], None] | None = None
    """Where a long wait reports how long is left (the CLI: one line on stderr)."""


class CapabilityBase:
    """Shared defaults for the built-in capabilities: one input and one output model
    per class, no undo, a blast radius of one target. Subclasses set the class
    attributes and override what differs."""

    name = ""
    description = ""
    undo_hint = ""
    supports_dry_run = True
    handoff = False
    """True for steps that hand the incident to a human (post a note, escalate): they
    change nothing in the system, so governance never refuses or escalates them. Only
    honoured for a built-in, or a plugin capability the policy trusts."""
    Input: type[StrictInput] = StrictInput
    Output: type[BaseModel] = AnyOutput

    @property
    def input_model(self) -> type[BaseModel]:
        return self.Input

    @property
    def output_model(self) -> type[BaseModel]:
        return self.Output

    def undo(self, inputs: BaseModel, output: Mapping[str, Any]) -> UndoCall | None:
        return None

    def blast_radius(self, inputs: BaseModel) -> int:
        return 1

    def target(self, inputs: BaseModel, ctx: ExecContext) -> Target | None:
        """Where the action lands (None: nowhere a human needs to see pinned)."""
        return None

    def unpinned(self, ctx: ExecContext) -> str | None:
        """Why this capability must not run with this context's target (None: it may)."""
        return None


def target_of(cap: object, inputs: BaseModel, ctx: ExecContext) -> Target | None:
    """`cap.target(...)` for capabilities that have one (plugins may not)."""
    fn = getattr(cap, "target", None)
    return fn(inputs, ctx) if callable(fn) else None


def unpinned_reason(cap: object, ctx: ExecContext) -> str | None:
    """`cap.unpinned(ctx)` for capabilities that have one (plugins may not)."""
    fn = getattr(cap, "unpinned", None)
    return fn(ctx) if callable(fn) else None


class Capability(Protocol):
    """A typed operation. See the module docstring."""

    name: str
    description: str
    scope: Scope
    undo_hint: str
    supports_dry_run: bool

    @property
    def input_model(self) -> type[BaseModel]: ...

    @property
    def output_model(self) -> type[BaseModel]: ...

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action: ...

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview: ...

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel: ...

    def undo(self, inputs: BaseModel, output: Mapping[str, Any]) -> UndoCall | None: ...

    def blast_radius(self, inputs: BaseModel) -> int: ...
