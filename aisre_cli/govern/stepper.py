"""The stepper: decide → ask → run → verify → undo, as one pure state machine.

Both front ends (the CLI's `runbook run` and the console's runbook screen) used to
encode this flow themselves and drifted apart. Now the `Stepper` says what comes next
and the front ends only render its states and read keys:

    Prompt   a human must answer for this step (y run, n skip, d dry run, a abort, ?)
    Preview  show the step's dry run (the `d` key, or every step of a dry run)
    Run      run the step (or the offered undo): confirmed by a human, or by autonomy
    Verify   check the step worked; may take minutes, so show its progress
    Skip     skip the step: the operator said n, or a step it depends on did not run
    Stop     end the run here (refused, escalated, no terminal, failed, aborted)
    Done     every step is handled: finish the run

The stepper does no I/O: it never runs, previews, skips or audits anything. It reads
the session's state and decisions (`RunSession.current_step`, `decide`, `undo_for`,
`status_of`) and returns a state; `flows.runbook.RunFlow` performs the state (all I/O
and every audit record, in the order `RunSession` guarantees: the intent record is
fsynced before the action) and feeds the result back through `after()`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

from aisre_cli.errors import ExitCode

if TYPE_CHECKING:
    from aisre_cli.govern.routing import Decision
    from aisre_cli.remediate.checkpoint import RunState, StepStatus
    from aisre_cli.remediate.executor import VerifyResult
    from aisre_cli.remediate.plan import Plan, PlannedStep

HELP_TEXT = (
    "y  run this step (exactly one lower-case y; nothing else runs it)\n"
    "n  skip this step\n"
    "d  dry run: show exactly what would happen, change nothing\n"
    "a  abort the run (resume later with `aisre runbook resume RUN_ID`)\n"
    "?  this help"
)
NOT_A_CHOICE = "not a choice: only an exact y runs the step; nothing was run"
KEYS = ("y", "n", "d", "a", "?")


class SessionView(Protocol):
    """What the stepper reads of a `RunSession` (queries only, no actions)."""

    plan: Plan
    state: RunState

    @property
    def run_id(self) -> str: ...

    @property
    def dry_run(self) -> bool: ...

    def current_step(self) -> PlannedStep | None: ...

    def decide(self, ps: PlannedStep) -> Decision: ...

    def status_of(self, ps: PlannedStep) -> StepStatus: ...

    def undo_for(self, ps: PlannedStep) -> PlannedStep | None: ...


# ------------------------------------------------------------------ states


@dataclass(frozen=True)
class Prompt:
    step: PlannedStep
    decision: Decision
    undo: bool = False
    """The offered undo of `undo_of`, whose verification failed."""
    undo_of: PlannedStep | None = None
    message: str | None = None
    """Help, or why the last answer ran nothing."""

    @property
    def question(self) -> str:
        if self.undo:
            return "Undo this step? y run the undo, n leave it, d dry run, ? help"
        return "Run this step? y run, n skip, d dry run, a abort, ? help"


@dataclass(frozen=True)
class Preview:
    step: PlannedStep
    decision: Decision
    back_to: Prompt | None = None
    """The prompt to return to (None: a dry run, go on to the next step)."""


@dataclass(frozen=True)
class Run:
    step: PlannedStep
    decision: Decision
    confirmed: bool
    """True: a human said y to the action on screen (its digest is bound)."""
    undo_of: PlannedStep | None = None


@dataclass(frozen=True)
class Verify:
    step: PlannedStep
    again: str | None = None
    """Why a step that ran earlier is checked again (resume): its verification failed,
    was interrupted, or never ran. None: the check right after the action."""


@dataclass(frozen=True)
class Skip:
    step: PlannedStep
    reason: str
    by_operator: bool


StopHow = Literal["stop", "abort", "fail", "interrupt"]


@dataclass(frozen=True)
class Stop:
    step: PlannedStep | None
    reason: str
    how: StopHow
    exit_code: ExitCode
    decision: Decision | None = None
    hint: str | None = None


@dataclass(frozen=True)
class Done:
    exit_code: ExitCode
    unverified: tuple[str, ...] = ()
    """Steps whose declared verification could not be made: the run is `unverified`."""


State = Prompt | Preview | Run | Verify | Skip | Stop | Done


# ------------------------------------------------------------------ the machine


class Stepper:
    """Computes the next state of a run from the session's state; see the module doc."""

    def __init__(
        self,
        session: SessionView,
        *,
        interactive: bool,
        alert_hint: str | None = None,
        handoff: bool = False,
    ) -> None:
        """`interactive`: a human can answer prompts. `alert_hint`: the alert id to name
        in `aisre escalate` hints. `handoff`: this run *is* the escalation, so it never
        suggests escalating again."""
        self.session = session
        self.interactive = interactive
        self.alert_hint = alert_hint
        self.handoff = handoff
        self._previewed: set[str] = set()

    # ------------------------------------------------------------ next

    def next(self) -> State:
        """The state the run is in now."""
        s = self.session
        if s.dry_run:
            for planned in s.plan.steps:
                if planned.id not in self._previewed:
                    return Preview(planned, s.decide(planned))
            return Done(ExitCode.OK)
        recheck = self._unchecked()
        if recheck is not None:
            return recheck
        ps = s.current_step()
        if ps is None:
            return self._done()
        blocker = self._blocked_by(ps)
        if blocker is not None:
            dep, status = blocker
            return Skip(ps, f"depends on step {dep}, which was {status}", by_operator=False)
        d = s.decide(ps)
        if d.kind in ("refuse", "escalate"):
            hint = d.hint
            if d.kind == "escalate" and not self.handoff:
                hint = f"hand off with `aisre escalate {self.alert_hint or 'ALERT_ID'}`"
            return Stop(ps, f"{d.kind}: {'; '.join(d.reasons)}", "stop", ExitCode.REFUSED, d, hint)
        if d.kind == "confirm":
            if not self.interactive:
                return Stop(
                    ps,
                    f"no terminal: this step needs a human yes ({'; '.join(d.reasons)})",
                    "stop",
                    ExitCode.REFUSED,
                    d,
                    f"run it in a terminal, or `aisre runbook resume {s.run_id}`",
                )
            return Prompt(ps, d)
        return Run(ps, d, confirmed=False)

    def _unchecked(self) -> Verify | None:
        """A step that ran but whose declared verification has not passed (it failed,
        was interrupted, or the process died before it finished): nothing after it
        runs, and the run does not end, until it is checked again. Only a resumed run
        gets here: in one process a failed check stops the run (`verified`)."""
        s = self.session
        if s.state.status != "running":
            return None
        for ps in s.plan.steps:
            st = s.state.step(ps.id)
            if st.status != "done" or ps.step.verify is None:
                continue
            if st.verified is True or st.unverified is not None:
                continue
            why = (
                "its verification failed when the run stopped"
                if st.verified is False
                else "its verification did not finish when the run stopped"
            )
            return Verify(ps, again=why)
        return None

    def _blocked_by(self, ps: PlannedStep) -> tuple[str, str] | None:
        by_id = {x.id: x for x in self.session.plan.steps}
        for dep in ps.depends_on:
            other = by_id.get(dep)
            if other is None:
                continue
            status = self.session.status_of(other)
            if status in ("skipped", "refused", "failed", "undone"):
                return dep, status
        return None

    def _done(self) -> Done:
        unverified = tuple(
            st.id for st in self.session.state.steps if st.status == "done" and st.unverified
        )
        return Done(ExitCode.VERIFY if unverified else ExitCode.OK, unverified)

    # ------------------------------------------------------------ answers

    def answer(self, prompt: Prompt, key: str) -> State:
        """The state after the human's answer to `prompt`. `key` is one of y n d a ?,
        `eof`, `interrupt`, or anything else (which runs nothing)."""
        if key == "y":
            return Run(prompt.step, prompt.decision, confirmed=True, undo_of=prompt.undo_of)
        if key in ("eof", "interrupt"):
            why = "EOF" if key == "eof" else "Ctrl-C"
            return self.interrupted(why)
        if key == "d":
            return Preview(prompt.step, prompt.decision, back_to=replace(prompt, message=None))
        if key == "?":
            return replace(prompt, message=HELP_TEXT)
        if prompt.undo and key in ("n", "a"):
            failed = prompt.undo_of or prompt.step
            return Stop(failed, "verification failed (undo declined)", "fail", ExitCode.VERIFY)
        if key == "n":
            return Skip(prompt.step, "skipped by the operator", by_operator=True)
        if key == "a":
            return self.abort()
        return replace(prompt, message=NOT_A_CHOICE)

    def abort(self) -> Stop:
        """The operator aborts the run (at a prompt, or before the first step)."""
        return Stop(
            None,
            "aborted by the operator at the prompt",
            "abort",
            ExitCode.INTERRUPTED,
            hint=f"resume with `aisre runbook resume {self.session.run_id}`",
        )

    def interrupted(self, why: str) -> Stop:
        """Ctrl-C, SIGTERM, EOF: nothing more runs."""
        return Stop(
            None,
            f"interrupted: {why}",
            "interrupt",
            ExitCode.INTERRUPTED,
            hint=f"resume with `aisre runbook resume {self.session.run_id}`",
        )

    # ------------------------------------------------------------ results

    def previewed(self, state: Preview) -> State:
        if state.back_to is not None:
            return state.back_to
        self._previewed.add(state.step.id)
        return self.next()

    def ran(self, state: Run, ok: bool, error: str | None, code: ExitCode | None = None) -> State:
        """After `Run`: `ok`/`error` are the action's result (before verification);
        `code` its failure's class. A credential the target refused ends the run as an
        auth failure (exit 4, as anywhere else); any other failed action as a
        remediation that did not take (6)."""
        if state.undo_of is not None:
            detail = "undone" if ok else f"undo failed: {error}"
            return Stop(state.undo_of, f"verification failed ({detail})", "fail", ExitCode.VERIFY)
        if not ok:
            why = ExitCode.AUTH if code == ExitCode.AUTH else ExitCode.VERIFY
            return Stop(state.step, f"action failed: {error}", "fail", why)
        if state.step.step.verify is not None:
            return Verify(state.step)
        return self.next()

    def verified(self, state: Verify, result: VerifyResult) -> State:
        """After `Verify`: go on, offer the undo, or stop."""
        why = getattr(result, "interrupted", None)
        if why:  # Ctrl-C or SIGTERM while the check waited: nothing more runs
            return self.interrupted(str(why))
        if result.ok or result.skipped:
            return self.next()  # skipped: the step is `unverified`, Done says so
        undo = self.session.undo_for(state.step)
        if undo is not None and self.interactive:
            ud = self.session.decide(undo)
            if ud.kind in ("confirm", "execute"):
                return Prompt(undo, ud, undo=True, undo_of=state.step)
        return Stop(state.step, "verification failed", "fail", ExitCode.VERIFY)

    def skipped(self, state: Skip) -> State:
        return self.next()
