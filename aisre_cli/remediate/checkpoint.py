"""Run checkpoints: where a run is, written atomically after every state change.

`$XDG_DATA_HOME/aisre/runs/RUN_ID.json` holds the runbook id and file hash, the
resolved parameters, and each step's status and output. It is replaced atomically
(write a temp file, fsync, rename, fsync the directory), so a crash leaves either the
old or the new state, never half of one.

The checkpoint is a convenience; the audit log is the truth. A step is marked
`running` before its intent is audited; if the process dies before the result is
written, resume reconciles with the audit log: a result record means the step
finished (done or failed), an intent without result means nobody knows whether the
action happened, so the step is offered again (and confirmed again).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from aisre_cli.errors import GovernanceRefused, UsageError
from aisre_cli.settings import paths
from aisre_cli.settings.durable import write_atomic

StepStatus = Literal[
    "pending", "running", "done", "failed", "interrupted", "skipped", "refused", "undone"
]
"""`interrupted`: Ctrl-C or SIGTERM stopped the action; it may or may not have taken
effect, so it is offered again (not a failure of the runbook: the track record does not
count it)."""
RunStatus = Literal["running", "completed", "unverified", "aborted", "stopped", "failed"]
RUN_ID = re.compile(r"^r-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\Z")


def new_run_id() -> str:
    return f"r-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


class StepState(BaseModel):
    id: str
    status: StepStatus = "pending"
    attempts: int = 0
    output: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    verified: bool | None = None
    unverified: str | None = None
    """Why the step's declared verification could not be made (e.g. no Prometheus)."""
    audit_seq: int | None = None
    """Sequence number of the last audit record about this step."""


class RunState(BaseModel):
    run_id: str
    runbook_id: str
    runbook_sha256: str
    runbook_source: str
    profile: str
    environment: str
    kube_context: str | None = None
    """The profile's kubectl context when the run started (resume refuses another)."""
    kube_namespace: str | None = None
    params: dict[str, Any]
    """The values as given (strings from --param or resolved from the verdict)."""
    param_sources: dict[str, str] = Field(default_factory=dict)
    alert_id: str | None = None
    dry_run: bool = False
    status: RunStatus = "running"
    steps: list[StepState]
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = Field(default_factory=lambda: datetime.now(UTC))
    break_glass: str | None = None
    signals: dict[str, Any] = Field(default_factory=dict)
    """Trust inputs captured at start (confidence, specificity, kind, ...) for resume."""
    runbook_json: dict[str, Any] = Field(default_factory=dict)
    """The runbook as it was planned (resume refuses if the file changed since)."""

    def step(self, step_id: str) -> StepState:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


def checkpoint_path(run_id: str) -> Path:
    if not RUN_ID.fullmatch(run_id):
        raise UsageError(
            f"not a run id: {run_id!r}", hint="ids look like r-20260101T120000Z-abc123"
        )
    return paths.runs_dir() / f"{run_id}.json"


class RunLock:
    """One process drives a run at a time: an exclusive `flock` on `RUN_ID.lock`, held
    from the start (or resume) until the run ends, and released by the kernel if the
    process dies. Two `runbook resume` of one run would otherwise both perform its
    write step (a second `rollout undo` puts the bad revision back)."""

    def __init__(self, run_id: str) -> None:
        p = checkpoint_path(run_id).with_suffix(".lock")
        paths.private_parent(p)
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise GovernanceRefused(
                f"run {run_id} is open in another process"
                + (f" (pid {holder})" if holder.isdigit() else ""),
                hint="let it finish, or stop it there (Ctrl-C; it stays resumable);"
                " `aisre runbook runs` shows its status",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd
        self._path = p
        self._json = checkpoint_path(run_id)

    def release(self) -> None:
        if self._fd is not None:
            if not self._json.exists():
                # a run that ended before its first checkpoint (refused at the start):
                # nothing can resume it, so no lock of it is left behind (a fresh run
                # id: no other process opens this file)
                with contextlib.suppress(OSError):
                    self._path.unlink()
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing drops the flock
            self._fd = None


def save(state: RunState) -> None:
    state.updated = datetime.now(UTC)
    target = checkpoint_path(state.run_id)
    paths.private_parent(target)
    write_atomic(target, state.model_dump_json(indent=2).encode())


def load(run_id: str) -> RunState:
    p = checkpoint_path(run_id)
    if not p.exists():
        raise UsageError(f"no run {run_id!r}", hint="`aisre runbook runs` lists recent runs")
    hint = (
        "start a new run with `aisre runbook run`; what this one did is in"
        f" `aisre audit show --run {run_id}`"
    )
    try:
        state = RunState.model_validate_json(p.read_bytes())
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        why = f"{where}: {err['msg']}" if where else str(err["msg"])
        raise UsageError(f"{p}: unreadable checkpoint ({why})", hint=hint) from None
    except OSError as exc:
        raise UsageError(f"{p}: unreadable checkpoint ({exc.strerror or exc})", hint=hint) from None
    if state.run_id != run_id:  # a copied or renamed file: it would save as the other run
        raise UsageError(
            f"{p}: the checkpoint is of run {state.run_id!r}, not {run_id!r}", hint=hint
        )
    return state


def list_runs() -> list[RunState]:
    d = paths.runs_dir()
    if not d.exists():
        return []
    out: list[RunState] = []
    for p in sorted(d.glob("r-*.json")):
        try:
            out.append(RunState.model_validate_json(p.read_bytes()))
        except ValueError:
            continue
    return sorted(out, key=lambda s: s.created)
