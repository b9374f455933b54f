"""The executor: the one place a capability is executed.

It refuses to run anything without a `Permit`, and the permit must name the digest
of the exact action about to run (re-rendered here from the validated inputs). Only
governance (`govern.session`) issues permits, after the routing decision and after
the audit intent record has been written and fsynced; the permit carries that
record's sequence number. So an action runs only if its intent is on disk, and only
if it is byte-for-byte the action that was decided on and confirmed.

Verification runs after an action: a PromQL bound (via `prometheus.query`) or a read
capability that must succeed, retried every `interval` until `timeout`; a long
verification reports how long is left through `ctx.progress`.

SIGINT/SIGTERM during a step (`remediate.interrupt`): the child's process group is
terminated, or the wait ends, and the result comes back with `interrupted` set (the
session audits it as such); nothing more of the step runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aisre_cli.errors import AisreError, ConfigError, ExitCode
from aisre_cli.remediate import interrupt
from aisre_cli.remediate.capabilities import ExecContext, Preview, Registry
from aisre_cli.remediate.plan import PlannedStep
from aisre_cli.remediate.runbook import check_bound
from aisre_cli.remediate.types import parse_duration


class PermitError(AisreError):
    """The executor was asked to run something without a matching permit."""


@dataclass(frozen=True)
class Permit:
    """Issued by governance for one action, after its audit intent is durable."""

    run_id: str
    step_id: str
    action_digest: str
    audit_seq: int


@dataclass
class ExecResult:
    ok: bool
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    interrupted: str | None = None
    """The signal (SIGINT, SIGTERM) that stopped the step, if one did."""
    exit_code: ExitCode | None = None
    """The failure's class (`AisreError.exit_code`): a credential refused is AUTH."""


@dataclass
class VerifyResult:
    ok: bool
    detail: str
    value: float | None = None
    attempts: int = 0
    skipped: bool = False
    interrupted: str | None = None


def execute(ps: PlannedStep, ctx: ExecContext, permit: Permit) -> ExecResult:
    """Run one planned step under a permit. Capability errors become a failed result."""
    action = ps.capability.render(ps.inputs, ctx)
    if permit.step_id != ps.id or permit.action_digest != action.digest():
        raise PermitError(
            f"step {ps.id}: the permit does not match the action about to run",
            hint="the action changed after it was confirmed; confirm it again",
        )
    if permit.audit_seq < 1:
        raise PermitError(f"step {ps.id}: permit without an audit record")
    t0 = time.monotonic()
    try:
        out = ps.capability.execute(ps.inputs, ctx)
    except interrupt.StepInterrupted as exc:
        return ExecResult(
            False, error=exc.message, seconds=time.monotonic() - t0, interrupted=exc.why
        )
    except AisreError as exc:
        return ExecResult(
            False, error=exc.message, seconds=time.monotonic() - t0, exit_code=exc.exit_code
        )
    return ExecResult(True, output=out.model_dump(mode="json"), seconds=time.monotonic() - t0)


def dry_run(ps: PlannedStep, ctx: ExecContext) -> Preview:
    """What the step would do. Never needs a permit: it changes nothing."""
    try:
        return ps.capability.dry_run(ps.inputs, ctx)
    except AisreError as exc:
        return Preview(ps.action, False, f"dry run failed: {exc.message}")


def verify(
    ps: PlannedStep,
    ctx: ExecContext,
    registry: Registry,
    *,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] | None = None,
) -> VerifyResult:
    """Check the step worked. No `verify:` means nothing to check (ok).

    A query that returns no series says "no data", never a bare None. `progress` hears
    one line per attempt while the check waits (it can take minutes), so a front end
    never sits silent."""
    v = ps.step.verify
    if v is None:
        return VerifyResult(True, "no verification declared", skipped=True)
    start = clock()
    deadline = start + parse_duration(v.timeout)
    interval = max(1.0, parse_duration(v.interval))  # never more than once a second
    due = start
    """When the attempt being made was due: attempts are due every `interval` from the
    start, and the last one at the deadline itself, so time spent in the queries does
    not end the check an interval early."""
    attempts = 0
    last = ""
    value: float | None = None

    def pause(seconds: float) -> None:
        if ctx.sleep is not None:
            ctx.sleep(seconds)
            return
        if ctx.progress is not None:
            left = max(0.0, deadline - clock())
            ctx.progress(
                f"verify: attempt {attempts} not yet ({last}); next in {seconds:.0f}s,"
                f" {left:.0f}s left (Ctrl-C stops)"
            )
        interrupt.sleep(seconds, progress=ctx.progress, what="verify")

    answered = False
    """Prometheus answered at least once: only then can the check be said to fail."""
    while True:
        attempts += 1
        try:
            if ps.verify_query is not None:
                cap = registry.get("prometheus.query")
                inp = cap.input_model.model_validate({"query": ps.verify_query})
                out = cap.execute(inp, ctx).model_dump()
                answered = True
                value = out.get("value")
                expect = v.expect or ""
                shown = "no data" if value is None else f"{value:g}"
                if check_bound(value, expect):
                    return VerifyResult(
                        True, f"{ps.verify_query} = {shown} ({expect})", value, attempts
                    )
                last = f"{ps.verify_query} = {shown}, expected {expect}"
            elif v.capability is not None and ps.verify_inputs is not None:
                cap = registry.get(v.capability)
                cap.execute(ps.verify_inputs, ctx)
                return VerifyResult(True, f"{v.capability} succeeded", None, attempts)
            else:
                return VerifyResult(True, "nothing to verify", skipped=True)
        except interrupt.StepInterrupted as exc:
            return _interrupted(exc, value, attempts)
        except ConfigError as exc:
            return VerifyResult(
                False, f"cannot verify: {exc.message}", attempts=attempts, skipped=True
            )
        except AisreError as exc:
            last = exc.message
        if due >= deadline or clock() >= deadline:
            if ps.verify_query is not None and not answered:
                # Prometheus never answered (down, unreachable, refused our token): the
                # check could not be made, which is `unverified`, not a failed fix that
                # would count against the runbook or offer an undo.
                return VerifyResult(
                    False,
                    f"cannot verify: Prometheus did not answer in {attempts} attempt(s): {last}",
                    None,
                    attempts,
                    skipped=True,
                )
            return VerifyResult(
                False, f"not verified after {attempts} attempt(s): {last}", value, attempts
            )
        due = min(start + attempts * interval, deadline)
        wait = max(0.0, due - clock())
        if progress is not None and ctx.progress is None:
            left = max(0.0, deadline - clock())
            progress(
                f"attempt {attempts}: {last}; next check in {wait:.0f}s"
                f" ({left:.0f}s left of {v.timeout})"
            )
        try:
            pause(wait)
        except interrupt.StepInterrupted as exc:
            return _interrupted(exc, value, attempts)


def _interrupted(exc: interrupt.StepInterrupted, value: float | None, n: int) -> VerifyResult:
    return VerifyResult(
        False, f"verification {exc.message}", value, n, skipped=True, interrupted=exc.why
    )
