"""One error type and one set of exit codes for the whole tool.

Every layer raises `AisreError` (or a subclass) with a one-line message and an
actionable hint; only the UI edge renders it (once, on stderr) and turns its
`exit_code` into the process exit status. Nothing else in the code base decides how
an error looks, so a user never sees a traceback unless `AISRE_RAISE_ERRORS=1`.
"""

from __future__ import annotations

import os
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes. Documented in the README; scripts rely on them."""

    OK = 0
    """Success. For `triage`, the verdict was produced (even if it says escalate)."""
    FAILURE = 1
    """An unexpected internal error (a bug: please report it with AISRE_RAISE_ERRORS=1)."""
    USAGE = 2
    """Bad usage, bad input or bad configuration: unknown/ambiguous alert id, malformed
    bundle, invalid config, invalid runbook."""
    SOURCE = 3
    """A required source was unreachable or answered garbage, and nothing usable arrived."""
    AUTH = 4
    """A source refused our credentials (401/403) or no credential is stored."""
    REFUSED = 5
    """Governance refused the action (policy, freeze window, no terminal for a write step)."""
    VERIFY = 6
    """Something ran or was kept, and checking it failed: a runbook step failed or its
    verification did, `audit verify` found tampering, or the team-store spool is
    damaged (`doctor`, `memory status`, `memory sync`)."""
    THRESHOLD = 7
    """An evaluation finished below the requested quality threshold (`aisre eval`)."""
    INTERRUPTED = 130
    """Interrupted by the user (Ctrl-C / SIGTERM); work done so far is checkpointed."""
    BROKEN_PIPE = 141
    """The reader of stdout went away (`aisre triage | head -2`). Nothing is printed, as
    for any tool killed by SIGPIPE; 141 (128 + SIGPIPE) is what a shell reports for those,
    so `set -o pipefail` scripts see the same status as for `grep | head`."""


class AisreError(Exception):
    """A user-facing error: one line saying what is wrong, one hint saying what to do."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(AisreError):
    """Bad arguments: unknown or ambiguous alert id, conflicting flags."""

    exit_code = ExitCode.USAGE


class ConfigError(AisreError):
    """Invalid configuration or policy file."""

    exit_code = ExitCode.USAGE


class BundleError(AisreError):
    """A malformed incident bundle. The message names the file and the place."""

    exit_code = ExitCode.USAGE


class SourceError(AisreError):
    """A source is unreachable, slow, or answered with something we cannot read."""

    exit_code = ExitCode.SOURCE


class AuthError(AisreError):
    """A source refused our credentials, or none is stored."""

    exit_code = ExitCode.AUTH


class GovernanceRefused(AisreError):
    """Governance refused to run an action."""

    exit_code = ExitCode.REFUSED


class Cancelled(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped work in progress; `detail` says, in one line, what was
    cancelled (the CLI prints it and exits 130)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def crashpoint(name: str) -> None:
    """Fault injection for the crash-safety tests: `AISRE_CRASHPOINT=name` kills -9 here.

    A no-op unless that variable names this point; never set outside tests. The audit
    log, the runbook session and the spool replay mark their crash points with it."""
    if os.environ.get("AISRE_CRASHPOINT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
