"""Runbook runner: the matched runbooks for the chosen hypothesis, then the stepper.

This screen only renders the states of `govern.stepper.Stepper` (through
`flows.runbook.RunFlow`, the same flow `aisre runbook run` drives) and reads keys:
choose a runbook (enter plans it; nothing runs), see the plan with every step's scope
and routing decision, press enter to start, then for each prompt one keystroke: `y`
run, `n` skip, `d` dry run, `a` abort, `?` help. Only the binding for exactly `y`
confirms, and it confirms the digest of the action that is on screen, so an action
that changed after it was shown is refused by the session, not by this screen. Every
`RunFlow.perform` call runs in a thread worker; while one runs, only ctrl+c (or `a`)
is heard: it stops the step the way the CLI's Ctrl-C does, through
`remediate.interrupt` (the step's child process group is terminated, its wait or
verification pause ends; the session audits it `interrupted`), and then the run is
stopped as interrupted, resumable. Nothing here decides whether a step may run, or what
comes next: the stepper does.

Before the run starts, `d` dry-runs the whole plan (`RunFlow.preview_plan`: every
step's preview and the decision governance would make for it, as `aisre runbook run
--dry-run` shows them, audited; nothing runs and the run stays planned), and says
whether the run would stop at a refused step. `y` and `n` with no step waiting say so
in the prompt line. The footer offers only the keys that do something in the current
state (`check_action`).

A stopped run taken up again from the stopped runs screen (`RunbookScreen.resuming`,
through `flows.runbook.resume_run`, as `aisre runbook resume`) opens here planned, with
its finished steps marked: enter continues it, and the stepper never offers a finished
step again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Key
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from aisre_cli.errors import AisreError
from aisre_cli.govern.stepper import Done, Preview, Prompt, Run, Skip, Stop, Verify
from aisre_cli.model import Hypothesis
from aisre_cli.remediate import interrupt
from aisre_cli.ui.term import visible
from aisre_cli.ui.tui.backend import Backend, Investigation
from aisre_cli.ui.tui.messages import (
    LoadFailed,
    PreviewShown,
    RunFinished,
    RunStarted,
    RunStopped,
    StepRan,
    StepSkipped,
    StepVerified,
    VerifyProgress,
)
from aisre_cli.ui.tui.screens.params import ParamsScreen

if TYPE_CHECKING:
    from aisre_cli.flows.runbook import DryRunReport, RunFlow, RunSession, RunSummary
    from aisre_cli.govern.routing import Decision
    from aisre_cli.govern.stepper import State
    from aisre_cli.remediate.plan import PlannedStep
    from aisre_cli.remediate.runbook import Runbook

SCOPE_STYLE = {"read": "green", "write": "yellow", "destructive": "bold red"}
DECISION_STYLE = {"execute": "green", "confirm": "yellow", "refuse": "red", "escalate": "magenta"}
ANSWERS = ("y", "n", "d", "a", "?")
PLAN_COLUMNS = (
    ("n", "#"),
    ("scope", "scope"),
    ("decision", "decision"),
    ("status", "status"),
    ("cap", "capability"),  # before the long step title, which gets what is left
    ("step", "step"),
)
PLAN_MAX = 9
"""Rows of the plan table at most (its header included)."""
OUTPUT_MIN = 3
"""Rows the run output keeps at least (its border and one line), as in runbook.tcss."""


NO_STEP_WAITING = "no step is waiting for an answer: enter starts the run"
"""What `y` or `n` say before the run starts (the footer does not offer them then)."""
PLANNED_KEYS = "d: dry run · a: abort it"


class PlanPreviewed(Message):
    """`d` before the run started: the dry run of the whole plan came back."""

    def __init__(self, report: DryRunReport) -> None:
        super().__init__()
        self.report = report


def badge(scope: str) -> Text:
    return Text(f" {scope} ", style=f"reverse {SCOPE_STYLE.get(scope, '')}")


def decision_text(d: Decision) -> Text:
    return Text(d.kind, style=DECISION_STYLE.get(d.kind, ""))


class RunbookScreen(Screen[None]):
    CSS_PATH = "runbook.tcss"
    BINDINGS = [
        Binding("enter", "start", "plan / start", id="runbook.start", priority=True),
        Binding("y", "answer('y')", "run", id="runbook.yes"),
        Binding("n", "answer('n')", "skip", id="runbook.skip"),
        Binding("d", "answer('d')", "dry run", id="runbook.dry_run"),
        Binding("a", "answer('a')", "abort", id="runbook.abort"),
        Binding(
            "ctrl+c", "interrupt", "interrupt a running step", id="runbook.interrupt", show=False
        ),
        Binding("escape", "back", "back", id="runbook.back"),
    ]

    def __init__(
        self,
        backend: Backend,
        inv: Investigation | None,
        hypothesis: Hypothesis | None,
        *,
        resumed: RunFlow | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.inv = inv
        self.hypothesis = hypothesis
        self.books: list[Runbook] = (
            backend.runbooks_for(inv, hypothesis) if inv is not None and hypothesis else []
        )
        self.flow: RunFlow | None = resumed
        self.resumed = resumed is not None
        """A stopped run taken up again (`resuming`), not one planned here."""
        self.state: State | None = None
        """The stepper's state on screen (None: planned, not started)."""
        self.busy = False
        """A worker is performing a state (or planning); keys are ignored."""
        self.finished: RunFinished | None = None
        self.shown_digest: str | None = None
        self.head: str | None = None
        self.interrupting: str | None = None
        """Why the running step is being stopped (ctrl+c or `a` while busy)."""
        self._plan_shown: tuple[int, list[tuple[str, str, str]]] | None = None
        """What the plan table shows now (title room, rows): unchanged, it is kept."""
        self._plan_width = 0
        """The plan table's width (its columns and their padding)."""

    @classmethod
    def resuming(cls, backend: Backend, flow: RunFlow) -> RunbookScreen:
        """The screen for a run `flows.runbook.resume_run` took up again (audited
        `resume`): planned, its finished steps marked; enter continues it."""
        return cls(backend, None, None, resumed=flow)

    @property
    def session(self) -> RunSession | None:
        return self.flow.session if self.flow is not None else None

    @property
    def current(self) -> PlannedStep | None:
        """The step the stepper's state is about (None before and after the run)."""
        return getattr(self.state, "step", None) if self.finished is None else None

    @property
    def mode(self) -> str:
        """choose | starting | planned | ask | undo | busy | done: derived from the
        stepper's state (the footer follows it)."""
        if self.finished is not None:
            return "done"
        if self.flow is None:
            return "starting" if self.busy else "choose"
        if self.busy:
            return "busy"
        if self.state is None:
            return "planned"
        if isinstance(self.state, Prompt):
            return "undo" if self.state.undo else "ask"
        return "busy"

    def _changed(self) -> None:
        if self.is_mounted:
            self.refresh_bindings()

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="rb-title", markup=False)
        yield OptionList(id="rb-choices")
        yield DataTable(id="rb-plan", cursor_type="row", show_cursor=False)
        yield Static("", id="rb-step", markup=False)
        yield RichLog(id="rb-output", wrap=True, markup=False, highlight=False, min_width=20)
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
            if self.resumed:
                t.append("  resumed", style="bold yellow")
            t.append(f"  env {visible(self.session.state.environment, oneline=True)}", style="dim")
            t.append(f"  {visible(rb.title, oneline=True)}", style="dim")
        elif h is not None:
            svc = visible(h.service, oneline=True)
            t.append(f" for #{h.rank} {h.kind} on {svc} ({h.confidence:.0%})")
        return t

    def on_mount(self) -> None:
        choices = self.query_one("#rb-choices", OptionList)
        for rb in self.books:
            label = Text()
            label.append(visible(rb.title, oneline=True), style="bold")
            label.append(f"  {visible(rb.id, oneline=True)}", style="cyan")
            n = len(rb.steps)
            label.append(f"  {n} step{'' if n == 1 else 's'}", style="dim")
            kinds = ", ".join(rb.applies_to.kinds) or "any"
            label.append(f"  applies to {visible(kinds, oneline=True)}", style="dim")
            choices.add_option(Option(label, id=rb.id))
        plan = self.query_one("#rb-plan", DataTable)
        plan.display = False
        out = self.query_one("#rb-output", RichLog)
        if self.flow is not None:  # resumed: planned already
            choices.display = False
            self._show_planned()
        elif not self.books:
            choices.display = False
            h = self.hypothesis
            what = f"{h.kind} on {visible(h.service, oneline=True)}" if h else "this hypothesis"
            out.write(Text(f"no runbook matches {what}", style="yellow"))
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
        """The footer offers only the keys that do something now: y/n/d/a while a step
        waits for an answer; d (dry run of the plan) and a (abort) before the run
        starts; a (interrupt) while a step runs. `y`/`n` before the start are not
        offered; pressed, they say that no step waits (`on_key`)."""
        if action == "answer":
            if self.mode in ("ask", "undo"):
                return True
            if self.mode == "planned":
                return parameters in (("d",), ("a",))  # dry run the plan; abort
            if self.mode == "busy":
                return parameters == ("a",)  # interrupt the running step
            return False
        if action == "start":
            return self.mode == "planned" or (self.mode == "choose" and bool(self.books))
        return True

    # ------------------------------------------------------------ start

    @on(OptionList.OptionSelected, "#rb-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_start()

    @on(DataTable.RowSelected, "#rb-plan")
    def _plan_enter(self, event: DataTable.RowSelected) -> None:
        """enter on the plan table (it has the focus) starts a planned run."""
        event.stop()
        if self.mode == "planned":
            self.action_start()

    def action_start(self) -> None:
        """enter: plan the highlighted runbook (nothing runs), then start the run."""
        if self.mode == "planned" and self.flow is not None:
            self._log("continued" if self.resumed else "started", "dim")
            interrupt.clear()  # process-wide, as in the CLI: cleared when a run starts
            self.step_to(self.flow.begin())
            return
        inv, hypothesis = self.inv, self.hypothesis
        if self.mode != "choose" or not self.books or inv is None or hypothesis is None:
            return
        choices = self.query_one("#rb-choices", OptionList)
        rb = self.books[choices.highlighted or 0]
        missing = self.backend.missing_params(rb, inv, hypothesis)
        if not missing:
            self._plan(rb, None)
            return

        def entered(values: dict[str, str] | None) -> None:
            if values is None:
                self._prompt(f"not planned: {', '.join(missing)} needs a value · enter: plan")
                return
            self._plan(rb, values)

        asked = [(n, rb.params[n].type, rb.params[n].description) for n in missing]
        self.app.push_screen(
            ParamsScreen(rb.id, asked, lambda n, v: self.backend.check_param(rb, n, v)),
            entered,
        )

    def _plan(self, rb: Runbook, params: dict[str, str] | None) -> None:
        self.busy = True
        self._changed()
        self._prompt("planning…")
        self.start_run(rb, params)

    @work(thread=True, group="step")
    def start_run(self, rb: Runbook, params: dict[str, str] | None = None) -> None:
        assert self.inv is not None and self.hypothesis is not None  # (chosen from books)
        try:
            flow = self.backend.start_run(rb, self.inv, self.hypothesis, params=params)
        except AisreError as err:
            self.post_message(LoadFailed.of("plan", err))
            return
        self.post_message(RunStarted(flow))

    def on_run_started(self, msg: RunStarted) -> None:
        self.flow = msg.flow
        self.busy = False
        self._show_planned()

    def _show_planned(self) -> None:
        """The planned (or resumed) run: its plan, what it acts on; nothing has run."""
        assert self.flow is not None
        s = self.flow.session
        self.query_one("#rb-choices", OptionList).display = False
        plan = self.query_one("#rb-plan", DataTable)
        plan.display = True
        plan.focus()
        self.query_one("#rb-title", Static).update(self._title())
        p = s.plan
        if self.resumed:
            steps = " · ".join(f"{st.id} {st.status}" for st in s.state.steps)
            self._log(
                f"resumed run {s.run_id} (audited): {steps}; finished steps are not run"
                f" again, governance decides each remaining step again; policy"
                f" {s.policy.source}",
                "dim",
            )
        if p.hypothesis is not None:
            spec = p.specificity if p.specificity is not None else "n/a"
            self._log(
                f"fixes: {p.hypothesis.kind} on {p.hypothesis.service}"
                f" (confidence {p.hypothesis.confidence:.0%}, match {spec});"
                f" policy {s.policy.source}",
                "dim",
            )
        unsupported = s.state.signals.get("unsupported")
        if unsupported:
            self._log(f"warning: {unsupported}: a human confirms each step", "yellow")
        kube = [ps.target for ps in p.steps if ps.target is not None]
        if kube:
            prof = s.ctx.profile
            if prof.kube_context:
                ns = f", namespace {prof.namespace}" if prof.namespace else ""
                self._log(f"kubernetes: context {prof.kube_context}{ns}", "dim")
            else:
                self._log(
                    "kubernetes: no context pinned: reads use kubectl's current context;"
                    " write steps are refused (set kube_context in the profile)",
                    "yellow",
                )
        if p.values:
            src = {k: "entered" if v == "--param" else v for k, v in p.sources.items()}
            self._log(
                "parameters: "
                + ", ".join(f"{k}={v!r} ({src.get(k, '')})" for k, v in p.values.items()),
                "dim",
            )
        self._refresh_plan()
        self._changed()
        self._prompt_planned()

    def _prompt_planned(self, notice: str | None = None) -> None:
        """The prompt line of a planned run (after `notice`, when a key did nothing)."""
        if notice is not None:
            self._prompt(notice, "bold yellow")
        elif self.resumed:
            self._prompt(f"resumed; nothing has run yet. enter: continue · {PLANNED_KEYS}")
        else:
            self._prompt(f"planned; nothing has run. enter: start the run · {PLANNED_KEYS}")

    def _refresh_plan(self) -> None:
        s = self.session
        if s is None:
            return
        plan = self.query_one("#rb-plan", DataTable)
        cur = self.current.id if self.current is not None else None
        rows: list[tuple[list[Text | str], str, str]] = []
        for ps in s.plan.steps:
            d = s.decide(ps)
            status = s.status_of(ps)
            mark = "▶" if ps.id == cur and self.mode != "done" else str(ps.index + 1)
            cells: list[Text | str] = [
                mark,
                badge(ps.scope),
                decision_text(d),
                Text(status, style={"done": "green", "failed": "red"}.get(status, "")),
                visible(ps.capability.name, oneline=True),
            ]
            rows.append((cells, visible(ps.step.title, oneline=True), ps.id))
        # every column as wide as its content, the title gets what the others leave (no
        # sideways scrolling). The widths are given, not measured by the table: it
        # measures when idle, and a frame drawn before that squeezed every column to
        # its label ("kubectl.ge") on a loaded machine.
        widths = [
            max([len(label)] + [Text(str(r[0][i])).cell_len for r in rows])
            for i, (_, label) in enumerate(PLAN_COLUMNS[:-1])
        ]
        room = max(12, self.size.width - sum(w + 2 for w in widths) - 2)
        titles = []
        for _, title, _ in rows:
            t = Text(title)
            t.truncate(room, overflow="ellipsis")
            titles.append(t)
        widths.append(max([len(PLAN_COLUMNS[-1][1])] + [t.cell_len for t in titles]))
        self._plan_width = sum(w + 2 for w in widths)
        shown = (room, [(str([str(c) for c in cells]), title, key) for cells, title, key in rows])
        if shown == self._plan_shown:
            self._fit()
            return  # a resize to the same width, a redraw with nothing new: keep the table
        self._plan_shown = shown
        plan.clear(columns=True)  # column widths follow this content, not older rows
        for (key, col), w in zip(PLAN_COLUMNS, widths, strict=True):
            plan.add_column(col, key=key, width=w)
        for (cells, _, key), t in zip(rows, titles, strict=True):
            plan.add_row(*cells, t, key=key)
        self._fit()

    def _fit(self) -> None:
        """Keep the prompt line on the screen and the step card whole (what y confirms
        is on it): when the plan, the card and the run output do not all fit the
        terminal's height, the plan gives up rows first (it scrolls to the step on the
        card), then the output down to `OUTPUT_MIN`; only then is the card cut."""
        plan = self.query_one("#rb-plan", DataTable)
        card = self.query_one("#rb-step", Static)
        height, width = self.size.height, self.size.width
        if not height or not plan.display:
            return
        room = height - 3 - OUTPUT_MIN  # the title, the prompt and the footer
        need = 0
        if card.display:
            inner = max(1, width - 2)  # the card's padding
            need = card.get_content_height(self.size, self.size, inner)
        sideways = 1 if self._plan_width > width else 0  # a horizontal scrollbar
        rows = plan.row_count + 1 + sideways  # and its header
        least = min(rows, 2 + sideways)  # the header and the step on the card
        card_h = max(1, min(need, room - least))
        card.styles.max_height = card_h
        plan.styles.max_height = max(least, min(PLAN_MAX, rows, room - (need and card_h)))
        cur = self.current
        if cur is not None:
            key = cur.undo_of or cur.id
            if key in plan.rows:
                plan.move_cursor(row=plan.get_row_index(key))

    def on_resize(self) -> None:
        self._refresh_plan()

    # ------------------------------------------------------------ the loop

    def _show_step(self, ps: PlannedStep, d: Decision) -> None:
        s = self.session
        assert s is not None
        n = len(s.plan.steps)
        t = Text()
        undo = ps.undo_of is not None
        head = f"undo of {ps.undo_of}: " if undo else f"step {ps.index + 1}/{n} "
        t.append(head, style="bold")
        # runbook texts, errors and rendered actions are outside text: made visible
        t.append(visible(ps.step.title, oneline=True) + "  ")
        t.append_text(badge(ps.scope))
        t.append(f" {visible(ps.capability.name, oneline=True)}\n", style="dim")
        st = None if undo else s.state.step(ps.id)
        if st is not None and st.error and st.status in ("pending", "interrupted"):
            t.append(f"note: {visible(st.error, oneline=True)}\n", style="yellow")
        if ps.target is not None:
            t.append(f"target: {visible(ps.target.text(), oneline=True)}\n", style="dim")
        t.append("action: ", style="dim")
        t.append(visible(ps.action.text()), style="bold")
        t.append("\n")
        if ps.step.verify is not None:
            target = ps.verify_query or ps.step.verify.capability or ""
            verify = f"{target} {ps.step.verify.expect or ''}"
            t.append(f"verify: {visible(verify, oneline=True)}\n", style="dim")
        undo_hint = ps.capability.undo_hint if ps.step.undo == "auto" else str(ps.step.undo or "")
        if ps.writes:
            t.append(
                f"undo: {visible(undo_hint, oneline=True) or 'none (cannot be undone)'}\n",
                style="dim",
            )
        t.append("decision: ", style="dim")
        t.append_text(decision_text(d))
        reasons = visible("; ".join(d.reasons), oneline=True)
        t.append(f" (trust {d.trust:.2f}, risk {d.risk:.2f}): {reasons}", style="")
        card = self.query_one("#rb-step", Static)
        card.update(t)
        card.display = True
        self.shown_digest = ps.action.digest()
        self._fit()

    def step_to(self, state: object) -> None:
        """Render the stepper's next state; perform it in a worker unless it asks."""
        if not isinstance(state, Prompt | Preview | Run | Verify | Skip | Stop) and not hasattr(
            state, "exit_code"
        ):
            return  # Ended arrives as RunFinished
        if self.interrupting is not None and self.flow is not None:
            if not isinstance(state, Done) and getattr(state, "how", None) != "interrupt":
                # as the CLI after an interrupted step (`abandon`): nothing more runs
                state = self.flow.interrupted(self.interrupting)
        self.state = state  # type: ignore[assignment]
        self.busy = False
        self._refresh_plan()
        # a new card for a prompt, an autonomous run or a dry-run preview; a confirmed
        # run keeps the card (and the digest) the human said y to
        if (
            isinstance(state, Prompt)
            or (isinstance(state, Run) and not state.confirmed)
            or (isinstance(state, Preview) and state.back_to is None)
        ):
            self._show_step(state.step, state.decision)
        if isinstance(state, Prompt):
            if state.message:
                style = "yellow" if state.message.startswith("not a choice") else ""
                self._log(state.message, style)
            self._prompt(state.question.replace(", ", " · "))
            self._changed()
            return
        if isinstance(state, Run):
            # the card is replaced by the next step's: the output keeps what ran
            self._log(self._what_runs(state.step), "dim")
            if not state.confirmed:
                self._log(f"running ({'; '.join(state.decision.reasons)})", "dim")
        if isinstance(state, Verify):
            if state.again:
                self._log(f"checking step {state.step.id} again: {state.again}", "yellow")
            v = state.step.step.verify
            target = state.step.verify_query or (v.capability if v else "") or ""
            expect = f" {v.expect}" if v and v.expect else ""
            self._log(f"verifying {target}{expect} (up to {v.timeout if v else '?'})…", "dim")
        self.busy = True
        self._changed()
        if self.interrupting is not None:
            self._prompt("interrupting…", "bold yellow")
        else:
            self._prompt(
                {Run: "running…", Verify: "verifying…", Preview: "dry run…"}.get(type(state), "…")
            )
        self.perform(state, self.shown_digest if isinstance(state, Run) else None)

    def _what_runs(self, ps: PlannedStep) -> str:
        s = self.session
        n = len(s.plan.steps) if s is not None else 0
        head = f"undo of {ps.undo_of}" if ps.undo_of is not None else f"step {ps.index + 1}/{n}"
        return f"{head} {ps.id}: {ps.action.text()}"

    def action_answer(self, key: str) -> None:
        flow = self.flow
        if flow is None:
            return
        if self.mode == "planned" and key == "a":
            self.step_to(flow.abort())
            return
        if self.mode == "planned" and key == "d":
            self._dry_run_plan()
            return
        if self.mode == "planned" and key in ("y", "n"):
            self._prompt_planned(NO_STEP_WAITING)
            return
        if self.mode == "busy" and key == "a":
            self._interrupt("the operator (a)")
            return
        if self.mode not in ("ask", "undo") or not isinstance(self.state, Prompt):
            return
        self._log(Text(f"> {key}", style="bold"))
        self.step_to(flow.answer(self.state, key))

    def action_interrupt(self) -> None:
        """ctrl+c: stop the running step (as the CLI's Ctrl-C: audited `interrupted`,
        the run stopped, resumable); at a prompt or before the first step, stop the run.
        With no run open, Textual's own ctrl+c (how to quit) applies."""
        flow = self.flow
        if flow is None or self.mode == "done":
            raise SkipAction()
        if self.mode == "busy":
            self._interrupt("Ctrl-C")
        elif isinstance(self.state, Prompt):
            self._log(Text("> ctrl+c", style="bold"))
            self.step_to(flow.answer(self.state, "interrupt"))
        elif self.mode == "planned":
            self.step_to(flow.interrupted("Ctrl-C"))

    def _interrupt(self, why: str) -> None:
        """Ask the step the worker is performing to stop (`remediate.interrupt`, the
        flag the CLI's signal handler sets): it stops within `interrupt.POLL_S`, and
        the worker then hands the stepper's interrupted stop back instead of going on."""
        if self.interrupting is not None or isinstance(self.state, Stop):
            return  # already stopping
        self.interrupting = why
        interrupt.request(why)
        self._log(f"interrupting ({why}): stopping the step…", "yellow")
        self._prompt("interrupting…", "bold yellow")

    def on_key(self, event: Key) -> None:
        """Any other printable key at the prompt runs nothing, and says so (as the CLI).
        Before the run starts, `y` and `n` (not offered then) say that no step waits."""
        if self.mode == "planned" and event.key in ("y", "n"):
            event.stop()
            self._prompt_planned(NO_STEP_WAITING)
            return
        if self.mode not in ("ask", "undo") or not isinstance(self.state, Prompt):
            return
        ch = event.character
        if ch and ch.isprintable() and ch not in ANSWERS and event.key not in ("u", "q"):
            event.stop()
            assert self.flow is not None
            self.step_to(self.flow.answer(self.state, ch))

    # ------------------------------------------------------------ dry run of the plan

    def _dry_run_plan(self) -> None:
        """`d` before the run starts: the dry run of every step, in a worker."""
        self.busy = True
        self._changed()
        self._log("dry run of the plan: nothing runs, each step's preview is audited", "cyan")
        self._prompt("dry run…")
        interrupt.clear()  # as when a run starts: only a key pressed from now stops it
        self.preview_plan()

    @work(thread=True, group="step")
    def preview_plan(self) -> None:
        flow = self.flow
        assert flow is not None
        try:
            report = flow.preview_plan()
        except AisreError as err:
            self.post_message(LoadFailed.of("dry run", err))
            return
        self.post_message(PlanPreviewed(report))

    def on_plan_previewed(self, msg: PlanPreviewed) -> None:
        from aisre_cli.flows.runbook import DECISION_WORDS

        rep = msg.report
        for p in rep.predictions:
            d = p.decision
            t = Text()
            sid = visible(p.step.id, oneline=True)
            t.append(f"step {p.step.index + 1}/{rep.total} {sid}: ", style="bold")
            t.append_text(decision_text(d))
            reasons = visible("; ".join(d.reasons), oneline=True)
            t.append(f" ({DECISION_WORDS.get(d.kind, d.kind)}): {reasons}")
            self._log(t)
            if p.preview is not None:
                self._log(f"  dry run ({'ok' if p.preview.ok else 'failed'}):", "cyan")
                for line in p.preview.text.splitlines():
                    self._log(f"    {line}")
        stop = rep.stop
        self._log(rep.headline(), "bold red" if stop is not None else "bold green")
        shown = next((p.preview.text for p in rep.predictions if p.stops and p.preview), "")
        if stop is not None and stop.hint and stop.hint not in shown:
            self._log(f"hint: {stop.hint}")  # (unless its dry run just said it)
        self.busy = False
        if self.interrupting is not None and self.flow is not None:
            self.step_to(self.flow.interrupted(self.interrupting))  # as ctrl+c when planned
            return
        self._changed()
        self._prompt_planned()

    # ------------------------------------------------------------ the worker

    @work(thread=True, group="step")
    def perform(self, state: State, digest: str | None) -> None:
        """`RunFlow.perform` (blocking I/O) and one message with what happened."""
        from aisre_cli.flows.runbook import DryRun, Ended, StepOutcome, VerifyResult

        flow = self.flow
        assert flow is not None
        step_id = getattr(getattr(state, "step", None), "id", "")

        def progress(text: str) -> None:
            self.post_message(VerifyProgress(step_id, text))

        try:
            event, nxt = flow.perform(
                state,
                progress=progress,
                shown_digest=digest,
            )
        except AisreError as err:
            self.post_message(LoadFailed.of("step", err))
            return
        if isinstance(event, DryRun):
            self.post_message(PreviewShown(step_id, event, nxt))
        elif isinstance(event, StepOutcome):
            undo = isinstance(state, Run) and state.undo_of is not None
            self.post_message(StepRan(step_id, event, undo, nxt))
        elif isinstance(event, VerifyResult):
            self.post_message(StepVerified(step_id, event, nxt))
        elif isinstance(event, Skip):
            self.post_message(StepSkipped(step_id, event.reason, nxt))
        elif isinstance(event, Stop):
            self.post_message(RunStopped(event, nxt))
        if isinstance(nxt, Ended):
            self.post_message(RunFinished(nxt.summary, int(nxt.exit_code)))

    # ------------------------------------------------------------ results

    def on_preview_shown(self, msg: PreviewShown) -> None:
        pv = msg.preview
        self._log(f"dry run ({'ok' if pv.ok else 'failed'}):", "cyan")
        for line in pv.text.splitlines():
            self._log(f"  {line}")
        self.step_to(msg.next_state)

    def on_step_skipped(self, msg: StepSkipped) -> None:
        if msg.reason and msg.reason != "skipped by the operator":
            self._log(f"skipped {msg.step_id}: {msg.reason}", "yellow")
        else:
            self._log("skipped", "dim")
        self.step_to(msg.next_state)

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
        elif not out.ok:
            self._log(f"failed: {out.error or ''}", "red")
        elif not isinstance(msg.next_state, Verify):
            self._log("done", "green")
        self.step_to(msg.next_state)

    def on_step_verified(self, msg: StepVerified) -> None:
        v = msg.result
        if v.ok:
            self._log(f"verify: {v.detail}", "green")
            self._log("done", "green")
        elif v.skipped:
            self._log(f"unverified: {v.detail}", "yellow")
        else:
            self._log(f"verify: {v.detail}", "red")
        self.step_to(msg.next_state)

    def on_verify_progress(self, msg: VerifyProgress) -> None:
        self._log(f"  verify: {msg.text}", "dim")

    def on_run_stopped(self, msg: RunStopped) -> None:
        """What stopped the run, worded as `aisre runbook run` words it."""
        st = msg.stopped
        d = st.decision
        if st.how == "abort":
            self._log("aborted by the operator", "yellow")
        elif st.how == "interrupt":
            self._log(f"{st.reason}: nothing more runs", "red")
        elif st.how == "fail" and st.reason.startswith("action failed:"):
            # the action's error was just shown with its output: say what it means
            where = f"step {st.step.id} failed" if st.step is not None else "a step failed"
            self._log(f"stopped: {where}; nothing more runs", "red")
        elif st.how == "fail":
            self._log(f"failed: {st.reason}", "red")
        elif d is not None and d.kind in ("refuse", "escalate"):
            self._log(f"{d.kind}: {'; '.join(d.reasons)}", "red")
        else:
            where = f"step {st.step.id}: " if st.step is not None else ""
            self._log(f"stopped: {where}{st.reason}", "red")
        if st.hint:
            self._log(f"hint: {st.hint}")

    def on_run_finished(self, msg: RunFinished) -> None:
        sm = msg.summary
        self.finished = msg
        self.busy = False
        self.interrupting = None
        interrupt.clear()
        card = self.query_one("#rb-step", Static)
        card.update("")  # no step is waiting any more
        card.display = False
        self.head = sm.head
        self._refresh_plan()
        self._changed()
        self._log(Text(f"run {sm.run_id}: {sm.status}", style="bold"))
        for sid, st in sm.steps.items():
            self._log(f"  {sid}: {st}")
        if sm.status == "unverified":
            self._log("the change ran but could not be verified: check it yourself", "yellow")
            for sid, why in sm.unverified.items():
                self._log(f"  {sid}: {why}", "dim")
        self._log(Text(f"audit head: #{sm.head_seq} {sm.head}", style="bold cyan"))
        if sm.audit_spooled:
            self._log("  in the local audit spool: the team trail gets it when it is back", "dim")
        if sm.audit_warning:
            self._log(f"audit warning: {sm.audit_warning}", "bold red")
        if sm.resumable:
            self._log(
                f"resume with: aisre runbook resume {sm.run_id}, or here: s on the inbox"
                " (stopped runs)",
                "dim",
            )
        self._prompt(f"run {sm.status} · audit head #{sm.head_seq} {sm.head[:16]}… · escape: back")

    def on_load_failed(self, msg: LoadFailed) -> None:
        self._log(f"{msg.what} {'refused' if msg.refused else 'failed'}: {msg.message}", "red")
        hint = msg.hint
        if hint and "--param" in hint:
            # the console asks only for values the verdict does not give; one it gives
            # that the runbook rejects can be overridden from the CLI alone
            hint = f"in the CLI: {hint}"
        if hint:
            self._log(f"hint: {hint}", "dim")
        self.busy = False
        if self.interrupting is not None and self.flow is not None:
            self.step_to(self.flow.interrupted(self.interrupting))
        elif self.flow is None:
            self._changed()
            self._prompt("enter: plan the highlighted runbook")
        elif self.state is None:  # the dry run of the plan failed: still planned
            self._changed()
            self._prompt_planned()
        elif isinstance(self.state, Run | Preview) and self.flow is not None:
            # back to the question that led here: nothing ran
            back = self.state.back_to if isinstance(self.state, Preview) else None
            if back is None and isinstance(self.state, Run) and self.state.confirmed:
                back = Prompt(
                    self.state.step,
                    self.state.decision,
                    undo=self.state.undo_of is not None,
                    undo_of=self.state.undo_of,
                )
            if back is not None:
                self.step_to(back)
            else:
                self._changed()

    # ------------------------------------------------------------ leaving

    def busy_notice(self) -> str | None:
        """Why the screen cannot be left now (a step running, a run being planned)."""
        if self.mode == "busy":
            return "a step is running: ctrl+c or a interrupts it (audited, resumable)"
        if self.mode == "starting":
            return "planning a run: wait a moment"
        return None

    def action_back(self) -> None:
        if self.mode in ("ask", "undo", "planned"):
            self.notify(
                "the run is open: press a to abort it (resumable), or answer the step",
                severity="warning",
            )
            return
        why = self.busy_notice()
        if why is not None:
            self.notify(why, severity="warning")
            return
        self.app.pop_screen()

    def running(self) -> bool:
        """True while a run is open (the app stops it before quitting)."""
        return self.flow is not None and self.mode != "done"

    def close_run(self, reason: str) -> RunSummary | None:
        """Stop the open run (audited, resumable): the console is quitting."""
        if self.flow is not None and self.finished is None:
            return self.flow.abandon(reason, reason).summary
        return None
