"""Messages the console's workers and screens post.

Workers run the core in threads and report back only through these messages (Textual's
`post_message` is thread-safe), so every screen update happens on the UI thread and
tests can assert the flow with `message_hook` instead of sleeping. Messages that belong
to one widget (a hypothesis highlighted, the evidence pane changed) are nested in that
widget's class, posting-style.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from aisre_cli.errors import AisreError
from aisre_cli.model import SourceNote

if TYPE_CHECKING:
    from aisre_cli.flows.runbook import RunFlow, RunSummary, StepOutcome, VerifyResult
    from aisre_cli.govern.stepper import Stop
    from aisre_cli.remediate.capabilities import Preview
    from aisre_cli.ui.tui.backend import Inbox, Investigation, StoppedRuns


class SourceUpdated(Message):
    """One source finished (ok, partial or failed) during a refresh or a gather."""

    def __init__(self, note: SourceNote) -> None:
        super().__init__()
        self.note = note


class SourcesPending(Message):
    """A refresh started: these sources are being asked."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class InboxLoaded(Message):
    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox


class IncidentLoaded(Message):
    def __init__(self, investigation: Investigation) -> None:
        super().__init__()
        self.investigation = investigation


class LoadFailed(Message):
    """A worker's core call raised an AisreError; shown, never a traceback."""

    def __init__(
        self, what: str, message: str, hint: str | None = None, *, refused: bool = False
    ) -> None:
        super().__init__()
        self.what = what
        self.message = message
        self.hint = hint
        self.refused = refused
        """True when governance refused (GovernanceRefused), not a failure."""

    @classmethod
    def of(cls, what: str, err: AisreError) -> LoadFailed:
        from aisre_cli.errors import GovernanceRefused

        return cls(what, err.message, err.hint, refused=isinstance(err, GovernanceRefused))


class RunStarted(Message):
    """The runbook was planned (`run_start` audited); nothing has run yet."""

    def __init__(self, flow: RunFlow) -> None:
        super().__init__()
        self.flow = flow
        self.session = flow.session
        self.run_id = flow.run_id


class RunsListed(Message):
    """The runs that can be resumed were listed (the inbox counts them, the stopped
    runs screen shows them)."""

    def __init__(self, stopped: StoppedRuns) -> None:
        super().__init__()
        self.stopped = stopped


class RunResumed(Message):
    """A stopped run was taken up again (`resume` audited, its lock held); nothing has
    run yet."""

    def __init__(self, flow: RunFlow) -> None:
        super().__init__()
        self.flow = flow
        self.run_id = flow.run_id


class _Advanced(Message):
    """A stepper state was performed by a worker; `next_state` is what comes next."""

    def __init__(self, next_state: object) -> None:
        super().__init__()
        self.next_state = next_state


class PreviewShown(_Advanced):
    """`d` (or a dry run): the dry run of a step came back (audited by the session)."""

    def __init__(self, step_id: str, preview: Preview, next_state: object = None) -> None:
        super().__init__(next_state)
        self.step_id = step_id
        self.preview = preview


class StepRan(_Advanced):
    """A step (or an undo) ran through the session; its outcome (before verification)."""

    def __init__(
        self, step_id: str, outcome: StepOutcome, undo: bool = False, next_state: object = None
    ) -> None:
        super().__init__(next_state)
        self.step_id = step_id
        self.outcome = outcome
        self.undo = undo


class StepVerified(_Advanced):
    """A step's verification came back (ok, failed, or could not be made)."""

    def __init__(self, step_id: str, result: VerifyResult, next_state: object = None) -> None:
        super().__init__(next_state)
        self.step_id = step_id
        self.result = result


class VerifyProgress(Message):
    """One attempt of a verification that is still waiting."""

    def __init__(self, step_id: str, text: str) -> None:
        super().__init__()
        self.step_id = step_id
        self.text = text


class StepSkipped(_Advanced):
    def __init__(self, step_id: str, reason: str = "", next_state: object = None) -> None:
        super().__init__(next_state)
        self.step_id = step_id
        self.reason = reason


class RunStopped(_Advanced):
    """The stepper stopped the run (refused, escalated, failed, aborted)."""

    def __init__(self, stop: Stop, next_state: object = None) -> None:
        super().__init__(next_state)
        self.stopped = stop


class RunFinished(Message):
    """`RunSession.finish()` wrote run_end; the summary carries the audit head hash."""

    def __init__(self, summary: RunSummary, exit_code: int = 0) -> None:
        super().__init__()
        self.summary = summary
        self.exit_code = exit_code
