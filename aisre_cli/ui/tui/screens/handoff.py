"""Hand-off: the escalation document `aisre escalate` posts, shown before anyone posts it.

The Markdown comes from the core (`govern.escalation.handoff_markdown`: the alert, the
verdict, each hypothesis with its cited evidence and queries, every audited action and
the audit head). Posting it stays on the governed path of `aisre escalate` (a runbook
through `RunSession`); this screen only shows what would be handed off.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Markdown, Static

from aisre_cli.model import TriageReport
from aisre_cli.ui.term import visible


class HandoffScreen(Screen[None]):
    CSS_PATH = "handoff.tcss"
    BINDINGS = [Binding("escape", "back", "back", id="handoff.back")]

    def __init__(self, report: TriageReport) -> None:
        super().__init__()
        self.report = report
        self.markdown = ""

    def compose(self) -> ComposeResult:
        t = Text()
        t.append(" hand-off ", style="bold reverse")
        short = visible(self.report.alert.short_id, oneline=True)
        t.append(f"  post it with: aisre escalate {short}", style="bold")
        yield Static(t, id="handoff-title", markup=False)
        with VerticalScroll(id="handoff-body"):
            yield Markdown("building the hand-off…", id="handoff-md")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#handoff-body").focus()
        self.build()

    @work(exclusive=True, thread=True, group="handoff")
    def build(self) -> None:
        from aisre_cli.flows.escalate import prepare

        md = prepare(self.report).markdown  # reads the audit log: a worker, not the UI
        self.app.call_from_thread(self._show, md)

    def _show(self, md: str) -> None:
        self.markdown = md
        # the hand-off quotes alerts, evidence and audit records: controls made visible
        self.query_one("#handoff-md", Markdown).update(visible(md))

    def action_back(self) -> None:
        self.app.pop_screen()
