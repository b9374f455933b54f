"""Audit view: recent runs, and the hash-chained audit records of the selected run.

Reads the same log `aisre audit show` reads; `v` runs the core's chain verification
(`govern.audit.verify`) in a worker and shows its verdict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from aisre_cli.ui.term import safe, visible
from aisre_cli.ui.tui.backend import Backend, audit_summary

if TYPE_CHECKING:
    from aisre_cli.govern.audit import AuditRecord
    from aisre_cli.remediate.checkpoint import RunState

EVENT_STYLE = {
    "intent": "yellow",
    "result": "green",
    "confirm": "cyan",
    "abort": "red",
    "stopped": "red",
    "run_end": "bold",
    "dry_run": "cyan",
}


class AuditScreen(Screen[None]):
    CSS_PATH = "audit.tcss"
    BINDINGS = [
        Binding("escape", "back", "back", id="audit.back"),
        Binding("v", "verify", "verify chain", id="audit.verify"),
        Binding("r", "reload", "reload", id="audit.reload"),
    ]

    def __init__(self, backend: Backend, run_id: str | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.run_id = run_id
        self.runs: list[RunState] = []
        self.records: list[AuditRecord] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="audit-title", markup=False)
        yield DataTable(id="audit-runs", cursor_type="row")
        yield DataTable(id="audit-records", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        runs = self.query_one("#audit-runs", DataTable)
        for label in ("run", "status", "runbook", "created", "alert"):
            runs.add_column(label, key=label)
        recs = self.query_one("#audit-records", DataTable)
        for label in ("seq", "time", "event", "hash", "what"):
            recs.add_column(label, key=label)
        self.action_reload()

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, thread=True, group="audit")
    def load(self) -> None:
        runs = self.backend.recent_runs(50)
        recs = self.backend.audit_records(self.run_id, 500)
        head = self.backend.audit_head()
        self.app.call_from_thread(self._show, runs, recs, head)

    def _show(self, runs: list[RunState], recs: list[AuditRecord], head: tuple[int, str]) -> None:
        self.runs = list(reversed(runs))
        self.records = recs
        t = Text()
        t.append(" audit ", style="bold reverse")
        run = visible(self.run_id, oneline=True) if self.run_id else ""
        t.append(f"  run {run}" if self.run_id else "  all runs", style="bold")
        t.append(f"  head #{head[0]} {head[1][:24]}…", style="dim")
        self.query_one("#audit-title", Static).update(t)
        rt = self.query_one("#audit-runs", DataTable)
        rt.clear()
        for r in self.runs:
            # run files and audit records are files on disk: every field is outside text
            rt.add_row(
                safe(r.run_id, oneline=True),
                safe(r.status, oneline=True),
                safe(r.runbook_id, oneline=True),
                r.created.strftime("%m-%d %H:%M"),
                safe((r.alert_id or "-")[:8], oneline=True),
                key=r.run_id,
            )
        tt = self.query_one("#audit-records", DataTable)
        tt.clear()
        for rec in recs:
            tt.add_row(
                str(rec.seq),
                safe(str(rec.ts)[11:19], oneline=True),
                safe(rec.event, EVENT_STYLE.get(rec.event, ""), oneline=True),
                safe(rec.hash[:8], "dim", oneline=True),
                safe(audit_summary(rec), oneline=True),
            )
        if recs:
            tt.move_cursor(row=len(recs) - 1)
        self._show_detail()
        if not recs and not self.runs:
            self.notify("no runs yet: open an incident, press r for its runbooks", title="audit")

    def _show_detail(self) -> None:
        """The highlighted record in full under the table: at 80 columns its `what`
        column is cut (`aisre audit show` prints the same fields)."""
        box = self.query_one("#audit-detail", Static)
        row = self.query_one("#audit-records", DataTable).cursor_row
        box.display = 0 <= row < len(self.records)
        if not box.display:
            return
        rec = self.records[row]
        t = Text(f"#{rec.seq} ", style="bold")
        t.append(visible(rec.event, oneline=True), style=EVENT_STYLE.get(rec.event, "bold"))
        where = f"  {rec.run or '-'}  {rec.hash[:16]}"
        t.append(visible(where, oneline=True) + "\n", style="dim")
        t.append(visible(audit_summary(rec, 600), oneline=True))
        box.update(t)

    @on(DataTable.RowHighlighted, "#audit-records")
    def _record_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @on(DataTable.RowSelected, "#audit-runs")
    def _run_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        self.run_id = None if key == self.run_id else key
        self.load()

    @work(exclusive=True, thread=True, group="audit-verify")
    def action_verify(self) -> None:
        from aisre_cli.govern.audit import verify

        rep = verify()
        if rep.ok:
            self.app.call_from_thread(
                self.notify,
                f"audit chain verified: {rep.records} records, unbroken",
                title="audit verify",
            )
        else:
            p = rep.problem
            first = (
                f"line {p.line}: {p.reason}"
                if p
                else "head anchor MISSING: records removed from the end cannot be detected"
            )
            self.app.call_from_thread(
                self.notify, f"audit chain BROKEN: {first}", title="audit verify", severity="error"
            )

    def action_back(self) -> None:
        self.app.pop_screen()
