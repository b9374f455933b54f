"""`aisre runbook`: list, show, validate, run and resume runbooks.

The stepper here is only the terminal edge: it shows the plan, reads one keystroke
and hands the answer to `govern.session.RunSession`, which decides, confirms, audits
and executes (the Textual console drives the same session).

The keystroke reader is deliberately unforgiving. The terminal is put in raw mode
and every *burst* of input (the bytes that arrive together, within a few
milliseconds) is one answer: a pasted `y;rm`, `yes`, `Y `, a Cyrillic `у`, an arrow
key's escape sequence are all single answers that are not exactly `y`, so they do
not run anything. Enter, EOF, Ctrl-C, Ctrl-D, SIGINT and SIGTERM never run a step.
Without a terminal no write step runs unless the policy grants autonomy for it.
"""

from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from aisre_cli.errors import ExitCode, UsageError
from aisre_cli.govern.stepper import Prompt, Run, Skip, State, Stop, Verify
from aisre_cli.ui.cli.app import BundleOpt, JsonOpt, ProfileOpt, app, state
from aisre_cli.ui.cli.common import print_json
from aisre_cli.ui.term import echo

if TYPE_CHECKING:
    from rich.console import Console

    from aisre_cli.flows.runbook import Ended, RunFlow, RunSession
    from aisre_cli.govern.policy import Policy
    from aisre_cli.govern.routing import Decision, Governed
    from aisre_cli.model import TriageReport
    from aisre_cli.remediate.capabilities import Capability, Registry
    from aisre_cli.remediate.capabilities import Preview as DryRun
    from aisre_cli.remediate.plan import PlannedStep
    from aisre_cli.settings.config import ResolvedProfile

runbook_app = typer.Typer(
    help="Runbooks: list, show, validate, run one step at a time, resume.",
    no_args_is_help=True,
)
app.add_typer(runbook_app, name="runbook")

BURST_S = 0.04
SCOPE_STYLE = {"read": "green", "write": "yellow", "destructive": "bold red"}
DECISION_STYLE = {"execute": "green", "confirm": "yellow", "refuse": "red", "escalate": "magenta"}


class Interrupted(Exception):
    """Ctrl-C, SIGINT, SIGTERM, EOF: stop without running anything more."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


# ------------------------------------------------------------------ keystrokes


class KeyReader:
    """Reads one answer per burst from a terminal in raw mode."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @staticmethod
    def for_stdin() -> KeyReader | None:
        try:
            fd = sys.stdin.fileno()
        except (ValueError, OSError):
            return None
        return KeyReader(fd) if os.isatty(fd) else None

    def read(self, prompt: Callable[[], None] | None = None) -> bytes:
        """The next burst of bytes (b"" on EOF). `prompt` is shown once raw mode is on,
        so nothing typed in answer to it can reach the cooked line discipline."""
        import termios
        import tty

        old = termios.tcgetattr(self.fd)
        try:
            tty.setraw(self.fd, termios.TCSANOW)
            if prompt is not None:
                prompt()
            try:
                first = os.read(self.fd, 64)
            except OSError:  # the terminal went away
                return b""
            if not first:
                return b""
            buf = first
            while select.select([self.fd], [], [], BURST_S)[0]:
                more = os.read(self.fd, 64)
                if not more:
                    break
                buf += more
                if len(buf) > 4096:
                    break
            return buf
        finally:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, old)


def classify(burst: bytes) -> str:
    """Map one burst to an answer: y n d a ? eof interrupt, or "" (not understood)."""
    if burst == b"":
        return "eof"
    if burst == b"\x03":
        return "interrupt"
    if burst == b"\x04":
        return "eof"
    if burst in (b"y", b"n", b"d", b"a", b"?"):
        return burst.decode()
    return ""


@contextmanager
def _signals(guard: dict[str, Any]) -> Iterator[None]:
    """SIGTERM/SIGINT/SIGHUP raise Interrupted, but never in the middle of an action:
    during one they stop the step (its process group terminated, its wait ended, see
    `remediate.interrupt`), which is audited as interrupted, and then Interrupted.

    SIGHUP (the terminal closed, an ssh session dropped) would otherwise kill the
    process outright: no audited result, no run_end, the run left `running` and the
    step's process group left behind. Under `nohup` (SIGHUP ignored) it stays ignored.
    Once the terminal is gone, writing to it fails (EIO) and would stop the run before
    it is audited as ended, so stdout/stderr that were that terminal go to /dev/null."""
    from aisre_cli.remediate import interrupt

    ttys = [fd for fd in (1, 2) if _isatty(fd)]

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if signum == getattr(signal, "SIGHUP", None):
            _drop_hung_up(ttys)
        if guard.get("busy"):
            guard["pending"] = name
            interrupt.request(name)
            return
        raise Interrupted(name)

    interrupt.clear()
    sigs = [signal.SIGTERM, signal.SIGINT]
    hup = getattr(signal, "SIGHUP", None)  # not on Windows
    if hup is not None and signal.getsignal(hup) is not signal.SIG_IGN:
        sigs.append(hup)
    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        interrupt.clear()


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _drop_hung_up(fds: list[int]) -> None:
    """Point each of `fds` that was a terminal and is no longer one (hung up) at
    /dev/null, so the rest of the run can still print, to no one."""
    gone = [fd for fd in fds if not _isatty(fd)]
    if not gone:
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        for fd in gone:
            os.dup2(null, fd)
    finally:
        os.close(null)


# ------------------------------------------------------------------ rendering


def _console() -> Console:
    from aisre_cli.ui.term import console

    return console(stderr=True, soft_wrap=True)


def _esc(s: str) -> str:
    """Outside text (runbook texts, kubectl output, errors) for rich markup: controls
    made visible, markup escaped (see ui.term)."""
    from aisre_cli.ui.term import markup

    return markup(s)


def _badge(scope: str) -> str:
    return f"[{SCOPE_STYLE.get(scope, 'white')}]{scope}[/]"


def _scope(declared: str, governed_as: str | None) -> str:
    """The declared scope and, when governance routes the step on another one (an
    untrusted plugin's `read`), that one: `read→write`."""
    if governed_as is None or governed_as == declared:
        return _badge(declared)
    return f"{_badge(declared)}→{_badge(governed_as)}"


def _governed(c: Capability, reg: Registry, pol: Policy) -> Governed:
    """How the policy governs capability `c` (a plugin's claims are not its word)."""
    from aisre_cli.govern.routing import governed

    return governed(
        c.name,
        c.scope,
        handoff=bool(getattr(c, "handoff", False)),
        plugin=reg.plugin(c.name) is not None,
        policy=pol,
    )


def _decision(d: Decision) -> str:
    return f"[{DECISION_STYLE[d.kind]}]{d.kind}[/]"


def _long_text(v: object) -> str | None:
    """A one-line stand-in for a long or multi-line text parameter (a hand-off), so
    it is not printed again, escaped, in the plan and in the action."""
    if not isinstance(v, str) or (len(v) <= 160 and "\n" not in v):
        return None
    import hashlib

    digest = hashlib.sha256(v.encode()).hexdigest()[:12]
    return f"<text: {len(v.splitlines())} lines, {len(v)} chars, sha256 {digest}…>"


def action_text(session: RunSession, ps: PlannedStep) -> str:
    """The step's action as shown at the prompt: its exact text (the digest binds
    that), with long text parameters (printed on stdout already) shown once as a
    stand-in instead of as a wall of escaped JSON."""
    import json

    text = ps.action.text()
    for v in session.plan.values.values():
        short = _long_text(v)
        if short is not None:
            text = text.replace(json.dumps(v)[1:-1], short)
    return text


def show_plan(session: RunSession, con: Console) -> None:
    from rich.table import Table

    from aisre_cli.ui.term import visible

    plan = session.plan
    rb = plan.runbook
    con.print(f"[bold]{_esc(rb.title)}[/] ([cyan]{_esc(rb.id)}[/])  run [bold]{session.run_id}[/]")
    con.print(
        f"profile environment [bold]{_esc(session.state.environment)}[/],"
        f" policy {_esc(session.policy.source)}"
        + ("  [bold cyan]DRY RUN[/]" if session.dry_run else "")
    )
    kube = kube_line(session)
    if kube is not None:
        con.print(kube)
    if plan.hypothesis is not None:
        h = plan.hypothesis
        con.print(
            f"fixes: {h.kind} on {_esc(h.service)} (confidence {h.confidence:.0%},"
            f" match {plan.specificity if plan.specificity is not None else 'n/a'})"
        )
    unsupported = session.state.signals.get("unsupported")
    if unsupported:
        con.print(f"[yellow]warning:[/] {_esc(str(unsupported))}: a human confirms each step")
    if plan.values:
        con.print("parameters:")
        for k, v in plan.values.items():
            shown = _long_text(v) or repr(v)
            con.print(f"  {_esc(k)} = {_esc(shown)}  [dim]({_esc(plan.sources.get(k, ''))})[/]")
    t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("#", "step", "scope", "capability", "decision", "status"):
        t.add_column(col)
    for ps in plan.steps:
        d = session.decide(ps)
        t.add_row(
            str(ps.index + 1),
            _esc(visible(ps.step.title, oneline=True)),
            _scope(ps.scope, d.governed_as),
            _esc(ps.capability.name),
            _decision(d),
            _esc(session.status_of(ps)),
        )
    con.print(t)


def kube_line(session: RunSession) -> str | None:
    """Which cluster the plan's kubectl steps act on (markup), or None without any."""
    targets = [ps.target for ps in session.plan.steps if ps.target is not None]
    if not targets:
        return None
    prof = session.ctx.profile
    if prof.kube_context:
        # the namespaces the steps act in (a --param namespace=… overrides the profile's)
        spaces = sorted({t.namespace for t in targets if t.namespace})
        ns = f", namespace [bold]{_esc(', '.join(spaces))}[/]" if spaces else ""
        return f"kubernetes: context [bold]{_esc(prof.kube_context)}[/]{ns}"
    writes = any(ps.writes for ps in session.plan.steps if ps.target is not None)
    return "[yellow]kubernetes: no context pinned[/]: reads use kubectl's current context" + (
        "; write steps are refused (set kube_context in the profile)" if writes else ""
    )


def show_step(
    session: RunSession, ps: PlannedStep, d: Decision, con: Console, *, what: str = "step"
) -> None:
    n = len(session.plan.steps)
    con.print()
    head = f"step {ps.index + 1}/{n}" if what == "step" else f"undo of {ps.undo_of}:"
    con.print(
        f"[bold]{head}[/] {_esc(ps.step.title)}  {_scope(ps.scope, d.governed_as)}"
        f"  {ps.capability.name}"
    )
    st = next((x for x in session.state.steps if x.id == ps.id), None)  # undo steps: none
    if st is not None and st.error and st.status in ("pending", "interrupted"):
        con.print(f"[yellow]note:[/] {_esc(st.error)}")
    if ps.target is not None:
        con.print(f"[dim]target:[/] {_esc(ps.target.text())}")
    con.print("[dim]action:[/]")
    for line in action_text(session, ps).splitlines():
        con.print(f"  {_esc(line)}")
    if ps.step.verify is not None:
        target = ps.verify_query or ps.step.verify.capability or ""
        con.print(f"[dim]verify:[/] {_esc(target)} {_esc(ps.step.verify.expect or '')}")
    undo = ps.capability.undo_hint if ps.step.undo == "auto" else (str(ps.step.undo or ""))
    if ps.writes or d.governed_as is not None:  # an untrusted plugin's read: a write
        con.print(f"[dim]undo:[/] {_esc(undo) if undo else 'none (cannot be undone)'}")
    con.print(
        f"[dim]decision:[/] {_decision(d)} (trust {d.trust:.2f}, risk {d.risk:.2f}):"
        f" {_esc('; '.join(d.reasons))}"
    )


def show_preview(pv: DryRun, con: Console) -> None:
    con.print(f"[cyan]dry run[/] ({'ok' if pv.ok else 'failed'}):")
    for line in pv.text.splitlines():
        con.print(f"  {_esc(line)}")


# ------------------------------------------------------------------ the driver


def drive(flow: RunFlow, reader: KeyReader | None, con: Console) -> tuple[int, dict[str, Any]]:
    """Render the flow's states and read keys until the run ends. Returns the exit
    code and the run summary (JSON). Nothing here decides what runs: the stepper
    does (`govern.stepper`), and `flow.perform` does the I/O."""
    from aisre_cli.flows.runbook import Ended

    session = flow.session
    show_plan(session, con)
    guard: dict[str, Any] = {}
    if session.ctx.progress is None:  # long waits and verifications say how long is left
        session.ctx.progress = lambda msg: con.print(f"  [dim]{_esc(msg)}[/]")
    state = flow.begin()
    shown: tuple[str, bool] | None = None
    try:
        with _signals(guard):
            while True:
                step = getattr(state, "step", None)
                card = not isinstance(state, Verify | Skip | Stop) or (
                    isinstance(state, Stop) and state.decision is not None and not flow.dry_run
                )
                if step is not None and card and shown != (step.id, step.undo_of is not None):
                    what = "undo" if step.undo_of is not None else "step"
                    show_step(session, step, _decision_of(state, flow), con, what=what)
                    shown = (step.id, step.undo_of is not None)
                if isinstance(state, Prompt):
                    state = _ask(flow, state, reader, con)
                    continue
                if isinstance(state, Run) and not state.confirmed:
                    con.print(f"[dim]running ({_esc('; '.join(state.decision.reasons))})[/]")
                if isinstance(state, Verify):
                    if state.again:
                        con.print(
                            f"[yellow]checking step {_esc(state.step.id)} again:[/]"
                            f" {_esc(state.again)}"
                        )
                    v = state.step.step.verify
                    target = state.step.verify_query or (v.capability if v else "") or ""
                    con.print(
                        f"[dim]verifying {_esc(target)} {_esc(v.expect or '') if v else ''}"
                        f" (up to {v.timeout if v else '?'})…[/]"
                    )
                guard["busy"] = True
                try:
                    event, nxt = flow.perform(
                        state, progress=lambda m: con.print(f"  [dim]verify: {_esc(m)}[/]")
                    )
                finally:
                    guard["busy"] = False
                if not (flow.dry_run and isinstance(event, Stop) and event.how == "stop"):
                    _render_event(state, event, nxt, con)  # (a dry run's stop: `_finish`)
                if isinstance(nxt, Ended):
                    return _finish(nxt, con)
                pending = guard.pop("pending", None)
                if pending:
                    raise Interrupted(str(pending))
                state = nxt
    except Interrupted as exc:
        con.print(f"\n[red]interrupted ({exc.why}):[/] nothing more runs")
        return _finish(flow.abandon(exc.why), con)


def _decision_of(state: State, flow: RunFlow) -> Decision:
    d = getattr(state, "decision", None)
    if d is not None:
        return d  # type: ignore[no-any-return]
    step = getattr(state, "step", None)
    assert step is not None
    return flow.decide(step)


def _ask(flow: RunFlow, prompt: Prompt, reader: KeyReader | None, con: Console) -> State:
    """One keystroke for a prompt; the stepper maps it to the next state."""
    if prompt.message:
        style = "yellow" if prompt.message.startswith("not a choice") else ""
        con.print(f"[{style}]{_esc(prompt.message)}[/]" if style else _esc(prompt.message))
    if reader is None:  # the stepper never prompts without a terminal; be safe anyway
        return flow.interrupted("no terminal")
    burst = reader.read(lambda: con.print(f"{prompt.question}: ", end=""))
    ans = classify(burst)
    con.print(_esc(repr(burst.decode("utf-8", "replace")) if ans == "" else ans))
    return flow.answer(prompt, ans)


def _render_event(state: State, event: object, nxt: object, con: Console) -> None:
    from aisre_cli.flows.runbook import DryRun as DryRunResult
    from aisre_cli.flows.runbook import StepOutcome, VerifyResult

    if isinstance(event, DryRunResult):
        show_preview(event, con)
    elif isinstance(event, StepOutcome):
        if event.output.get("stdout"):
            for line in str(event.output["stdout"]).rstrip().splitlines()[-20:]:
                con.print(f"  [dim]{_esc(line)}[/]")
        if event.output.get("message"):
            con.print(f"[bold cyan]note:[/] {_esc(str(event.output['message']))}")
        if isinstance(state, Run) and state.undo_of is not None:
            con.print(
                "[green]undone[/]"
                if event.ok
                else f"[red]undo failed:[/] {_esc(event.error or '')}"
            )
        elif not event.ok:
            con.print(f"[red]failed:[/] {_esc(event.error or '')}")
        elif not isinstance(nxt, Verify):
            con.print("[green]done[/]")
    elif isinstance(event, VerifyResult):
        if event.ok:
            con.print(f"[green]verify:[/] {_esc(event.detail)}")
            con.print("[green]done[/]")
        elif event.skipped:
            con.print(f"[yellow]unverified:[/] {_esc(event.detail)}")
        else:
            con.print(f"[red]verify:[/] {_esc(event.detail)}")
    elif isinstance(event, Skip):
        if event.by_operator:
            con.print("[dim]skipped[/]")
        else:
            con.print(f"[yellow]skipped[/] step {_esc(event.step.id)}: {_esc(event.reason)}")
    elif isinstance(event, Stop):
        d = event.decision
        if event.how == "abort":
            con.print("[yellow]aborted[/] by the operator")
        elif event.how == "interrupt":
            con.print(f"[red]{_esc(event.reason)}[/]: nothing more runs")
        elif event.how == "fail" and event.reason.startswith("action failed:"):
            # the action's error was just printed with its output: say what it means
            where = f"step {_esc(event.step.id)} failed" if event.step else "a step failed"
            con.print(f"[red]stopped:[/] {where}; nothing more runs")
        elif event.how == "fail":
            con.print(f"[red]failed:[/] {_esc(event.reason)}")
        elif d is not None and d.kind in ("refuse", "escalate"):
            con.print(f"[red]{d.kind}:[/] {_esc('; '.join(d.reasons))}")
        elif event.how == "stop":
            where = f"step {_esc(event.step.id)}: " if event.step is not None else ""
            con.print(f"[red]stopped:[/] {where}{_esc(event.reason)}")
        if event.hint:
            con.print(f"hint: {_esc(event.hint)}")


def _finish(end: Ended, con: Console) -> tuple[int, dict[str, Any]]:
    from aisre_cli.flows.runbook import WOULD_STOP

    summary = end.summary
    rc = int(end.exit_code)
    con.print()
    dry = " (dry run: nothing ran)" if summary.dry_run else ""
    con.print(f"run {summary.run_id}: [bold]{summary.status}[/]{dry}")
    for sid, st in summary.steps.items():
        con.print(f"  {_esc(sid)}: {_esc(st)}")
    if summary.status == "unverified":
        con.print("[yellow]the change ran but could not be verified[/]: check it yourself")
        for sid, why in summary.unverified.items():
            con.print(f"  [dim]{_esc(sid)}: {_esc(why)}[/]")
    con.print(f"audit head: #{summary.head_seq} {summary.head}")
    if summary.audit_spooled:
        con.print(
            "[dim]  in the local audit spool (the team store is unreachable): the team trail"
            " gets it with `aisre memory sync`; `aisre audit verify --expect-head` accepts"
            " this hash then[/]"
        )
    if summary.audit_warning:
        con.print(f"[bold red]audit warning:[/] {_esc(summary.audit_warning)}")
    if summary.resumable:
        con.print(f"[dim]resume with: aisre runbook resume {summary.run_id}[/]")
    report = end.dry_run
    if report is not None and summary.status in (WOULD_STOP, "completed"):
        # the last line says whether the real run would go through (a pre-check reads it)
        if end.stop is not None and end.stop.hint:
            con.print(f"hint: {_esc(end.stop.hint)}")
        style = "red" if summary.status == WOULD_STOP else "green"
        con.print(f"[{style}]{_esc(report.headline())}[/]")
    return rc, {
        "schema": "aisre.run/v1",
        "run_id": summary.run_id,
        "status": summary.status,
        "dry_run": summary.dry_run,
        "steps": summary.steps,
        "audit_head": summary.head,
        "audit_seq": summary.head_seq,
        "audit_warning": summary.audit_warning or None,
        "audit_spooled": summary.audit_spooled,
        "unverified": summary.unverified,
        "stopped": None
        if end.stop is None
        else {
            "step": end.stop.step.id if end.stop.step is not None else None,
            "how": end.stop.how,
            "reason": end.stop.reason,
            "hint": end.stop.hint,
            "decision": end.stop.decision.to_dict() if end.stop.decision is not None else None,
        },
        "predicted": report.to_json() if report is not None else None,
        "exit_code": rc,
    }


# ------------------------------------------------------------------ commands


def _profile(ctx: typer.Context, profile: str | None) -> ResolvedProfile:
    from aisre_cli.settings.config import resolve_profile

    st = state(ctx, profile)
    return resolve_profile(st.profile)


def _policy(ctx: typer.Context, profile: str | None, *, lenient: bool = False) -> Policy:
    """The profile's governance policy. `lenient`: a config or policy that cannot be read
    gives the built-in policy (which trusts no plugin capability) instead of an error."""
    from aisre_cli.errors import ConfigError
    from aisre_cli.govern.policy import Policy

    try:
        return _load_policy(_profile(ctx, profile))
    except ConfigError:
        if not lenient:
            raise
        return Policy()


def _load_policy(rp: ResolvedProfile) -> Policy:
    """`load_policy` of the profile's `policy_file`; an error names the setting and the
    profile, and a file that cannot be read says how to fix the path or drop it."""
    from aisre_cli.errors import ConfigError
    from aisre_cli.govern.policy import load_policy

    path = rp.profile.policy_file
    try:
        return load_policy(path)
    except ConfigError as exc:
        where = f"policy_file of profile {rp.name}"
        hint = exc.hint
        p = Path(path).expanduser() if path else None
        if p is not None and (not p.is_file() or not os.access(p, os.R_OK)):
            hint = (
                f"fix the path in profile {rp.name} (`aisre config edit`), or remove"
                " `policy_file` there to use the built-in policy (a human confirms every"
                " write step)"
            )
        raise ConfigError(f"{where}: {exc.message}", hint=hint) from None


def _parse_params(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in items:
        k, sep, v = it.partition("=")
        shown = it if len(it) <= 80 else f"{it[:60]}… ({len(it)} characters)"
        if not sep or not k:
            raise UsageError(
                f"--param {shown!r}: expected NAME=VALUE",
                hint="e.g. --param service=checkout; `aisre runbook show ID` lists the names",
            )
        name = k.strip()
        if name in out and out[name] != v:  # which one did the engineer mean?
            raise UsageError(
                f"--param {name} is given twice ({out[name][:40]!r} and {v[:40]!r})",
                hint="give each parameter once",
            )
        out[name] = v
    return out


def _triage(
    ctx: typer.Context, profile: str | None, bundle: Path | None, alert: str
) -> TriageReport:
    """The same triage as `aisre triage` (memory priors, runbook matching, the incident
    recorded or updated), so governance sees the same confidences."""
    from aisre_cli.flows.triage import TriageFlow
    from aisre_cli.ui.cli.common import load, note

    rp, sources = load(ctx, profile, bundle)
    result = TriageFlow(rp.profile, sources).triage(alert)
    for text in result.notes:
        note(text)
    return result.report


@runbook_app.command("list")
def list_cmd(ctx: typer.Context, profile: ProfileOpt = None, json_out: JsonOpt = False) -> None:
    """List the available runbooks (shipped and from the profile's runbook_dirs)."""
    from rich.table import Table

    from aisre_cli.errors import ConfigError
    from aisre_cli.remediate.runbook import Problem, load_runbooks, missing_dirs

    skipped: list[Problem] = []
    rp = _profile(ctx, profile)
    prof = rp.profile
    # the policy only says which plugin capabilities a runbook may verify with: one
    # that cannot be read lists the runbooks as under the built-in policy (trusting
    # none), with a note, instead of hiding them all behind the error
    policy_error: ConfigError | None = None
    try:
        trusted: Collection[str] = _load_policy(rp).trusted_plugin_capabilities
    except ConfigError as exc:
        policy_error, trusted = exc, ()
        echo(
            f"note: {exc.message}; runbooks listed as under the built-in policy (no plugin"
            " capability trusted)",
            err=True,
        )
        if exc.hint:
            echo(f"hint: {exc.hint}", err=True)
    rbs = load_runbooks(prof, strict=False, skipped=skipped, trusted=trusted)
    for d in missing_dirs(prof):
        echo(f"note: runbook_dirs folder {d} does not exist (named in the profile)", err=True)
    if skipped:  # a runbook that is not listed must not vanish without a word
        echo(
            f"note: {len(skipped)} invalid runbook file(s) not listed, first"
            f" {skipped[0].render()}; `aisre runbook validate` lists every finding",
            err=True,
        )
    if json_out:
        print_json(
            {
                "schema": "aisre.runbooks/v1",
                "runbooks": [
                    {
                        "id": r.id,
                        "title": r.title,
                        "kinds": r.applies_to.kinds,
                        "steps": len(r.steps),
                        "source": r.source,
                    }
                    for r in rbs
                ],
                "policy_error": policy_error.message if policy_error is not None else None,
            }
        )
        return
    from aisre_cli.ui.term import console, safe

    t = Table(box=None, header_style="bold")
    for c in ("id", "title", "applies to", "steps"):
        t.add_column(c)
    for r in rbs:
        kinds = ", ".join(r.applies_to.kinds) or "any"
        t.add_row(
            safe(r.id, oneline=True),
            safe(r.title, oneline=True),
            safe(kinds, oneline=True),
            str(len(r.steps)),
        )
    console().print(t)


@runbook_app.command("show")
def show_cmd(
    ctx: typer.Context,
    runbook_id: str = typer.Argument(..., help="Runbook id (see `aisre runbook list`)."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a runbook: what it applies to, its parameters and its steps."""
    from aisre_cli.remediate.capabilities import default_registry
    from aisre_cli.remediate.runbook import find_runbook
    from aisre_cli.ui.term import console

    pol = _policy(ctx, profile)
    rb = find_runbook(
        runbook_id, _profile(ctx, profile).profile, trusted=pol.trusted_plugin_capabilities
    )
    reg = default_registry()
    if json_out:
        data = rb.model_dump(mode="json", by_alias=True)
        data["source"] = rb.source
        for s in data["steps"]:
            cap = reg.get(s["capability"])
            s["scope"] = cap.scope
            g = _governed(cap, reg, pol)
            if g.scope != cap.scope:
                s["governed_as"] = g.scope
        print_json({"schema": "aisre.runbook/v1", "runbook": data})
        return
    con = console()
    con.print(f"[bold]{_esc(rb.title)}[/] ([cyan]{_esc(rb.id)}[/])  {_esc(rb.source)}")
    if rb.description:
        con.print(_esc(rb.description.strip()))
    a = rb.applies_to
    con.print(
        _esc(
            f"applies to: kinds {', '.join(a.kinds) or 'any'}"
            + (f"; labels {a.labels}" if a.labels else "")
            + (f"; services {a.services}" if a.services else "")
        )
    )
    con.print("parameters:")
    for k, p in rb.params.items():
        src = f" from {p.from_}" if p.from_ else ""
        dflt = f" default {p.default!r}" if p.default is not None else ""
        opt = "" if p.required else " optional"
        con.print(f"  {_esc(f'{k}: {p.type}{src}{dflt}{opt}')}  [dim]{_esc(p.description)}[/]")
    con.print("steps:")
    for i, s in enumerate(rb.steps, 1):
        cap = reg.get(s.capability)
        g = _governed(cap, reg, pol)
        con.print(
            f"  {i}. {_esc(s.title)}  {_scope(cap.scope, g.scope)} {_esc(s.capability)}"
            + ("  [yellow]confirm[/]" if s.confirm else "")
        )
        if g.note:
            con.print(f"       [dim]{_esc(g.note)}[/]")
        for k, v in s.inputs.items():
            con.print(f"       {_esc(k)}: {_esc(str(v))}")
        if s.verify is not None:
            con.print(
                f"       verify: {_esc(s.verify.query or s.verify.capability or '')}"
                f" {_esc(s.verify.expect or '')}"
            )
        if s.undo is not None:
            con.print(f"       undo: {_esc(str(s.undo))}")


@runbook_app.command("validate")
def validate_cmd(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: every runbook)."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check runbooks: capabilities, input schemas, template names, undo steps (file:line)."""
    from aisre_cli.remediate.runbook import (
        Problem,
        missing_dirs,
        runbook_dirs,
        runbook_files,
        validate_files,
    )

    prof = None if paths else _profile(ctx, profile).profile
    # files named without a profile: the default profile's policy if it can be read,
    # else none (no plugin capability trusted to verify)
    chosen = profile is not None or state(ctx).profile is not None
    trusted = _policy(ctx, profile, lenient=bool(paths) and not chosen).trusted_plugin_capabilities
    targets = list(paths) if paths else [d for d in runbook_dirs(prof) if d.exists()]
    # a configured folder that is not there hides its runbooks: a problem, not a pass
    gone = [
        Problem(str(d), 1, "runbook_dirs: no such folder (named in the profile)")
        for d in (missing_dirs(prof) if not paths else [])
    ]
    for d in paths or []:  # a folder named on purpose must hold something to check
        if d.is_dir() and not runbook_files([d]):
            raise UsageError(
                f"no runbook files (*.yaml, *.yml) in {d}",
                hint="give a folder of runbooks, or the runbook files themselves",
            )
    files = runbook_files(targets)
    rbs, problems = validate_files(files, trusted=trusted)
    problems = gone + problems
    if json_out:
        print_json(
            {
                "schema": "aisre.validate/v1",
                "ok": not problems,
                "files": [str(f) for f in files],
                "valid": [r.id for r in rbs],
                "problems": [
                    {"file": p.file, "line": p.line, "message": p.message} for p in problems
                ],
            }
        )
    else:
        for p in problems:
            echo(p.render())
        echo(f"{len(files)} file(s), {len(rbs)} valid, {len(problems)} problem(s)", err=True)
    if problems:
        raise typer.Exit(int(ExitCode.USAGE))


@runbook_app.command("capabilities")
def capabilities_cmd(
    ctx: typer.Context, profile: ProfileOpt = None, json_out: JsonOpt = False
) -> None:
    """List the capabilities runbook steps may use (nothing else can run).

    A capability from a plugin is marked, with the scope governance routes it on: a
    plugin's `read` counts as `write` unless the policy lists it in
    `trusted_plugin_capabilities`.
    """
    from aisre_cli.remediate.capabilities import default_registry

    reg = default_registry()
    pol = _policy(ctx, profile)
    caps = list(reg)
    if json_out:
        print_json(
            {
                "schema": "aisre.capabilities/v1",
                "capabilities": [
                    {
                        "name": c.name,
                        "scope": c.scope,
                        "effective_scope": _governed(c, reg, pol).scope,
                        "plugin": reg.plugin(c.name),
                        "trusted": pol.trusts(c.name) if reg.plugin(c.name) else None,
                        "description": c.description,
                        "undo": c.undo_hint or None,
                        "inputs": c.input_model.model_json_schema(),
                    }
                    for c in caps
                ],
            }
        )
        return
    from aisre_cli.ui.term import console

    con = console()
    for c in caps:
        g = _governed(c, reg, pol)
        origin = reg.plugin(c.name)
        mark = "  [magenta](plugin)[/]" if origin is not None else ""
        con.print(f"{c.name:32} {_scope(c.scope, g.scope):10}  {_esc(c.description)}{mark}")
        if origin is not None:
            how = (
                "trusted by the policy"
                if pol.trusts(c.name)
                else (g.note or "not trusted; its scope is governed as declared")
            )
            con.print(f"{'':32} [dim]{_esc(origin)}: {_esc(how)}[/]")


@runbook_app.command("runs")
def runs_cmd(json_out: JsonOpt = False) -> None:
    """List runs and their status (newest last)."""
    from aisre_cli.flows.runbook import run_status
    from aisre_cli.remediate.checkpoint import list_runs

    runs = list_runs()
    status = {
        r.run_id: run_status(r.status, r.dry_run, {s.id: s.status for s in r.steps}) for r in runs
    }
    if json_out:
        print_json(
            {
                "schema": "aisre.runs/v1",
                "runs": [
                    {
                        "run_id": r.run_id,
                        "runbook": r.runbook_id,
                        "status": status[r.run_id],
                        "dry_run": r.dry_run,
                        "created": r.created.isoformat(),
                        "steps": {s.id: s.status for s in r.steps},
                    }
                    for r in runs
                ],
            }
        )
        return
    if not runs:
        typer.echo("no runbook runs yet: start one with `aisre runbook run RUNBOOK_ID`", err=True)
        return
    for r in runs:
        done = sum(1 for s in r.steps if s.status == "done")
        skipped = sum(1 for s in r.steps if s.status == "skipped")
        more = f", {skipped} skipped" if skipped else ""
        label = f"{status[r.run_id]} (dry run)" if r.dry_run else r.status
        echo(f"{r.run_id}  {r.runbook_id:24} {label:10} {done}/{len(r.steps)} steps done{more}")


ParamOpt = typer.Option(None, "--param", "-P", help="NAME=VALUE (repeatable).")
BreakGlassOpt = typer.Option(
    None,
    "--break-glass",
    help="Override a freeze window; give the reason (audited). A human still confirms.",
)


@runbook_app.command("run")
def run_cmd(
    ctx: typer.Context,
    runbook_id: str = typer.Argument(..., help="Runbook id (see `aisre runbook list`)."),
    alert: str | None = typer.Option(
        None, "--alert", help="Take parameter defaults and trust from triage of this alert."
    ),
    params: list[str] = ParamOpt,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Show every step's dry run and decision only; exit 5 if one would be refused.",
    ),
    break_glass: str | None = BreakGlassOpt,
    profile: ProfileOpt = None,
    bundle: BundleOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a runbook one keystroke at a time: y run, n skip, d dry run, a abort, ? help.

    Only an exact `y` runs a step. Without a terminal, write steps run only where the
    policy grants autonomy. A step that depends on one that did not run is skipped.
    Exit codes: 0 completed (a dry run: no step would be refused); 4 a step's target
    refused the credential; 5 a step was refused, escalated, or needs a human and there
    is no terminal (a dry run: a step would be refused or escalated, and the run ends
    `would_stop`); 6 a step failed, its verification failed, or it could not be
    verified (the run ends `unverified`); 130 aborted or interrupted (resume with
    `runbook resume`).

    Examples:

      aisre runbook run rollback-bad-deploy --alert CheckoutHighErrorRate

      aisre runbook run restart-crashloop --param service=payments --dry-run
    """
    from aisre_cli.flows.runbook import start_run
    from aisre_cli.remediate.runbook import find_runbook

    rp = _profile(ctx, profile)
    rb = find_runbook(
        runbook_id, rp.profile, trusted=_policy(ctx, profile).trusted_plugin_capabilities
    )
    report = _triage(ctx, profile, bundle, alert) if alert else None
    reader = KeyReader.for_stdin()
    flow = start_run(
        rb,
        rp.name,
        rp.profile,
        params=_parse_params(params or []),
        report=report,
        dry_run=dry_run,
        break_glass=break_glass,
        interactive=reader is not None,
    )
    _exit(flow, reader, json_out)


@runbook_app.command("resume")
def resume_cmd(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="The run id printed by `runbook run`."),
    break_glass: str | None = BreakGlassOpt,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Continue an interrupted run; finished steps are not repeated."""
    from aisre_cli.flows.runbook import resume_run
    from aisre_cli.remediate.checkpoint import load

    st = load(run_id)
    rp = _profile(ctx, profile or st.profile)
    reader = KeyReader.for_stdin()
    flow = resume_run(
        run_id, rp.name, rp.profile, break_glass=break_glass, interactive=reader is not None
    )
    _exit(flow, reader, json_out)


def _exit(flow: RunFlow, reader: KeyReader | None, json_out: bool) -> None:
    rc, summary = drive(flow, reader, _console())
    prof = flow.session.ctx.profile
    spaces = sorted(
        {ps.target.namespace for ps in flow.session.plan.steps if ps.target and ps.target.namespace}
    )
    summary["kube"] = {
        "context": prof.kube_context,
        "namespace": spaces[0] if len(spaces) == 1 else prof.namespace,
        "namespaces": spaces,
    }
    if json_out:
        print_json(summary)
    if rc:
        raise typer.Exit(rc)


@runbook_app.command("policy")
def policy_cmd(ctx: typer.Context, profile: ProfileOpt = None, json_out: JsonOpt = False) -> None:
    """Show the governance policy in effect for the profile.

    The table says what a step of each capability gets here (runs without asking, asks
    you to confirm, refused) and why: the autonomy level and the policy key that set
    it, or what decides first (a read, no kube_context, a freeze window).

    The policy is a YAML file named by the profile's `policy_file` (default: `approved`
    everywhere). Keys: `autonomy` (read_only | advised | approved | autonomous),
    `classes` (per scope: read, write, destructive), `capabilities` (per capability
    name), `environments.NAME` (the same three, per environment), `thresholds`
    (min_trust, max_risk, escalate_trust, escalate_risk, min_successes,
    max_failure_rate, max_blast_radius, recent_change_minutes), `freeze_windows`
    (name, start/end or weekly {days, start, end}, environments), `http_allowlist`
    (hosts), `exec_allowlist` (argv prefixes) and `trusted_plugin_capabilities`
    (plugin capabilities whose declared `read` scope and hand-off are honoured; any
    other plugin `read` is governed as `write`).
    """
    from datetime import UTC, datetime

    from aisre_cli.flows.runbook import DECISION_WORDS, policy_decision
    from aisre_cli.remediate.capabilities import ExecContext, default_registry, unpinned_reason

    rp = _profile(ctx, profile)
    pol = _load_policy(rp)
    env = rp.profile.environment
    now = datetime.now(UTC)
    active = [w.name for w in pol.active_freezes(now, env)]
    reg = default_registry()
    scopes = {c.name: _governed(c, reg, pol).scope for c in reg}
    per_cap = {c.name: pol.autonomy_for(env, c.name, scopes[c.name]) for c in reg}
    exec_ctx = ExecContext(profile=rp.profile)
    rows: dict[str, tuple[Decision, _Why]] = {}
    for c in reg:
        d = policy_decision(c, rp.profile, pol, reg, now)
        level, rule = per_cap[c.name]
        unpinned = d.kind == "refuse" and unpinned_reason(c, exec_ctx) is not None
        rows[c.name] = (d, _why(d, scopes[c.name], level, rule, unpinned=unpinned))
    if json_out:
        print_json(
            {
                "schema": "aisre.policy/v1",
                "source": pol.source,
                "environment": env,
                "policy": pol.model_dump(mode="json"),
                "active_freezes": active,
                "autonomy": {k: {"level": v[0], "rule": v[1]} for k, v in per_cap.items()},
                "decisions": {
                    name: {
                        "scope": scopes[name],
                        "decision": d.kind,
                        "says": DECISION_WORDS[d.kind],
                        "why": why.text(why.rule if why.rule != "autonomy" else None),
                        "reasons": list(d.reasons),
                    }
                    for name, (d, why) in rows.items()
                },
            }
        )
        return
    from rich.table import Table

    from aisre_cli.ui.term import console

    con = console()
    con.print(f"policy: {_esc(pol.source)}   environment: [bold]{_esc(env)}[/]")
    con.print(
        "freeze: " + (f"[red]ACTIVE ({_esc(', '.join(active))})[/]" if active else "none active")
    )
    th = pol.thresholds
    con.print(
        f"thresholds: min_trust {th.min_trust}, max_risk {th.max_risk}, min_successes"
        f" {th.min_successes}, max_blast_radius {th.max_blast_radius},"
    )
    con.print(f"            escalate_trust {th.escalate_trust}, escalate_risk {th.escalate_risk}")
    trusted = pol.trusted_plugin_capabilities
    con.print(
        "trusted plugin capabilities: "
        + (_esc(", ".join(trusted)) if trusted else "none (a plugin's read is governed as write)")
    )
    con.print()
    # the policy keys behind the levels are long (environments.prod.classes.write):
    # the table names each by a number, listed once under it, so a row fits 80 columns
    refs: dict[str, str] = {}
    for _, why in rows.values():
        if why.rule is not None and why.rule != "autonomy" and why.rule not in refs:
            refs[why.rule] = str(len(refs) + 1)
    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("capability", "scope", "decision"):
        t.add_column(col, no_wrap=True)
    t.add_column("why")
    for c in reg:
        d, why = rows[c.name]
        plugin = " [magenta](plugin)[/]" if reg.plugin(c.name) else ""
        ref = refs.get(why.rule) if why.rule is not None else None
        t.add_row(
            _esc(c.name) + plugin,
            _scope(c.scope, scopes[c.name]),
            f"[{DECISION_STYLE[d.kind]}]{DECISION_WORDS[d.kind]}[/]",
            _esc(why.text(ref)),
        )
    con.print(t)
    con.print()
    con.print(
        "[dim]decision: what a step of each capability gets in this profile when the run's"
        " trust is high; in a run, low trust or high risk can still make a step ask you"
        " or escalate (the plan shows each step's decision).[/]"
    )
    con.print(
        "[dim]why: the autonomy level and the policy key that set it (none: the"
        " policy's default `autonomy`), or what decides before the level does.[/]"
    )
    for rule, n in refs.items():
        con.print(f"[dim]  ({n}) {_esc(rule)}[/]")
    handoffs = [c.name for c in reg if rows[c.name][0].reasons[0].startswith("hand-off")]
    if handoffs:
        con.print(
            f"[dim]hand-off ({_esc(', '.join(handoffs))}): never refused for low trust or a"
            " freeze window.[/]"
        )
    if any(why.head == NO_KUBE_CONTEXT for _, why in rows.values()):
        con.print(
            f"[dim]{NO_KUBE_CONTEXT}: kubectl writes are refused until the profile pins a"
            " context (`kube_context`, `aisre config edit`).[/]"
        )


NO_KUBE_CONTEXT = "no kube_context"


@dataclass(frozen=True)
class _Why:
    """The `why` of a row of `runbook policy`: what decided, in a few words."""

    head: str
    """The autonomy level, or what decides before it (a read, no kube_context, a freeze)."""
    rule: str | None = None
    """The policy key that set the level (None: the level did not decide)."""
    tail: str = ""

    def text(self, ref: str | None) -> str:
        return self.head + (f" ({ref})" if ref and self.rule else "") + self.tail


def _why(d: Decision, scope: str, level: str, rule: str, *, unpinned: bool) -> _Why:
    if unpinned:
        return _Why(NO_KUBE_CONTEXT)
    if scope == "read" and d.kind == "execute":
        return _Why("read-only step")
    if d.kind == "refuse" and d.freeze:
        return _Why(f"freeze window: {', '.join(d.freeze)}")
    if level == "autonomous" and d.kind == "confirm" and not d.reasons[0].startswith("hand-off"):
        return _Why(level, rule, f", but {d.reasons[0]}")  # a threshold (risk in prod)
    return _Why(level, rule)
