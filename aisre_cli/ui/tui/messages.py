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
    from aisre_cli.govern.session import RunSession, RunSummary, StepOutcome
    from aisre_cli.remediate.capabilities import Preview
    from aisre_cli.ui.tui.backend import Inbox, Investigation


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
    """`RunSession.start` planned the runbook and wrote run_start to the audit log."""

    def __init__(self, session: RunSession) -> None:
        super().__init__()
        self.session = session
        self.run_id = session.run_id


class PreviewShown(Message):
    """`d`: the dry run of a step came back (audited by the session)."""

    def __init__(self, step_id: str, preview: Preview) -> None:
        super().__init__()
        self.step_id = step_id
        self.preview = preview


class StepRan(Message):
    """A step (or an undo) ran through `RunSession.run`; its outcome."""

    def __init__(self, step_id: str, outcome: StepOutcome, undo: bool = False) -> None:
        super().__init__()
        self.step_id = step_id
        self.outcome = outcome
        self.undo = undo


class StepSkipped(Message):
    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class RunFinished(Message):
    """`RunSession.finish()` wrote run_end; the summary carries the audit head hash."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__()
        self.summary = summary
