"""What the runbooks need the cluster to allow, and whether it does (`aisre doctor`).

`required_permissions()` collects the RBAC permissions of every write step of the
profile's runbooks (shipped and `runbook_dirs`), including inline undo steps, from
each kubectl capability's `permissions()`. `can_i()` asks the cluster with
`kubectl auth can-i VERB RESOURCE [--subresource=SUB]`, pinned with `--context` and
`--namespace` like every other kubectl call aisre makes: `yes` (exit 0), `no`
(exit 1 with `no` on stdout), anything else is an `error` with kubectl's last line.

Without a `kube_context` nothing is asked: write steps are refused anyway, and a
can-i against whatever context is current would answer for the wrong cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aisre_cli.errors import AisreError
from aisre_cli.remediate.capabilities import ExecContext, Permission, Registry
from aisre_cli.remediate.runbook import Runbook

Answer = Literal["yes", "no", "error"]


@dataclass
class Needed:
    """One permission and the runbook steps that need it."""

    permission: Permission
    steps: list[str] = field(default_factory=list)
    """`runbook-id/step-id` of each step (or inline undo) that needs it."""


@dataclass(frozen=True)
class CanI:
    permission: Permission
    answer: Answer
    detail: str
    argv: tuple[str, ...]
    steps: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        import shlex

        return {
            "verb": self.permission.verb,
            "resource": self.permission.resource,
            "subresource": self.permission.subresource,
            "answer": self.answer,
            "detail": self.detail,
            "command": shlex.join(self.argv),
            "steps": list(self.steps),
        }


def required_permissions(books: Iterable[Runbook], registry: Registry) -> list[Needed]:
    """Every permission the write steps of `books` need, in first-seen order."""
    found: dict[Permission, Needed] = {}

    def add(rb: Runbook, step_id: str, capability: str, inputs: dict[str, Any]) -> None:
        if capability not in registry:
            return
        cap = registry.get(capability)
        perms = getattr(cap, "permissions", None)
        if cap.scope == "read" or not callable(perms):
            return
        for p in perms(inputs):
            found.setdefault(p, Needed(p)).steps.append(f"{rb.id}/{step_id}")

    for rb in books:
        for st in (*rb.steps, *rb.undo_steps):
            add(rb, st.id, st.capability, dict(st.inputs))
            undo = st.undo
            cap_name = getattr(undo, "capability", None)
            if isinstance(cap_name, str):
                add(rb, f"{st.id}.undo", cap_name, dict(getattr(undo, "inputs", {}) or {}))
    return list(found.values())


def can_i_argv(ctx: ExecContext, p: Permission) -> list[str]:
    """`kubectl auth can-i` with the global flags every runbook kubectl call gets: the
    profile's kubeconfig (`sources.kubernetes.kubeconfig`) and context; without the
    kubeconfig, kubectl looked the context up in its default file and every answer was
    `context "…" does not exist`."""
    from aisre_cli.remediate.capabilities.kubectl import kube_flags

    prof = ctx.profile
    argv = [ctx.kubectl, *kube_flags(ctx)]
    if prof.namespace:
        argv += ["--namespace", prof.namespace]
    argv += ["auth", "can-i", p.verb, p.resource]
    if p.subresource:
        argv.append(f"--subresource={p.subresource}")
    argv.append("--request-timeout=5s")
    return argv


def can_i(ctx: ExecContext, need: Needed) -> CanI:
    """Ask the cluster whether the profile's identity may do `need.permission`."""
    from aisre_cli.remediate.capabilities.kubectl import run_argv

    argv = can_i_argv(ctx, need.permission)
    steps = tuple(need.steps)
    try:
        cp = run_argv(argv, ctx, timeout=min(ctx.timeout_s, 15.0))
    except AisreError as exc:
        return CanI(need.permission, "error", exc.message, tuple(argv), steps)
    first = (cp.stdout.strip().splitlines() or [""])[0].strip().lower()
    if cp.returncode == 0 and first == "yes":
        return CanI(need.permission, "yes", "", tuple(argv), steps)
    if cp.returncode == 1 and first.startswith("no"):
        return CanI(need.permission, "no", first, tuple(argv), steps)
    err = (cp.stderr or cp.stdout).strip().splitlines()
    detail = (err[-1] if err else f"kubectl exited {cp.returncode}")[:300]
    return CanI(need.permission, "error", detail, tuple(argv), steps)
