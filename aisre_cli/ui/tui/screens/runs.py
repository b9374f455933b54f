"""Stopped runs: this profile's runs that can be resumed, and resuming one.

The list is `Backend.stopped_runs` (`flows.runbook.stopped_runs`: not finished, not a
dry run), read in a worker. enter takes the highlighted run up again through
`Backend.resume_run`, the composition `aisre runbook resume` uses
(`flows.runbook.resume_run`): the session takes the run's lock and refuses what the
CLI refuses (a finished run, another environment or Kubernetes context, a runbook
that changed since the run started, a run open in another process), reconciles the
checkpoint with the audit log and audits `resume`. A refusal is said in one line
here, with its hint; a resumed run opens in the runbook stepper
(`RunbookScreen.resuming`), where the stepper never offers a finished step again and
governance decides each remaining one. Nothing here decides whether a run may resume.

Runs of other profiles are counted, not listed: a run is resumed with the profile it
started with (`aisre runbook resume RUN_ID` picks it), not with this console's.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from aisre_cli.errors import AisreError
from aisre_cli.ui.term import safe, visible
from aisre_cli.ui.tui.backend import Backend, StoppedRuns
from aisre_cli.ui.tui.messages import LoadFailed, RunResumed, RunsListed
from aisre_cli.ui.tui.widgets.hypotheses import middle

if TYPE_CHECKING:
    from aisre_cli.remediate.checkpoint import RunState

STATUS_STYLE = {"stopped": "yellow", "aborted": "yellow", "failed": "red", "running": "magenta"}
STEP_STYLE = {"done": "green", "failed": "red", "interrupted": "red", "skipped": "dim"}
COLUMNS = (
    ("run", "run"),
    ("status", "status"),
    ("done", "done"),
    ("updated", "updated"),
    ("runbook", "runbook"),
)
MIN_RUNBOOK = 12
"""A long runbook id is cut (in the middle) to what the other columns leave, no less."""


def read_stopped(backend: Backend) -> StoppedRuns | LoadFailed:
    """`Backend.stopped_runs`, or why it could not be read (a worker must not raise)."""
    try:
        return backend.stopped_runs()
    except AisreError as err:
        return LoadFailed.of("runs", err)
    except OSError as err:  # the run folder cannot be read
        return LoadFailed("runs", f"cannot read the runs: {err.strerror or err}")


def steps_done(r: RunState) -> str:
    """`1/3`: the steps done, as `aisre runbook runs` counts them (the line under the
    table names every step's status)."""
    done = sum(1 for s in r.steps if s.status == "done")
    return f"{done}/{len(r.steps)}"


class RunsScreen(Screen[None]):
    CSS_PATH = "runs.tcss"
    BINDINGS = [
        Binding("enter", "resume", "resume", id="runs.resume", priority=True),
        Binding("r", "reload", "reload", id="runs.reload"),
        Binding("escape", "back", "back", id="runs.back"),
    ]

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.stopped: StoppedRuns | None = None
        self.resuming: str | None = None
        """The run being taken up again (a worker holds the call)."""
        self.message: Text | None = None
        """The last refusal (or read failure), kept until the next attempt or reload."""
        self.unreadable = False
        """The runs could not be read (the message says why): no empty state then."""

    @property
    def runs(self) -> list[RunState]:
        return self.stopped.runs if self.stopped is not None else []

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="runs-title", markup=False)
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="runs-empty", markup=False)
        yield Static("", id="runs-detail", markup=False)
        yield Static("", id="runs-message", markup=False)
        yield Static("", id="runs-others", markup=False)
        yield Footer()

    def _title(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" stopped runs ", style="bold reverse")
        t.append(f"  profile {visible(self.backend.profile_name, oneline=True)}", style="bold")
        if self.unreadable:
            t.append("  could not be read (r retries)", style="bold red")
        elif self.stopped is None:
            t.append("  loading…", style="dim")
        else:
            n = len(self.stopped.runs)
            t.append(f"  {n} can be resumed" if n else "  none to resume", style="dim")
        return t

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        for wid in ("#runs-table", "#runs-empty", "#runs-detail", "#runs-message", "#runs-others"):
            self.query_one(wid).display = False
        table.focus()
        self.load()

    def on_screen_resume(self) -> None:
        """Back from a resumed run (or the help): the list may have changed."""
        if self.stopped is not None and self.resuming is None:
            self.load()

    # ------------------------------------------------------------ loading

    def action_reload(self) -> None:
        if self.resuming is not None:
            return
        self._say(None)
        self.load()

    @work(exclusive=True, thread=True, group="runs")
    def load(self) -> None:
        got = read_stopped(self.backend)
        self.post_message(got if isinstance(got, LoadFailed) else RunsListed(got))

    def on_runs_listed(self, msg: RunsListed) -> None:
        msg.stop()
        was = self.selected()
        self.stopped = msg.stopped
        self.unreadable = False
        self._fill(was.run_id if was is not None else None)

    def _fill(self, keep: str | None = None) -> None:
        """The table (the cursor stays on run `keep` if it is still listed), or the
        empty state; the other profiles' count; the highlighted run's detail."""
        table = self.query_one("#runs-table", DataTable)
        table.clear()
        rows: list[list[Text | str]] = []
        for r in self.runs:
            # checkpoints are files on disk: every field is outside text
            rows.append(
                [
                    safe(r.run_id, oneline=True),
                    safe(r.status, STATUS_STYLE.get(r.status, ""), oneline=True),
                    steps_done(r),
                    r.updated.astimezone(UTC).strftime("%m-%d %H:%MZ"),
                ]
            )
        # the runbook id gets what the other columns leave (no sideways scrolling)
        used = sum(
            max([cell_len(label)] + [cell_len(str(row[i])) for row in rows]) + 2
            for i, (_, label) in enumerate(COLUMNS[:-1])
        )
        width = table.scrollable_content_region.width or self.size.width - 2  # (hidden)
        room = max(MIN_RUNBOOK, width - used - 2)
        for r, cells in zip(self.runs, rows, strict=True):
            book = middle(visible(r.runbook_id, oneline=True), room)
            table.add_row(*cells, Text(book, style="bold"), key=r.run_id)
        ids = [r.run_id for r in self.runs]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))
        table.display = bool(self.runs)
        empty = self.query_one("#runs-empty", Static)
        empty.display = not self.runs
        if not self.runs:
            name = visible(self.backend.profile_name, oneline=True)
            t = Text(f"no stopped runs for profile {name}", style="bold")
            t.append(
                "\na run that was interrupted, stopped, aborted or failed is listed here,"
                " to be resumed; finished runs and dry runs are not",
                style="dim",
            )
            empty.update(t)
        others = self.query_one("#runs-others", Static)
        rest = self.stopped.others if self.stopped is not None else {}
        others.display = bool(rest)
        if rest:
            n = sum(rest.values())
            names = ", ".join(
                f"{visible(p, oneline=True)}: {k}" for p, k in sorted(rest.items())[:4]
            )
            others.update(
                Text(
                    f"{n} stopped run{'' if n == 1 else 's'} of other profiles ({names}):"
                    " resume them in `aisre console --profile NAME`, or with"
                    " `aisre runbook resume RUN_ID` (`aisre runbook runs` lists them)",
                    style="dim",
                )
            )
        self.query_one("#runs-title", Static).update(self._title())
        self._show_detail()
        self.refresh_bindings()

    def selected(self) -> RunState | None:
        table = self.query_one("#runs-table", DataTable)
        runs = self.runs
        if not runs or not 0 <= table.cursor_row < len(runs):
            return None
        return runs[table.cursor_row]

    def _show_detail(self) -> None:
        """The highlighted run: its runbook, its steps and why the last one stopped."""
        box = self.query_one("#runs-detail", Static)
        r = self.selected()
        box.display = r is not None
        if r is None:
            return
        t = Text()
        title = str(r.runbook_json.get("title") or r.runbook_id)
        t.append(visible(title, oneline=True), style="bold")
        t.append(
            f"  env {visible(r.environment, oneline=True)}"
            f"  started {r.created.astimezone(UTC).strftime('%Y-%m-%d %H:%MZ')}",
            style="dim",
        )
        if r.alert_id:
            t.append(f"  alert {visible(r.alert_id[:8], oneline=True)}", style="dim")
        t.append("\nsteps: ", style="dim")
        for i, st in enumerate(r.steps):
            if i:
                t.append(" · ", style="dim")
            t.append(visible(st.id, oneline=True) + " ")
            t.append(visible(st.status, oneline=True), style=STEP_STYLE.get(st.status, ""))
        for st in r.steps:
            if st.error and st.status not in ("done", "skipped"):
                t.append(f"\n{visible(st.id, oneline=True)}: ", style="yellow")
                t.append(visible(st.error, oneline=True))
                break
        if r.status == "running":
            t.append(
                "\nrecorded as running: the process that ran it ended without closing it,"
                " or another process has it open (resuming says which)",
                style="dim",
            )
        box.update(t)

    def on_resize(self) -> None:
        if self.stopped is not None:
            was = self.selected()
            self._fill(was.run_id if was is not None else None)

    @on(DataTable.RowHighlighted, "#runs-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _say(self, text: Text | None) -> None:
        self.message = text
        box = self.query_one("#runs-message", Static)
        box.display = text is not None
        box.update(text or "")

    # ------------------------------------------------------------ resuming

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """enter is shown only with a run to resume, and dimmed while one is resumed."""
        if action == "resume":
            if not self.runs:
                return False
            return True if self.resuming is None else None
        return True

    def action_resume(self) -> None:
        r = self.selected()
        if r is None or self.resuming is not None:
            return
        self.resuming = r.run_id
        self._say(Text(f"resuming {visible(r.run_id, oneline=True)}…", style="bold"))
        self.refresh_bindings()
        self.resume(r.run_id)

    @on(DataTable.RowSelected, "#runs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_resume()

    @work(exclusive=True, thread=True, group="resume")
    def resume(self, run_id: str) -> None:
        """`aisre runbook resume RUN_ID` (the shared flow): checks, lock, audited."""
        try:
            flow = self.backend.resume_run(run_id)
        except AisreError as err:
            self.post_message(LoadFailed.of("resume", err))
            return
        self.post_message(RunResumed(flow))

    def on_run_resumed(self, msg: RunResumed) -> None:
        from aisre_cli.ui.tui.screens.runbook import RunbookScreen

        msg.stop()
        self.resuming = None
        self._say(None)
        self.refresh_bindings()
        self.app.push_screen(RunbookScreen.resuming(self.backend, msg.flow))

    def on_load_failed(self, msg: LoadFailed) -> None:
        """A refusal (or a list that cannot be read): one line and its hint, kept."""
        msg.stop()
        run_id = self.resuming
        self.resuming = None
        if msg.what == "resume" and run_id is not None:
            # the session's refusal names the run mostly: it is not said twice
            named = run_id in msg.message
            head = (
                "cannot resume: " if named else f"cannot resume {visible(run_id, oneline=True)}: "
            )
        else:
            head = f"{msg.what} failed: "
        t = Text(head + visible(msg.message, oneline=True), style="bold red")
        if msg.hint:
            t.append(f"\nhint: {visible(msg.hint, oneline=True)}", style="")
        self._say(t)
        if msg.what == "runs":  # the list itself could not be read: no empty state
            self.unreadable = True
            self.query_one("#runs-title", Static).update(self._title())
        self.refresh_bindings()

    # ------------------------------------------------------------ leaving

    def busy_notice(self) -> str | None:
        """Why the screen cannot be left now (a run being taken up)."""
        if self.resuming is not None:
            return "resuming a run: wait a moment"
        return None

    def action_back(self) -> None:
        why = self.busy_notice()
        if why is not None:
            self.notify(why, severity="warning")
            return
        self.app.pop_screen()
