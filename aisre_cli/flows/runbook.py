"""Running a runbook as one use case: the session, the stepper, and their I/O.

`RunFlow` pairs a governed `RunSession` (which decides, confirms, audits, executes)
with the pure `Stepper` (which says what comes next). Front ends loop:

    state = flow.begin()
    while not flow.ended:
        render(state)
        if isinstance(state, Prompt):
            state = flow.answer(state, read_one_key())
        else:
            event, state = flow.perform(state)     # blocking: a worker in the console
            render(event)

`perform` is the only place that calls the session's actions, so the CLI and the
console cannot drift: the same keys lead to the same audit records and outcomes.

A dry run (`aisre runbook run --dry-run`) previews every step and records the decision
governance would make for it (`Prediction`). When one of them would be refused or
escalated, the dry run ends the way the real run would: at that step, with exit code 5
and the final status `would_stop` (`DryRunReport`). The console's `d` before a run
starts previews a planned run's steps the same way (`RunFlow.preview_plan`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aisre_cli.errors import ExitCode
from aisre_cli.govern.session import RunSession, RunSummary, StepOutcome
from aisre_cli.govern.stepper import (
    Done,
    Preview,
    Prompt,
    Run,
    Skip,
    State,
    Stepper,
    Stop,
    Verify,
)
from aisre_cli.model import Hypothesis, TriageReport
from aisre_cli.remediate.capabilities import Preview as DryRun
from aisre_cli.remediate.executor import VerifyResult
from aisre_cli.remediate.runbook import Runbook
from aisre_cli.settings.config import Profile

if TYPE_CHECKING:
    from datetime import datetime

    from aisre_cli.govern.policy import Policy
    from aisre_cli.govern.routing import Decision
    from aisre_cli.remediate.capabilities import Capability, Registry
    from aisre_cli.remediate.checkpoint import RunState
    from aisre_cli.remediate.plan import PlannedStep

__all__ = [
    "DECISION_WORDS",
    "DryRun",
    "DryRunReport",
    "Prediction",
    "WOULD_STOP",
    "policy_decision",
    "run_status",
    "RunSession",
    "RunSummary",
    "StepOutcome",
    "VerifyResult",
    "Done",
    "Ended",
    "Preview",
    "Prompt",
    "Run",
    "RunFlow",
    "Skip",
    "Stop",
    "Verify",
    "start_run",
    "resume_run",
    "stopped_runs",
]


WOULD_STOP = "would_stop"
"""The final status of a dry run in which a step would be refused or escalated: the real
run would stop there (exit 5, as a refused run). The run store and the audit log hold
it as a dry run `stopped` with that step `refused` (`run_status` reads it back)."""

STOPS = ("refuse", "escalate")
"""The decisions that stop a run at their step."""

DECISION_WORDS: dict[str, str] = {
    "execute": "runs without asking",
    "confirm": "asks you to confirm",
    "refuse": "refused",
    "escalate": "escalated to a human",
}
"""Each decision kind as the engineer sees it happen (plan previews, policy table)."""


def run_status(status: str, dry_run: bool, steps: Mapping[str, str]) -> str:
    """The status to show for a run: `WOULD_STOP` for a dry run that stopped at a step
    it predicted refused, else the stored status."""
    if dry_run and status == "stopped" and "refused" in steps.values():
        return WOULD_STOP
    return status


@dataclass(frozen=True)
class Prediction:
    """One step of a dry run: the decision governance makes for it now, and its preview."""

    step: PlannedStep
    decision: Decision
    preview: DryRun | None = None

    @property
    def stops(self) -> bool:
        """The run would stop at this step (refused or escalated)."""
        return self.decision.kind in STOPS


@dataclass(frozen=True)
class DryRunReport:
    """What a dry run predicts: each step's decision, and where the run would stop."""

    predictions: tuple[Prediction, ...]
    stop: Stop | None
    """The stop at the first step that would be refused or escalated (None: none)."""
    total: int
    """Steps in the plan (for `step N/total`)."""

    def headline(self) -> str:
        """One line (plain text) saying whether the run would go through."""
        if self.stop is not None and self.stop.step is not None:
            ps, d = self.stop.step, self.stop.decision
            verb = "escalated" if d is not None and d.kind == "escalate" else "refused"
            why = "; ".join(d.reasons) if d is not None else self.stop.reason
            return f"dry run: the run would stop at step {ps.index + 1} ({ps.id}): {verb}: {why}"
        counts: dict[str, int] = {}
        for p in self.predictions:
            counts[p.decision.kind] = counts.get(p.decision.kind, 0) + 1
        parts = []
        if counts.get("execute"):
            parts.append(f"{counts['execute']} would run without asking")
        if counts.get("confirm"):
            parts.append(f"{counts['confirm']} would ask you to confirm")
        return "dry run: no step would be refused" + (f" ({', '.join(parts)})" if parts else "")

    def to_json(self) -> list[dict[str, object]]:
        return [
            {
                "step": p.step.id,
                "index": p.step.index + 1,
                "capability": p.step.capability.name,
                "scope": p.step.scope,
                "decision": p.decision.to_dict(),
                "preview_ok": p.preview.ok if p.preview is not None else None,
            }
            for p in self.predictions
        ]


class _Proven:
    """A track record with `n` verified runs and no failure (`policy_decision`)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def successes(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return self.n

    def failures(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return 0


def policy_decision(
    cap: Capability, profile: Profile, policy: Policy, registry: Registry, now: datetime
) -> Decision:
    """What governance decides for a step of `cap` in this profile, now, when nothing
    about the run is in the way: the hypothesis is certain, the runbook matches exactly
    and has the track record autonomy needs, one target, no recent change. The profile
    (its environment, whether kubectl is pinned), the policy (autonomy, freeze windows,
    thresholds on risk) and the capability's scope still decide: this is the routing of
    `aisre runbook policy`. A real run can only be more careful (ask, or escalate)."""
    from aisre_cli.govern.routing import StepFacts, decide
    from aisre_cli.remediate.capabilities import ExecContext, unpinned_reason

    facts = StepFacts(
        capability=cap.name,
        scope=cap.scope,
        environment=profile.environment,
        runbook_id="",
        handoff=bool(getattr(cap, "handoff", False)),
        confidence=1.0,
        specificity=1.0,
        now=now,
        unpinned=unpinned_reason(cap, ExecContext(profile=profile)),
        unpinned_hint=getattr(cap, "pin_hint", None),
        plugin=registry.plugin(cap.name) is not None,
    )
    return decide(facts, policy, _Proven(policy.thresholds.min_successes))


@dataclass(frozen=True)
class Ended:
    """The run is over: its summary (audit head) and the process exit code."""

    summary: RunSummary
    exit_code: ExitCode
    stop: Stop | None = None
    """Why the run stopped early (refused, escalated, needs a human, failed, aborted);
    for a dry run, the step at which the real run would stop."""
    dry_run: DryRunReport | None = None
    """A dry run's predictions (None for a real run)."""


Event = StepOutcome | VerifyResult | DryRun | Skip | Stop | RunSummary | None
Step = State | Ended


def report_for(report: TriageReport, hypothesis: Hypothesis | None) -> TriageReport:
    """The report with `hypothesis` ranked first, so the plan takes its parameters and
    trust from the hypothesis the engineer picked."""
    if hypothesis is None:
        return report
    hyps = [hypothesis, *[h for h in report.verdict.hypotheses if h is not hypothesis]]
    return report.model_copy(
        update={"verdict": report.verdict.model_copy(update={"hypotheses": hyps})}
    )


def start_run(
    runbook: Runbook,
    profile_name: str,
    profile: Profile,
    *,
    report: TriageReport | None = None,
    hypothesis: Hypothesis | None = None,
    params: Mapping[str, str] | None = None,
    dry_run: bool = False,
    break_glass: str | None = None,
    interactive: bool = True,
    handoff: bool = False,
) -> RunFlow:
    """Plan a run (audited `run_start`) and return its flow; nothing runs yet."""
    rep = report_for(report, hypothesis) if report is not None else None
    session = RunSession.start(
        runbook,
        profile_name,
        profile,
        params=params,
        report=rep,
        dry_run=dry_run,
        break_glass=break_glass,
    )
    hint = report.alert.short_id if report is not None else None
    return RunFlow(session, interactive=interactive, alert_hint=hint, handoff=handoff)


def resume_run(
    run_id: str,
    profile_name: str,
    profile: Profile,
    *,
    break_glass: str | None = None,
    interactive: bool = True,
) -> RunFlow:
    """Take a stopped run up again (`aisre runbook resume` and the console's stopped
    runs both come here): `RunSession.resume` takes the run's lock (refused while
    another process has the run open), refuses a finished run, a dry run, a run of
    another environment or Kubernetes context and a runbook that changed since the run
    started, reconciles the checkpoint with the audit log and audits `resume`. The
    stepper then skips the finished steps; governance decides each remaining one again."""
    session = RunSession.resume(run_id, profile_name, profile, break_glass=break_glass)
    alert = session.state.alert_id
    return RunFlow(session, interactive=interactive, alert_hint=alert[:8] if alert else None)


FINISHED: tuple[str, ...] = ("completed", "unverified")
"""Run statuses `RunSession.resume` refuses: there is nothing left to resume."""


def stopped_runs() -> list[RunState]:
    """The runs `resume_run` may take up again, newest first: not finished and not a dry
    run (interrupted, stopped, aborted, failed, or `running` in a process that died or
    still has it open). The list only offers them; `resume_run` decides."""
    from aisre_cli.remediate.checkpoint import list_runs

    runs = [r for r in list_runs() if r.status not in FINISHED and not r.dry_run]
    return sorted(runs, key=lambda r: r.updated, reverse=True)


class RunFlow:
    """A session and its stepper; `perform` does each state's I/O (see module doc)."""

    def __init__(
        self,
        session: RunSession,
        *,
        interactive: bool,
        alert_hint: str | None = None,
        handoff: bool = False,
    ) -> None:
        self.session = session
        self.stepper = Stepper(
            session, interactive=interactive, alert_hint=alert_hint, handoff=handoff
        )
        self.ended: Ended | None = None
        self.alert_hint = alert_hint
        self.handoff = handoff
        self.predictions: list[Prediction] = []
        """A dry run's steps previewed so far, in order."""

    # ------------------------------------------------------------ queries for rendering

    @property
    def run_id(self) -> str:
        return self.session.run_id

    @property
    def dry_run(self) -> bool:
        return self.session.dry_run

    def decide(self, ps: PlannedStep) -> Decision:
        return self.session.decide(ps)

    def report(self, predictions: list[Prediction] | None = None) -> DryRunReport:
        """The dry run's predictions (default: this dry run's so far) and the stop at the
        first step that would be refused or escalated, worded as the stepper words the
        real one (reason, exit code 5, hint)."""
        preds = tuple(self.predictions if predictions is None else predictions)
        first = next((p for p in preds if p.stops), None)
        stop = None
        if first is not None:
            d = first.decision
            hint = d.hint
            if d.kind == "escalate" and not self.handoff:
                hint = f"hand off with `aisre escalate {self.alert_hint or 'ALERT_ID'}`"
            stop = Stop(
                first.step,
                f"dry run: the run would stop here: {d.kind}: {'; '.join(d.reasons)}",
                "stop",
                ExitCode.REFUSED,
                d,
                hint,
            )
        return DryRunReport(preds, stop, len(self.session.plan.steps))

    def preview_plan(self) -> DryRunReport:
        """A dry run of a planned run before it starts (the console's `d`): each step not
        yet finished is previewed and decided as `aisre runbook run --dry-run` does it.
        Audited (`dry_run` records of this run); nothing runs and the run stays planned.
        Blocking (kubectl `--dry-run=server`); an interrupt request ends it early."""
        from aisre_cli.remediate import interrupt

        s = self.session
        preds: list[Prediction] = []
        for ps in s.plan.steps:
            if s.status_of(ps) in ("done", "skipped", "undone"):
                continue  # a resumed run never runs these again
            if interrupt.pending() is not None:
                break
            preds.append(Prediction(ps, s.decide(ps), s.preview(ps)))
        return self.report(preds)

    # ------------------------------------------------------------ the loop

    def begin(self) -> State:
        return self.stepper.next()

    def answer(self, prompt: Prompt, key: str) -> State:
        return self.stepper.answer(prompt, key)

    def interrupted(self, why: str) -> Stop:
        return self.stepper.interrupted(why)

    def abort(self) -> Stop:
        return self.stepper.abort()

    def perform(
        self,
        state: State,
        progress: Callable[[str], None] | None = None,
        *,
        shown_digest: str | None = None,
    ) -> tuple[Event, Step]:
        """Do what `state` says (blocking) and return what happened and the next state.
        `progress` hears about a verification that waits. `shown_digest`: the digest of
        the action the human saw when they pressed y (default: the planned action's);
        the session refuses to run anything else."""
        s = self.session
        st = self.stepper
        if isinstance(state, Prompt):
            return None, state
        if isinstance(state, Preview):
            pv = s.preview(state.step)
            nxt = st.previewed(state)
            if s.dry_run and state.back_to is None:
                self.predictions.append(Prediction(state.step, state.decision, pv))
                stop = self.report().stop if isinstance(nxt, Done) else None
                if stop is not None:  # end where the real run would stop
                    nxt = stop
            return pv, nxt
        if isinstance(state, Run):
            digest = shown_digest or state.step.action.digest()
            conf = s.confirm(state.step, digest) if state.confirmed else None
            if state.undo_of is not None:
                out = s.run_undo(state.step, conf)
            else:
                out = s.run(state.step, conf, verify=False)
            return out, st.ran(state, out.ok, out.error, out.exit_code)
        if isinstance(state, Verify):
            vr = s.verify(state.step, progress)
            return vr, st.verified(state, vr)
        if isinstance(state, Skip):
            s.skip(state.step, state.reason)
            return state, st.skipped(state)
        if isinstance(state, Stop):
            if state.how == "abort":
                s.abort(state.reason)
            elif state.how == "fail" and state.step is not None:
                s.fail(state.step, state.reason)
            else:
                s.stop(state.step, state.reason, state.decision)
            return state, self._end(state.exit_code, state)
        if isinstance(state, Done):
            return None, self._end(state.exit_code)
        raise TypeError(f"unknown stepper state {state!r}")

    def _end(self, code: ExitCode, stop: Stop | None = None) -> Ended:
        summary = self.session.finish()
        if summary.status == "unverified" and code == ExitCode.OK:
            code = ExitCode.VERIFY
        report = None
        if summary.dry_run:
            report = self.report()
            status = run_status(summary.status, True, summary.steps)
            summary = replace(summary, status=status)
        self.ended = Ended(summary, code, stop, report)
        return self.ended

    def abandon(self, why: str, reason: str | None = None) -> Ended:
        """Stop an open run from outside the loop (a signal: `why`; the console
        closing: `reason`). Audited and resumable."""
        if self.ended is not None:
            return self.ended
        stop = self.interrupted(why)
        if reason is not None:
            stop = Stop(self.session.current_step(), reason, "stop", ExitCode.INTERRUPTED)
        _, end = self.perform(stop)
        assert isinstance(end, Ended)
        return end
