"""Interrupting a running step: SIGINT/SIGTERM honoured within a second, in every state.

A step blocks in one of four places: a child process (kubectl, an allowlisted
`exec`), an HTTP request (`http.request`, PagerDuty, Alertmanager), a `wait`, or the
pause between verification attempts. The UI's signal
handler cannot raise inside those (an exception in the middle of an action would
leave it unaudited), so it calls `request(name)` and returns; each blocking place
here polls that flag every `POLL_S` and, once set:

* a child process is stopped as a *group*: every child is started in its own session
  (`start_new_session=True`, so a terminal's Ctrl-C reaches aisre, not kubectl
  directly) and gets SIGTERM, then SIGKILL after `GRACE_S`, on its whole process
  group, so a `sh -c` wrapper cannot leave a grandchild running;
* a wait or a verification pause ends at once;
* an HTTP request is abandoned (`call`: it runs on a worker thread the step stops
  waiting for); a write may or may not have reached the server, and the message says
  so;

and `StepInterrupted` is raised. The executor turns it into a result the session
audits as `interrupted`; the UI then stops the run and exits 130.

The flag is process-wide (signals are): `clear()` it when a run starts and ends.
`request` only stores a string, which is safe inside a signal handler.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from aisre_cli.errors import AisreError, ExitCode

T = TypeVar("T")

POLL_S = 0.1
"""How often a blocking step looks at the flag."""
GRACE_S = 2.0
"""SIGTERM to SIGKILL, for a child process group that does not exit."""

_flag: list[str] = []


class StepInterrupted(AisreError):
    """A signal arrived while a step was running; the step was stopped."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(f"interrupted by {why}" + (f": {detail}" if detail else ""))
        self.why = why


def request(why: str) -> None:
    """Ask the running step to stop (call from a signal handler)."""
    _flag[:] = [why]


def pending() -> str | None:
    return _flag[0] if _flag else None


def clear() -> None:
    _flag.clear()


def check() -> None:
    """Raise StepInterrupted when an interrupt was requested."""
    why = pending()
    if why is not None:
        raise StepInterrupted(why)


def sleep(
    seconds: float,
    *,
    progress: Callable[[str], None] | None = None,
    what: str = "waiting",
    every_s: float = 15.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Sleep, ending early with StepInterrupted on an interrupt; a long sleep reports
    `what: Ns left` through `progress` every `every_s`."""
    end = clock() + seconds
    next_note = clock() + every_s
    while True:
        check()
        now = clock()
        if now >= end:
            return
        if progress is not None and seconds > every_s and now >= next_note:
            progress(f"{what}: {end - now:.0f}s left (Ctrl-C stops)")
            next_note = now + every_s
        time.sleep(min(POLL_S, end - now))


def terminate_group(proc: subprocess.Popen[str], grace_s: float = GRACE_S) -> None:
    """SIGTERM the child's process group, SIGKILL it after `grace_s`; reap the child."""
    pgid = proc.pid  # start_new_session: the child leads its own group
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if proc.poll() is not None and not _group_alive(pgid):
                break
            time.sleep(0.05)
        else:
            continue
        break
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member changed its uid
        return True
    return True


def run_child(
    argv: Sequence[str], *, env: Mapping[str, str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run argv (no shell) in its own session, capturing its output.

    Raises StepInterrupted (the group terminated) on an interrupt, and
    subprocess.TimeoutExpired (the group terminated too) after `timeout` seconds.
    """
    check()
    proc = subprocess.Popen(  # noqa: S603 - argv list, shell=False
        list(argv),
        shell=False,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="backslashreplace",  # bytes that are not UTF-8 (a raw 0x9b CSI) stay visible
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    end = time.monotonic() + timeout
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                why = pending()
                if why is not None:
                    terminate_group(proc)
                    raise StepInterrupted(
                        why, f"{argv[0]} (pid {proc.pid}) and its process group terminated"
                    ) from None
                if time.monotonic() >= end:
                    terminate_group(proc)
                    raise subprocess.TimeoutExpired(list(argv), timeout) from None
    except BaseException:
        if proc.poll() is None:
            terminate_group(proc)
        raise
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)


def call(fn: Callable[[], T], what: str) -> T:
    """Run `fn` on a worker thread and wait for it, giving up on an interrupt.

    For blocking calls that cannot be cancelled from outside (a socket read): the
    step stops waiting within POLL_S; the abandoned call ends on its own timeout.
    """
    check()
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised on the caller's thread
            box["error"] = exc

    t = threading.Thread(target=run, name=f"step-{what}", daemon=True)
    t.start()
    while t.is_alive():
        t.join(POLL_S)
        why = pending()
        if why is not None and t.is_alive():
            raise StepInterrupted(
                why, f"stopped waiting for {what}; it may or may not have taken effect"
            )
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
