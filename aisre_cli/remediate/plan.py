"""Planning: resolve a runbook's parameters and render every step's exact action.

The plan is computed up front, so the stepper can show the whole run (every step,
its scope, the resolved values and where each came from, the exact argv or request)
before asking anything. A parameter value that fails its type is an error here,
whatever its source: a service name lifted from a log line such as `x; rm -rf /` never
reaches a capability.

Parameter precedence: `--param k=v` > the verdict/alert (`from:`) > `default:`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from aisre_cli.errors import UsageError
from aisre_cli.model import Alert, Hypothesis, TriageReport
from aisre_cli.remediate import templating
from aisre_cli.remediate.capabilities import (
    Action,
    Capability,
    ExecContext,
    Registry,
    Target,
    target_of,
)
from aisre_cli.remediate.facts import facts_from_report
from aisre_cli.remediate.matching import specificity
from aisre_cli.remediate.runbook import Runbook, Step, UndoInline
from aisre_cli.remediate.types import first_error, validate_param


@dataclass
class PlannedStep:
    """One step with its validated inputs and the exact action it will perform."""

    index: int
    step: Step
    capability: Capability
    inputs: BaseModel
    action: Action
    verify_query: str | None = None
    verify_inputs: BaseModel | None = None
    undo_of: str | None = None
    """For an undo step: the id of the step it undoes."""
    depends_on: tuple[str, ...] = ()
    """Earlier steps this one depends on (declared `needs` and inferred, see
    `step_dependencies`): when one of them did not run, this one is skipped."""
    target: Target | None = None
    """Where the action lands (kubectl: the cluster context and namespace)."""
    governed_scope: str | None = None
    """The scope governance routes on when it is not the declared one (an untrusted
    plugin capability's `read` is governed as `write`): set by `build_plan`'s caller,
    which knows the policy."""

    @property
    def id(self) -> str:
        return self.step.id

    @property
    def scope(self) -> str:
        return self.capability.scope

    @property
    def writes(self) -> bool:
        """Does the step change something, as governance reads it? (An untrusted plugin's
        `read` is taken as a write here too: a later step on its target depends on it.)"""
        return (self.governed_scope or self.capability.scope) != "read"

    def blast_radius(self) -> int:
        return self.capability.blast_radius(self.inputs)


@dataclass
class Plan:
    runbook: Runbook
    values: dict[str, Any]
    sources: dict[str, str]
    """Where each parameter value came from."""
    steps: list[PlannedStep]
    hypothesis: Hypothesis | None = None
    alert: Alert | None = None
    specificity: float | None = None
    facts: dict[str, str] = field(default_factory=dict)

    def step(self, step_id: str) -> PlannedStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise UsageError(f"no step {step_id!r} in runbook {self.runbook.id}")


def best_hypothesis(
    rb: Runbook, report: TriageReport | None
) -> tuple[Hypothesis | None, float | None]:
    """The highest-ranked hypothesis this runbook applies to; None when it applies to
    none (its parameters then come from the alert, never from an unrelated hypothesis:
    a restart runbook must not aim at the service a deploy hypothesis named)."""
    if report is None or not report.verdict.hypotheses:
        return None, None
    for h in report.verdict.hypotheses:
        s = specificity(rb, h, report.alert)
        if s is not None:
            return h, s
    return None, None


def plan_facts(rb: Runbook, report: TriageReport | None) -> dict[str, str]:
    """The parameter defaults the verdict offers `rb`: from the hypothesis it fixes, or,
    for a runbook that lists no kinds (silence-noisy-alert: about the alert, whatever
    its cause), from the alert alone. Taking the top hypothesis' service made the demo's
    silence match `service="payments"` while the page fires on checkout: a silence
    that silences nothing."""
    hyp = best_hypothesis(rb, report)[0] if rb.applies_to.kinds else None
    return facts_from_report(report, hyp)


def unsupported_by(rb: Runbook, report: TriageReport | None) -> str | None:
    """Why the triage verdict does not support running this runbook (None: it does, or
    there is no triage to ask)."""
    if report is None:
        return None
    if best_hypothesis(rb, report)[0] is not None:
        return None
    hs = report.verdict.hypotheses
    if not hs:
        return "the triage verdict has no hypothesis this runbook fixes"
    top = hs[0]
    return (
        f"the triage verdict does not point to this runbook (its top hypothesis is"
        f" {top.kind} on {top.service})"
    )


def unfilled_params(rb: Runbook, given: Mapping[str, str], facts: Mapping[str, str]) -> list[str]:
    """The required parameters that neither `given`, the verdict's `facts` nor a default
    fills: `resolve_params` stops on them (the console asks for them first)."""
    return [
        name
        for name, p in rb.params.items()
        if p.required
        and name not in given
        and not (p.from_ and p.from_ in facts)
        and p.default is None
    ]


def resolve_params(
    rb: Runbook, given: Mapping[str, str], facts: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Values and their sources. Raises UsageError naming the parameter and its source."""
    unknown = sorted(set(given) - set(rb.params))
    if unknown:
        raise UsageError(
            f"runbook {rb.id} has no parameter {unknown[0]!r}",
            hint=f"its parameters: {', '.join(rb.params) or 'none'}",
        )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    missing = unfilled_params(rb, given, facts)
    for name, p in rb.params.items():
        raw: Any = None
        src = ""
        if name in given:
            raw, src = given[name], "--param"
        elif p.from_ and p.from_ in facts:
            raw, src = facts[p.from_], f"verdict ({p.from_})"
        elif p.default is not None:
            raw, src = p.default, "default"
        if raw is None:
            if not p.required:
                values[name] = None
                sources[name] = "unset"
            continue
        try:
            values[name] = validate_param(p.type, raw)
        except ValueError as exc:
            raise UsageError(
                f"parameter {name}={raw!r} from {src} rejected: {exc}",
                hint=f"pass a valid value with --param {name}=VALUE",
            ) from None
        sources[name] = src
    if missing:
        raise UsageError(
            f"runbook {rb.id}: no value for parameter(s) {', '.join(missing)}",
            hint="pass --param NAME=VALUE, or --alert ALERT_ID to take them from the verdict",
        )
    return values, sources


def template_values(values: Mapping[str, Any], run_id: str, ctx: ExecContext) -> dict[str, Any]:
    return {
        **values,
        "run_id": run_id,
        "environment": ctx.profile.environment,
        "profile_namespace": ctx.profile.namespace or "",
    }


def plan_call(
    index: int,
    step: Step,
    capability_name: str,
    raw_inputs: Mapping[str, Any],
    tvalues: Mapping[str, Any],
    registry: Registry,
    ctx: ExecContext,
) -> PlannedStep:
    cap = registry.get(capability_name)
    try:
        rendered = templating.render(dict(raw_inputs), tvalues)
        # an optional parameter without a value leaves the input to its default
        inputs = cap.input_model.model_validate(
            {k: v for k, v in rendered.items() if v is not None}
        )
    except templating.TemplateError as exc:
        raise _template_error(step, exc) from None
    except ValidationError as exc:
        loc = ".".join(str(x) for x in exc.errors()[0]["loc"])
        raise UsageError(
            f"step {step.id}: input {loc} rejected by {capability_name}: {first_error(exc)}",
            hint="check the parameter values (--param) and the runbook",
        ) from None
    action = cap.render(inputs, ctx)
    ps = PlannedStep(
        index=index,
        step=step,
        capability=cap,
        inputs=inputs,
        action=action,
        target=target_of(cap, inputs, ctx),
    )
    v = step.verify
    if v is not None:
        try:
            if v.query is not None:
                query = templating.render(v.query, tvalues)
                if query is None or not str(query).strip():
                    # the whole query was an optional parameter left unset: querying
                    # Prometheus for the text "None" would fail the check at the end
                    raise UsageError(
                        f"step {step.id}: verify: the query {v.query!r} is empty without"
                        " its parameter",
                        hint="pass the parameter with --param NAME=VALUE, or give the"
                        " runbook a query that does not rest on an optional one",
                    )
                ps.verify_query = str(query)
            elif v.capability is not None:
                vcap = registry.get(v.capability)
                ps.verify_inputs = vcap.input_model.model_validate(
                    templating.render(dict(v.inputs), tvalues)
                )
        except templating.TemplateError as exc:
            raise _template_error(step, exc, "verify: ") from None
        except ValidationError as exc:
            raise UsageError(f"step {step.id}: verify input rejected: {first_error(exc)}") from None
    return ps


def _template_error(step: Step, exc: templating.TemplateError, what: str = "") -> UsageError:
    """A template that cannot be filled at plan time (typically an optional parameter
    without a value used inside a longer text), as a usage error naming the step."""
    return UsageError(
        f"step {step.id}: {what}{exc}",
        hint="pass the parameter with --param NAME=VALUE, or fix the runbook's template",
    )


def build_plan(
    rb: Runbook,
    given: Mapping[str, str],
    *,
    report: TriageReport | None,
    registry: Registry,
    ctx: ExecContext,
    run_id: str,
    governed: Callable[[Capability], str | None] | None = None,
) -> Plan:
    """`governed`: the scope governance routes a capability on when it is not the
    declared one (None: as declared); it decides which steps write, and so the
    dependencies between steps."""
    hyp, spec = best_hypothesis(rb, report)
    facts = plan_facts(rb, report)
    values, sources = resolve_params(rb, given, facts)
    tvalues = template_values(values, run_id, ctx)
    steps = [
        plan_call(i, s, s.capability, s.inputs, tvalues, registry, ctx)
        for i, s in enumerate(rb.steps)
    ]
    if governed is not None:
        for ps in steps:
            ps.governed_scope = governed(ps.capability)
    for ps in steps:
        ps.depends_on = step_dependencies(steps, ps)
    return Plan(
        runbook=rb,
        values=values,
        sources=sources,
        steps=steps,
        hypothesis=hyp,
        alert=report.alert if report else None,
        specificity=spec,
        facts=facts,
    )


TARGET_KEYS = ("kind", "name", "namespace")


def _target(ps: PlannedStep) -> tuple[object, ...] | None:
    """The object a step acts on (its kind/name/namespace inputs), if it names one."""
    raw = ps.step.inputs
    if "name" not in raw:
        return None
    return tuple(raw.get(k) for k in TARGET_KEYS)


def step_dependencies(steps: list[PlannedStep], ps: PlannedStep) -> tuple[str, ...]:
    """Declared `needs`, plus every earlier write step on the same target: a step that
    watches or follows up a change (`rollout status` after `rollout undo`) means
    nothing when that change was skipped or refused."""
    deps = list(ps.step.needs)
    tgt = _target(ps)
    if tgt is not None:
        for other in steps[: ps.index]:
            if other.writes and _target(other) == tgt and other.id not in deps:
                deps.append(other.id)
    return tuple(deps)


def plan_undo(
    plan: Plan,
    ps: PlannedStep,
    output: Mapping[str, Any],
    registry: Registry,
    ctx: ExecContext,
    run_id: str,
) -> PlannedStep | None:
    """The undo of a step that ran, or None when it declares none / cannot be undone."""
    undo = ps.step.undo
    if undo is None:
        return None
    tvalues = template_values(plan.values, run_id, ctx)
    undo_step: Step
    if undo == "auto":
        call = ps.capability.undo(ps.inputs, output)
        if call is None:
            return None
        inputs = {k: v for k, v in call.inputs.items() if v is not None}
        undo_step = Step(
            id=f"{ps.id}.undo",
            title=f"Undo: {ps.step.title}",
            capability=call.capability,
            inputs=inputs,
        )
        tv: Mapping[str, Any] = {}
    elif isinstance(undo, UndoInline):
        undo_step = Step(
            id=f"{ps.id}.undo",
            title=f"Undo: {ps.step.title}",
            capability=undo.capability,
            inputs=undo.inputs,
        )
        tv = tvalues
    else:
        undo_step = plan.runbook.step(undo)
        tv = tvalues
    out = plan_call(ps.index, undo_step, undo_step.capability, undo_step.inputs, tv, registry, ctx)
    out.undo_of = ps.id
    return out
