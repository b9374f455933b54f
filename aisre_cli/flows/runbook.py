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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    from aisre_cli.govern.routing import Decision
    from aisre_cli.remediate.checkpoint import RunState
    from aisre_cli.remediate.plan import PlannedStep

__all__ = [
    "DryRun",
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


@dataclass(frozen=True)
class Ended:
    """The run is over: its summary (audit head) and the process exit code."""

    summary: RunSummary
    exit_code: ExitCode
    stop: Stop | None = None
    """Why the run stopped early (refused, escalated, needs a human, failed, aborted)."""


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

    # ------------------------------------------------------------ queries for rendering

    @property
    def run_id(self) -> str:
        return self.session.run_id

    @property
    def dry_run(self) -> bool:
        return self.session.dry_run

    def decide(self, ps: PlannedStep) -> Decision:
        return self.session.decide(ps)

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
            return pv, st.previewed(state)
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
        self.ended = Ended(summary, code, stop)
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
