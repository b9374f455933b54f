"""kubectl capabilities: argv lists only, never a shell.

The context and the default namespace come from the profile (`kube_context`,
`namespace`); a runbook may name another namespace, validated as a Kubernetes name.
Every kubectl call a capability makes (the action, its `--dry-run=server` preview, the
replica count read before a scale, an undo, a verification) passes `--kubeconfig` when
the profile names one (`sources.kubernetes.kubeconfig`, the file the Kubernetes source
reads, so the context is looked up where the profile says it is), `--context` when
the profile names one, and `--namespace` for namespaced objects. A *write* refuses to
run or preview when the profile names no context: kubectl would act on whatever
context happens to be current, which is how a rollback hits the wrong cluster
(governance refuses the step first; `execute` refuses again here). Reads still run,
against the current context, and the plan says so.
Every resource name is a `K8sName`, so nothing from an alert or a log line can become
a flag (`--all-namespaces`) or a second command (`x; rm -rf /`). Write capabilities
dry-run with `--dry-run=server`, which asks the API server to validate and admit the
change without persisting it.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, field_validator

from aisre_cli.errors import ConfigError, GovernanceRefused
from aisre_cli.remediate import interrupt
from aisre_cli.remediate.capabilities.base import (
    Action,
    AnyOutput,
    Capability,
    CapabilityBase,
    CapabilityError,
    ExecContext,
    Permission,
    Preview,
    Scope,
    StrictInput,
    Target,
    UndoCall,
    canonical_json,
)
from aisre_cli.remediate.types import K8sName, Quantity, Replicas, Revision, WaitDuration

Workload = Literal["deployment", "statefulset", "daemonset"]
Gettable = Literal[
    "deployment",
    "statefulset",
    "daemonset",
    "replicaset",
    "pod",
    "service",
    "node",
    "pvc",
    "persistentvolumeclaim",
    "certificate",
    "certificaterequest",
    "event",
    "hpa",
]


_SELECTOR = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9._/-]{0,250}[A-Za-z0-9])?=[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
    r"(,[A-Za-z0-9]([A-Za-z0-9._/-]{0,250}[A-Za-z0-9])?=[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)*\Z"
)


def _selector(v: str | None) -> str | None:
    if v is not None and not _SELECTOR.fullmatch(v):
        raise ValueError("selector must be key=value[,key=value] with plain names")
    return v


UNPINNED = (
    "no Kubernetes context: the profile names no kube_context, so kubectl would act on"
    " whatever context is current"
)
PIN_HINT = (
    "pin the cluster: set `kube_context:` in the profile (`aisre config edit`), or create"
    " the profile with `aisre config init --kube-context CONTEXT --namespace NAMESPACE`"
)
PLURAL = {
    "deployment": "deployments",
    "statefulset": "statefulsets",
    "daemonset": "daemonsets",
}


def _plural(raw: Mapping[str, Any], default: str = "deployment") -> str:
    """The resource of a runbook step's `kind` input (templated kinds: the default)."""
    kind = raw.get("kind", default)
    return PLURAL.get(kind if isinstance(kind, str) else default, PLURAL[default])


class _NsInput(StrictInput):
    namespace: K8sName | None = None
    """Namespace override; default: the profile's namespace."""


def profile_kubeconfig(profile: Any) -> str | None:
    """The profile's `sources.kubernetes.kubeconfig` (`~` expanded), or None: kubectl
    then uses its own default ($KUBECONFIG, then ~/.kube/config), as the Kubernetes
    source does."""
    sources = getattr(profile, "sources", None)
    raw = getattr(sources, "kubernetes", None) or (getattr(sources, "model_extra", None) or {}).get(
        "kubernetes"
    )
    value = raw.get("kubeconfig") if isinstance(raw, Mapping) else getattr(raw, "kubeconfig", None)
    if not isinstance(value, str) or not value.strip():
        return None
    return os.path.expanduser(value.strip())


def kubeconfig_flags(profile: Any) -> list[str]:
    """`--kubeconfig=FILE` when the profile names a kubeconfig, else nothing."""
    kubeconfig = profile_kubeconfig(profile)
    return [f"--kubeconfig={kubeconfig}"] if kubeconfig else []


def kube_flags(ctx: ExecContext) -> list[str]:
    """`--kubeconfig=FILE` (when the profile names one) and `--context NAME` (when the
    profile pins one): the global flags of every kubectl call a capability makes."""
    argv = kubeconfig_flags(ctx.profile)
    if ctx.profile.kube_context:
        argv += ["--context", ctx.profile.kube_context]
    return argv


def _base_argv(
    ctx: ExecContext, namespace: str | None, *, cluster_scoped: bool = False
) -> list[str]:
    argv = [ctx.kubectl, *kube_flags(ctx)]
    if not cluster_scoped:
        ns = namespace or ctx.profile.namespace
        if not ns:
            raise ConfigError(
                "no Kubernetes namespace: the profile sets none and the step gives none",
                hint="set `namespace:` in the profile or pass --param namespace=NAME",
            )
        argv += ["--namespace", ns]
    return argv


def run_argv(
    argv: list[str] | tuple[str, ...], ctx: ExecContext, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one argv (no shell) in its own process group. Raise CapabilityError when it
    cannot start or times out, StepInterrupted (the group terminated) on SIGINT/SIGTERM
    (`remediate.interrupt`)."""
    try:
        return interrupt.run_child(argv, env=ctx.env, timeout=timeout or ctx.timeout_s)
    except FileNotFoundError:
        raise CapabilityError(
            f"{argv[0]}: not found on PATH", hint="install it or fix PATH"
        ) from None
    except subprocess.TimeoutExpired:
        raise CapabilityError(
            f"{argv[0]} timed out after {timeout or ctx.timeout_s:.0f}s"
        ) from None


def _checked(argv: list[str], ctx: ExecContext, timeout: float | None = None) -> str:
    cp = run_argv(argv, ctx, timeout)
    if cp.returncode != 0:
        err = (cp.stderr or cp.stdout).strip().splitlines()
        tail = err[-1] if err else ""
        raise CapabilityError(f"kubectl exited {cp.returncode}: {tail}"[:500])
    return cp.stdout


class KubectlOutput(BaseModel):
    stdout: str = ""


def _server_dry_run(action: Action, ctx: ExecContext) -> Preview:
    argv = [*action.argv, "--dry-run=server"]
    cp = run_argv(argv, ctx)
    out = (cp.stdout + cp.stderr).strip()
    shown = Action(action.capability, "argv", argv=tuple(argv)).text()
    return Preview(action=action, ok=cp.returncode == 0, text=f"$ {shown}\n{out}")


def _show_read(action: Action) -> Preview:
    return Preview(action=action, ok=True, text=f"$ {action.text()}\n(read only: runs as shown)")


class _Kubectl(CapabilityBase):
    """kubectl defaults: reads are shown as they will run, writes are previewed with
    `--dry-run=server`; executing runs the rendered argv."""

    Output: type[BaseModel] = KubectlOutput
    scope: Scope = "read"

    render: Callable[[BaseModel, ExecContext], Action]
    """Every subclass renders its own argv."""

    pin_hint: str = PIN_HINT
    cluster_scoped_kinds: frozenset[str] = frozenset()
    """Values of the `kind` input that name cluster-scoped objects (no namespace)."""

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        action = self.render(inputs, ctx)
        if self.scope == "read":
            return _show_read(action)
        why = self.unpinned(ctx)
        if why is not None:  # a server dry run would ask whichever cluster is current
            return Preview(action=action, ok=False, text=f"not previewed: {why}\n{PIN_HINT}")
        return _server_dry_run(action, ctx)

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        self.require_pinned(ctx)
        return KubectlOutput(stdout=_checked(list(self.render(inputs, ctx).argv), ctx))

    def target(self, inputs: BaseModel, ctx: ExecContext) -> Target:
        ns: str | None = getattr(inputs, "namespace", None) or ctx.profile.namespace
        if getattr(inputs, "kind", None) in self.cluster_scoped_kinds:
            ns = None
        return Target("kubernetes", ctx.profile.kube_context, ns)

    def unpinned(self, ctx: ExecContext) -> str | None:
        if self.scope != "read" and not ctx.profile.kube_context:
            return UNPINNED
        return None

    def require_pinned(self, ctx: ExecContext) -> None:
        """Refuse a write whose cluster is not pinned (governance refused it already;
        this is the last line, right before kubectl would run)."""
        why = self.unpinned(ctx)
        if why is not None:
            raise GovernanceRefused(f"{self.name}: {why}", hint=PIN_HINT)

    def permissions(self, raw_inputs: Mapping[str, Any]) -> list[Permission]:
        """RBAC permissions a step with these (raw, possibly templated) inputs needs."""
        return []


# ----------------------------------------------------------------- reads


class GetInput(_NsInput):
    kind: Gettable
    name: K8sName | None = None
    selector: str | None = None
    output: Literal["wide", "json", "yaml", "name"] = "wide"

    @field_validator("selector")
    @classmethod
    def _sel(cls, v: str | None) -> str | None:
        return _selector(v)


class KubectlGet(_Kubectl):
    name = "kubectl.get"
    description = "Show Kubernetes objects (kubectl get)."
    scope: Scope = "read"
    Input = GetInput
    cluster_scoped_kinds = frozenset({"node"})

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = GetInput.model_validate(inputs.model_dump())
        argv = _base_argv(ctx, i.namespace, cluster_scoped=i.kind == "node")
        argv += ["get", i.kind]
        if i.name:
            argv.append(i.name)
        if i.selector:
            argv += ["--selector", i.selector]
        argv += ["--output", i.output]
        return Action(self.name, "argv", argv=tuple(argv))


class RolloutInput(_NsInput):
    kind: Workload = "deployment"
    name: K8sName


class RolloutStatusInput(RolloutInput):
    timeout: WaitDuration = "120s"


class KubectlRolloutStatus(_Kubectl):
    name = "kubectl.rollout_status"
    description = "Wait for a rollout to finish (kubectl rollout status)."
    scope: Scope = "read"
    Input = RolloutStatusInput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = RolloutStatusInput.model_validate(inputs.model_dump())
        argv = _base_argv(ctx, i.namespace)
        argv += ["rollout", "status", f"{i.kind}/{i.name}", f"--timeout={i.timeout}"]
        return Action(self.name, "argv", argv=tuple(argv))

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        from aisre_cli.remediate.types import parse_duration

        i = RolloutStatusInput.model_validate(inputs.model_dump())
        out = _checked(list(self.render(inputs, ctx).argv), ctx, parse_duration(i.timeout) + 10)
        return KubectlOutput(stdout=out)


class WaitConditionInput(_NsInput):
    kind: Literal["deployment", "statefulset", "pod", "certificate", "pvc", "job"]
    name: K8sName
    condition: Literal["Ready", "Available", "Complete", "Resized"] = "Ready"
    timeout: WaitDuration = "120s"


class KubectlWaitCondition(_Kubectl):
    name = "kubectl.wait_condition"
    description = "Wait until an object reports a condition (kubectl wait --for=condition=...)."
    scope: Scope = "read"
    Input = WaitConditionInput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = WaitConditionInput.model_validate(inputs.model_dump())
        argv = _base_argv(ctx, i.namespace)
        argv += [
            "wait",
            f"--for=condition={i.condition}",
            f"{i.kind}/{i.name}",
            f"--timeout={i.timeout}",
        ]
        return Action(self.name, "argv", argv=tuple(argv))

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        from aisre_cli.remediate.types import parse_duration

        i = WaitConditionInput.model_validate(inputs.model_dump())
        out = _checked(list(self.render(inputs, ctx).argv), ctx, parse_duration(i.timeout) + 10)
        return KubectlOutput(stdout=out)


# ----------------------------------------------------------------- writes


class RolloutUndoInput(RolloutInput):
    to_revision: Revision | None = None


class KubectlRolloutUndo(_Kubectl):
    name = "kubectl.rollout_undo"
    description = "Roll a workload back to its previous (or a given) revision."
    scope: Scope = "write"
    undo_hint = "roll forward again: `kubectl rollout undo` returns to the revision before"
    Input = RolloutUndoInput

    def permissions(self, raw_inputs: Mapping[str, Any]) -> list[Permission]:
        return [Permission("patch", _plural(raw_inputs))]

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = RolloutUndoInput.model_validate(inputs.model_dump())
        argv = _base_argv(ctx, i.namespace)
        argv += ["rollout", "undo", f"{i.kind}/{i.name}"]
        if i.to_revision is not None:
            argv.append(f"--to-revision={i.to_revision}")
        return Action(self.name, "argv", argv=tuple(argv))

    def undo(self, inputs: BaseModel, output: Mapping[str, Any]) -> UndoCall | None:
        i = RolloutUndoInput.model_validate(inputs.model_dump())
        return UndoCall(
            "kubectl.rollout_undo",
            {"kind": i.kind, "name": i.name, "namespace": i.namespace},
        )


class KubectlRolloutRestart(_Kubectl):
    name = "kubectl.rollout_restart"
    description = "Restart a workload's pods with a rolling restart."
    scope: Scope = "write"
    undo_hint = ""
    Input = RolloutInput

    def permissions(self, raw_inputs: Mapping[str, Any]) -> list[Permission]:
        return [Permission("patch", _plural(raw_inputs))]

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = RolloutInput.model_validate(inputs.model_dump())
        argv = _base_argv(ctx, i.namespace)
        argv += ["rollout", "restart", f"{i.kind}/{i.name}"]
        return Action(self.name, "argv", argv=tuple(argv))


class ScaleInput(_NsInput):
    kind: Literal["deployment", "statefulset"] = "deployment"
    name: K8sName
    replicas: Replicas


class ScaleOutput(BaseModel):
    stdout: str = ""
    previous_replicas: int | None = None
    replicas: int


class KubectlScale(_Kubectl):
    name = "kubectl.scale"
    description = "Set a workload's replica count (records the previous count for undo)."
    scope: Scope = "write"
    undo_hint = "scale back to the replica count recorded before the change"
    Input = ScaleInput
    Output = ScaleOutput

    def permissions(self, raw_inputs: Mapping[str, Any]) -> list[Permission]:
        # kubectl scale patches the scale subresource (an update with --current-replicas)
        return [Permission("patch", _plural(raw_inputs), "scale")]

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = ScaleInput.model_validate(inputs.model_dump())
        argv = _base_argv(ctx, i.namespace)
        argv += ["scale", f"{i.kind}/{i.name}", f"--replicas={i.replicas}"]
        return Action(self.name, "argv", argv=tuple(argv))

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        self.require_pinned(ctx)
        i = ScaleInput.model_validate(inputs.model_dump())
        get = _base_argv(ctx, i.namespace) + [
            "get",
            f"{i.kind}/{i.name}",
            "--output=jsonpath={.spec.replicas}",
        ]
        prev_raw = _checked(get, ctx).strip()
        prev = int(prev_raw) if prev_raw.isdigit() else None
        out = _checked(list(self.render(inputs, ctx).argv), ctx)
        return ScaleOutput(stdout=out, previous_replicas=prev, replicas=i.replicas)

    def undo(self, inputs: BaseModel, output: Mapping[str, Any]) -> UndoCall | None:
        i = ScaleInput.model_validate(inputs.model_dump())
        prev = output.get("previous_replicas")
        if not isinstance(prev, int):
            return None
        return UndoCall(
            "kubectl.scale",
            {"kind": i.kind, "name": i.name, "namespace": i.namespace, "replicas": prev},
        )

    def blast_radius(self, inputs: BaseModel) -> int:
        return max(1, ScaleInput.model_validate(inputs.model_dump()).replicas)


class RenewInput(_NsInput):
    name: K8sName
    """The cert-manager Certificate."""


class KubectlCertRenew(_Kubectl):
    name = "kubectl.cert_renew"
    description = (
        "Ask cert-manager to re-issue a Certificate now (sets the Issuing condition,"
        " as `cmctl renew` does)."
    )
    scope: Scope = "write"
    undo_hint = ""
    Input = RenewInput

    def permissions(self, raw_inputs: Mapping[str, Any]) -> list[Permission]:
        return [Permission("patch", "certificates.cert-manager.io", "status")]

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = RenewInput.model_validate(inputs.model_dump())
        patch = {
            "status": {
                "conditions": [
                    {
                        "type": "Issuing",
                        "status": "True",
                        "reason": "ManuallyTriggered",
                        "message": "Certificate re-issuance manually triggered by aisre",
                    }
                ]
            }
        }
        argv = _base_argv(ctx, i.namespace)
        argv += [
            "patch",
            "certificate",
            i.name,
            "--subresource=status",
            "--type=merge",
            "--patch",
            canonical_json(patch),
        ]
        return Action(self.name, "argv", argv=tuple(argv))


class PvcResizeInput(_NsInput):
    name: K8sName
    size: Quantity


class KubectlPvcResize(_Kubectl):
    name = "kubectl.pvc_resize"
    description = "Grow a PersistentVolumeClaim (the storage class must allow expansion)."
    scope: Scope = "write"
    undo_hint = ""
    Input = PvcResizeInput

    def permissions(self, raw_inputs: Mapping[str, Any]) -> list[Permission]:
        return [Permission("patch", "persistentvolumeclaims")]

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = PvcResizeInput.model_validate(inputs.model_dump())
        patch = {"spec": {"resources": {"requests": {"storage": i.size}}}}
        argv = _base_argv(ctx, i.namespace)
        argv += [
            "patch",
            "pvc",
            i.name,
            "--type=merge",
            "--patch",
            canonical_json(patch),
        ]
        return Action(self.name, "argv", argv=tuple(argv))


__all__ = [
    "PIN_HINT",
    "UNPINNED",
    "AnyOutput",
    "KubectlCertRenew",
    "KubectlGet",
    "KubectlPvcResize",
    "KubectlRolloutRestart",
    "KubectlRolloutStatus",
    "KubectlRolloutUndo",
    "KubectlScale",
    "KubectlWaitCondition",
    "kube_flags",
    "kubeconfig_flags",
    "profile_kubeconfig",
    "run_argv",
]


def register_capabilities(register: Callable[[Capability], None]) -> None:
    """The built-in kubectl capabilities, registered like a plugin's."""
    register(KubectlGet())
    register(KubectlRolloutStatus())
    register(KubectlWaitCondition())
    register(KubectlRolloutUndo())
    register(KubectlRolloutRestart())
    register(KubectlScale())
    register(KubectlCertRenew())
    register(KubectlPvcResize())
