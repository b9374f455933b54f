"""Runbook runner: the matched runbooks for the chosen hypothesis, then the stepper.

This is the CLI stepper (`aisre runbook run`) in a screen, driving the same
`govern.session.RunSession` in the same order: show the plan with every step's
scope and routing decision, then for the current step its exact action, and one
keystroke: `y` run, `n` skip, `d` dry run, `a` abort, `?` help. Only the binding for
exactly `y` confirms, and it confirms the digest of the action that is on screen
(`RunSession.confirm(ps, shown_digest)`), so an action that changed after it was
shown is refused by the session, not by this screen. Every session call runs in a
thread worker; keys are ignored while one is running. Nothing here decides whether a
step may run: `RunSession.decide` and `RunSession.run` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Key
from textual.screen import Screen
from textual.widgets import DataTable, Footer, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from aisre_cli.errors import AisreError
from aisre_cli.model import Hypothesis
from aisre_cli.ui.term import visible
from aisre_cli.ui.tui.backend import Backend, Investigation
from aisre_cli.ui.tui.messages import (
    LoadFailed,
    PreviewShown,
    RunFinished,
    RunStarted,
    StepRan,
    StepSkipped,
)

if TYPE_CHECKING:
    from aisre_cli.govern.routing import Decision
    from aisre_cli.govern.session import Confirmation, RunSession
    from aisre_cli.remediate.plan import PlannedStep
    from aisre_cli.remediate.runbook import Runbook

SCOPE_STYLE = {"read": "green", "write": "yellow", "destructive": "bold red"}
DECISION_STYLE = {"execute": "green", "confirm": "yellow", "refuse": "red", "escalate": "magenta"}
ANSWERS = ("y", "n", "d", "a", "?")


def badge(scope: str) -> Text:
    return Text(f" {scope} ", style=f"reverse {SCOPE_STYLE.get(scope, '')}")


def decision_text(d: Decision) -> Text:
    return Text(d.kind, style=DECISION_STYLE.get(d.kind, ""))


class RunbookScreen(Screen[None]):
    CSS_PATH = "runbook.tcss"
    BINDINGS = [
        Binding("enter", "start", "start run", id="runbook.start"),
        Binding("y", "answer('y')", "run", id="runbook.yes"),
        Binding("n", "answer('n')", "skip", id="runbook.skip"),
        Binding("d", "answer('d')", "dry run", id="runbook.dry_run"),
        Binding("a", "answer('a')", "abort", id="runbook.abort"),
        Binding("escape", "back", "back", id="runbook.back"),
    ]

    def __init__(self, backend: Backend, inv: Investigation, hypothesis: Hypothesis) -> None:
        super().__init__()
        self.backend = backend
        self.inv = inv
        self.hypothesis = hypothesis
        self.books: list[Runbook] = backend.runbooks_for(inv, hypothesis)
        self.session: RunSession | None = None
        self._mode = "choose"
        self.current: PlannedStep | None = None
        self.shown_digest: str | None = None
        self.failed_step: PlannedStep | None = None
        self.head: str | None = None

    @property
    def mode(self) -> str:
        """choose | starting | ask | undo | busy | done (the footer follows it)."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self._mode = value
        if self.is_mounted:
            self.refresh_bindings()

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="rb-title", markup=False)
        yield OptionList(id="rb-choices")
        yield DataTable(id="rb-plan", cursor_type="row", show_cursor=False)
        yield Static("", id="rb-step", markup=False)
        yield RichLog(id="rb-output", wrap=True, markup=False, highlight=False)
        yield Static("", id="rb-prompt", markup=False)
        yield Footer()

    def _title(self) -> Text:
        h = self.hypothesis
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" runbook ", style="bold reverse")
        if self.session is not None:
            rb = self.session.plan.runbook
            t.append(f" {visible(rb.id, oneline=True)}", style="bold")
            t.append(f"  run {self.session.run_id}", style="")
            t.append(f"  env {visible(self.session.state.environment, oneline=True)}", style="dim")
            t.append(f"  {visible(rb.title, oneline=True)}", style="dim")
        else:
            svc = visible(h.service, oneline=True)
            t.append(f" for #{h.rank} {h.kind} on {svc} ({h.confidence:.0%})")
        return t

    def on_mount(self) -> None:
        choices = self.query_one("#rb-choices", OptionList)
        for rb in self.books:
            label = Text()
            label.append(visible(rb.title, oneline=True), style="bold")
            label.append(f"  {visible(rb.id, oneline=True)}", style="cyan")
            label.append(f"  {len(rb.steps)} steps", style="dim")
            kinds = ", ".join(rb.applies_to.kinds) or "any"
            label.append(f"  applies to {visible(kinds, oneline=True)}", style="dim")
            choices.add_option(Option(label, id=rb.id))
        plan = self.query_one("#rb-plan", DataTable)
        for key, col in (
            ("n", "#"),
            ("scope", "scope"),
            ("decision", "decision"),
            ("status", "status"),
            ("cap", "capability"),  # before the long step title: never cut at 80 columns
            ("step", "step"),
        ):
            plan.add_column(col, key=key)
        plan.display = False
        out = self.query_one("#rb-output", RichLog)
        if not self.books:
            choices.display = False
            out.write(
                Text(
                    f"no runbook matches {self.hypothesis.kind} on"
                    f" {visible(self.hypothesis.service, oneline=True)}",
                    style="yellow",
                )
            )
            self._prompt("escape: back to the incident")
        else:
            choices.highlighted = 0
            choices.focus()
            self._prompt("enter: plan the highlighted runbook (nothing runs yet)")

    def _prompt(self, text: str, style: str = "bold") -> None:
        self.query_one("#rb-prompt", Static).update(Text(text, style=style))

    def _log(self, text: str | Text, style: str = "") -> None:
        """One entry of the run's output; a `str` may quote outside text (kubectl's output,
        errors, runbook texts): its controls are made visible."""
        out = self.query_one("#rb-output", RichLog)
        out.write(text if isinstance(text, Text) else Text(visible(text), style=style))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Footer shows y/n/d/a only while a step waits for an answer."""
        if action == "answer":
            if self.mode in ("ask", "undo"):
                return True
            return None if self.session is not None and self.mode != "done" else False
        if action == "start":
            return self.mode == "choose" and bool(self.books)
        return True

    # ------------------------------------------------------------ start

    @on(OptionList.OptionSelected, "#rb-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_start()

    def action_start(self) -> None:
        if self.mode != "choose" or not self.books:
            return
        choices = self.query_one("#rb-choices", OptionList)
        idx = choices.highlighted or 0
        self.mode = "starting"
        self._prompt("planning…")
        self.start_run(self.books[idx])

    @work(thread=True, group="step")
    def start_run(self, rb: Runbook) -> None:
        try:
            session = self.backend.start_run(rb, self.inv, self.hypothesis)
        except AisreError as err:
            self.post_message(LoadFailed.of("plan", err))
            return
        self.post_message(RunStarted(session))

    def on_run_started(self, msg: RunStarted) -> None:
        self.session = msg.session
        s = msg.session
        self.query_one("#rb-choices", OptionList).display = False
        plan = self.query_one("#rb-plan", DataTable)
        plan.display = True
        plan.focus()
        self.query_one("#rb-title", Static).update(self._title())
        p = s.plan
        if p.hypothesis is not None:
            spec = p.specificity if p.specificity is not None else "n/a"
            self._log(
                f"fixes: {p.hypothesis.kind} on {p.hypothesis.service}"
                f" (confidence {p.hypothesis.confidence:.0%}, match {spec});"
                f" policy {s.policy.source}",
                "dim",
            )
        if p.values:
            self._log(
                "parameters: "
                + ", ".join(f"{k}={v!r} ({p.sources.get(k, '')})" for k, v in p.values.items()),
                "dim",
            )
        self._refresh_plan()
        self.advance()

    def _refresh_plan(self) -> None:
        s = self.session
        if s is None:
            return
        plan = self.query_one("#rb-plan", DataTable)
        plan.clear()
        cur = self.current.id if self.current is not None else None
        for ps in s.plan.steps:
            d = s.decide(ps)
            status = s.status_of(ps)
            mark = "▶" if ps.id == cur and self.mode != "done" else str(ps.index + 1)
            plan.add_row(
                mark,
                badge(ps.scope),
                decision_text(d),
                Text(status, style={"done": "green", "failed": "red"}.get(status, "")),
                visible(ps.capability.name, oneline=True),
                visible(ps.step.title, oneline=True),
                key=ps.id,
            )

    # ------------------------------------------------------------ the loop

    def _show_step(self, ps: PlannedStep, d: Decision, what: str = "step") -> None:
        s = self.session
        assert s is not None
        n = len(s.plan.steps)
        t = Text()
        head = f"{what} {ps.index + 1}/{n} " if what == "step" else f"{what}: "
        t.append(head, style="bold")
        # runbook texts, errors and rendered actions are outside text: made visible
        t.append(visible(ps.step.title, oneline=True) + "  ")
        t.append_text(badge(ps.scope))
        t.append(f" {visible(ps.capability.name, oneline=True)}\n", style="dim")
        st = s.state.step(ps.id) if what == "step" else None
        if st is not None and st.error and st.status == "pending":
            t.append(f"note: {visible(st.error, oneline=True)}\n", style="yellow")
        t.append("action: ", style="dim")
        t.append(visible(ps.action.text()), style="bold")
        t.append("\n")
        if ps.step.verify is not None:
            target = ps.verify_query or ps.step.verify.capability or ""
            verify = f"{target} {ps.step.verify.expect or ''}"
            t.append(f"verify: {visible(verify, oneline=True)}\n", style="dim")
        undo = ps.capability.undo_hint if ps.step.undo == "auto" else str(ps.step.undo or "")
        if ps.writes:
            t.append(
                f"undo: {visible(undo, oneline=True) or 'none (cannot be undone)'}\n", style="dim"
            )
        t.append("decision: ", style="dim")
        t.append_text(decision_text(d))
        reasons = visible("; ".join(d.reasons), oneline=True)
        t.append(f" (trust {d.trust:.2f}, risk {d.risk:.2f}): {reasons}", style="")
        self.query_one("#rb-step", Static).update(t)
        self.shown_digest = ps.action.digest()

    def advance(self) -> None:
        s = self.session
        assert s is not None
        ps = s.current_step()
        self.current = ps
        if ps is None:
            self._refresh_plan()
            self.mode = "busy"
            self._prompt("finishing…")
            self.finish_run(None)
            return
        d = s.decide(ps)
        self._refresh_plan()
        self._show_step(ps, d)
        if d.kind in ("refuse", "escalate"):
            reason = "; ".join(d.reasons)
            self._log(f"{d.kind}: {reason}", "red")
            if d.kind == "escalate":
                self._log(f"hint: hand off with `aisre escalate {self.inv.report.alert.short_id}`")
            self.mode = "busy"
            self.finish_run(("stop", ps, f"{d.kind}: {reason}", d))
            return
        if d.kind == "execute":
            self._log(f"running ({'; '.join(d.reasons)})", "dim")
            self.mode = "busy"
            self._prompt("running…")
            self.run_step(ps, None, False)
            return
        self.mode = "ask"
        self._prompt("Run this step?  y run · n skip · d dry run · a abort · ? help")

    def action_answer(self, key: str) -> None:
        s = self.session
        ps = self.current
        if s is None or ps is None or self.mode not in ("ask", "undo"):
            if self.mode == "busy":
                self.notify("busy: wait for the step to finish", severity="warning")
            return
        undo = self.mode == "undo"
        self._log(Text(f"> {key}", style="bold"))
        if key == "d":
            self.mode = "busy"
            self._prompt("dry run…")
            self.preview_step(ps, undo)
        elif undo and key in ("n", "a"):
            # as the CLI: anything but y at the undo prompt leaves the step as it is
            self.mode = "busy"
            self._log("undo declined", "dim")
            self._fail_and_finish("verification failed")
        elif key == "n":
            self.mode = "busy"
            self.skip_step(ps)
        elif key == "a":
            self.mode = "busy"
            self._log(f"aborted; resume with `aisre runbook resume {s.run_id}`", "yellow")
            self.finish_run(("abort", None, "aborted by the operator at the prompt", None))
        elif key == "y":
            if self.shown_digest is None:
                return
            self.mode = "busy"
            self._prompt("running…")
            self.confirm_and_run(ps, self.shown_digest, undo)

    def on_key(self, event: Key) -> None:
        """Any other printable key at the prompt runs nothing, and says so (as the CLI)."""
        if self.mode not in ("ask", "undo"):
            return
        ch = event.character
        if ch and ch.isprintable() and ch not in ANSWERS and event.key not in ("u",):
            event.stop()
            self._log(
                f"not a choice ({ch!r}): only an exact y runs the step; nothing was run", "yellow"
            )

    # ------------------------------------------------------------ workers (session calls)

    @work(thread=True, group="step")
    def preview_step(self, ps: PlannedStep, undo: bool) -> None:
        s = self.session
        assert s is not None
        try:
            pv = s.preview(ps)
        except AisreError as err:
            self.post_message(LoadFailed.of("dry run", err))
            return
        self.post_message(PreviewShown(ps.id, pv))

    @work(thread=True, group="step")
    def confirm_and_run(self, ps: PlannedStep, digest: str, undo: bool) -> None:
        s = self.session
        assert s is not None
        try:
            conf: Confirmation = s.confirm(ps, digest)
            out = s.run_undo(ps, conf) if undo else s.run(ps, conf)
        except AisreError as err:
            self.post_message(LoadFailed.of("step", err))
            return
        self.post_message(StepRan(ps.id, out, undo))

    @work(thread=True, group="step")
    def run_step(self, ps: PlannedStep, conf: Confirmation | None, undo: bool) -> None:
        s = self.session
        assert s is not None
        try:
            out = s.run(ps, conf)
        except AisreError as err:
            self.post_message(LoadFailed.of("step", err))
            return
        self.post_message(StepRan(ps.id, out, undo))

    @work(thread=True, group="step")
    def skip_step(self, ps: PlannedStep) -> None:
        s = self.session
        assert s is not None
        try:
            s.skip(ps)
        except AisreError as err:
            self.post_message(LoadFailed.of("skip", err))
            return
        self.post_message(StepSkipped(ps.id))

    @work(thread=True, group="step")
    def finish_run(
        self,
        before: tuple[str, PlannedStep | None, str, Decision | None] | None,
    ) -> None:
        s = self.session
        assert s is not None
        try:
            if before is not None:
                what, ps, reason, d = before
                if what == "stop":
                    s.stop(ps, reason, d)
                elif what == "abort":
                    s.abort(reason)
                elif what == "fail" and ps is not None:
                    s.fail(ps, reason)
            summary = s.finish()
        except AisreError as err:
            self.post_message(LoadFailed.of("finish", err))
            return
        self.post_message(RunFinished(summary))

    def _fail_and_finish(self, reason: str) -> None:
        self.finish_run(("fail", self.failed_step or self.current, reason, None))

    # ------------------------------------------------------------ results

    def on_preview_shown(self, msg: PreviewShown) -> None:
        pv = msg.preview
        self._log(f"dry run ({'ok' if pv.ok else 'failed'}):", "cyan")
        for line in pv.text.splitlines():
            self._log(f"  {line}")
        self.mode = "undo" if self.failed_step is not None else "ask"
        what = "Undo" if self.mode == "undo" else "Run"
        self._prompt(f"{what} this step?  y run · n skip · d dry run · a abort · ? help")

    def on_step_skipped(self, msg: StepSkipped) -> None:
        self._log("skipped", "dim")
        self.advance()

    def on_step_ran(self, msg: StepRan) -> None:
        out = msg.outcome
        stdout = str(out.output.get("stdout") or "")
        for line in stdout.rstrip().splitlines()[-20:]:
            self._log(f"  {line}", "dim")
        if out.output.get("message"):
            self._log(f"note: {out.output['message']}", "bold cyan")
        if msg.undo:
            self._log(
                "undone" if out.ok else f"undo failed: {out.error}", "green" if out.ok else "red"
            )
            self._fail_and_finish("verification failed")
            return
        if out.status == "failed":
            self._log(f"failed: {out.error or ''}", "red")
            self.failed_step = self.current
            self.finish_run(("fail", self.current, f"action failed: {out.error}", None))
            return
        if out.verify is not None:
            v = out.verify
            style = "green" if v.ok else ("yellow" if v.skipped else "red")
            self._log(f"verify: {v.detail}", style)
        if not out.ok:
            self.failed_step = self.current
            s = self.session
            if out.undo is not None and s is not None:
                ud = s.decide(out.undo)
                self.current = out.undo
                self._show_step(out.undo, ud, what="undo")
                if ud.kind in ("confirm", "execute"):
                    self.mode = "undo"
                    self._prompt("Undo this step?  y undo · n leave it · d dry run · ? help")
                    return
            self._fail_and_finish("verification failed")
            return
        self._log("done", "green")
        self.advance()

    def on_run_finished(self, msg: RunFinished) -> None:
        sm = msg.summary
        self.mode = "done"
        self.head = sm.head
        self._refresh_plan()
        self._log(Text(f"run {sm.run_id}: {sm.status}", style="bold"))
        for sid, st in sm.steps.items():
            self._log(f"  {sid}: {st}")
        self._log(Text(f"audit head: #{sm.head_seq} {sm.head}", style="bold cyan"))
        if sm.status in ("stopped", "aborted", "failed"):
            self._log(f"resume with: aisre runbook resume {sm.run_id}", "dim")
        self._prompt(f"run {sm.status} · audit head #{sm.head_seq} {sm.head[:16]}… · escape: back")

    def on_load_failed(self, msg: LoadFailed) -> None:
        self._log(f"{msg.what} {'refused' if msg.refused else 'failed'}: {msg.message}", "red")
        if msg.hint:
            self._log(f"hint: {msg.hint}", "dim")
        if self.session is None:
            self.mode = "choose"
            self._prompt("enter: plan the highlighted runbook")
        elif self.mode == "busy" and self.current is not None:
            self.mode = "undo" if self.failed_step is not None else "ask"
            self._prompt("Run this step?  y run · n skip · d dry run · a abort · ? help")

    # ------------------------------------------------------------ leaving

    def action_back(self) -> None:
        if self.mode in ("ask", "undo"):
            self.notify(
                "a step is waiting: press a to abort the run (resumable), or answer it",
                severity="warning",
            )
            return
        if self.mode in ("busy", "starting"):
            self.notify("busy: wait for the step to finish", severity="warning")
            return
        self.app.pop_screen()

    def running(self) -> bool:
        """True while a run is open (the app stops it before quitting)."""
        return self.session is not None and self.mode not in ("done",)
