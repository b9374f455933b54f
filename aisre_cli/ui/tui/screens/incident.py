"""Incident: the verdict, ranked hypotheses, and the evidence behind the selected one.

`Backend.investigate` (gather → analyze → rank → verdict, the CLI's triage path) runs
in a thread worker. The screen then only arranges what came back: the evidence pane,
the plot of the cited series (looked up in the gathered Context), the log lines of the
cited template and a timeline follow the hypothesis under the cursor.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from aisre_cli.errors import AisreError
from aisre_cli.model import Alert, Evidence, Hypothesis
from aisre_cli.ui.render import SEVERITY_STYLE, hm
from aisre_cli.ui.term import visible
from aisre_cli.ui.tui.backend import Backend, Investigation
from aisre_cli.ui.tui.messages import IncidentLoaded, LoadFailed, SourceUpdated
from aisre_cli.ui.tui.widgets.evidence import EvidencePane
from aisre_cli.ui.tui.widgets.hypotheses import HypothesisList
from aisre_cli.ui.tui.widgets.logs import LogExcerpt
from aisre_cli.ui.tui.widgets.plot import PlotData, SeriesPlot
from aisre_cli.ui.tui.widgets.status import SourceStatusBar
from aisre_cli.ui.tui.widgets.timeline import Timeline, events_for

SERIES_KINDS = ("metric_anomaly", "dependency_down", "saturation")


class IncidentScreen(Screen[None]):
    CSS_PATH = "incident.tcss"
    BINDINGS = [
        Binding("escape", "back", "inbox", id="incident.back"),
        Binding("r", "runbooks", "runbooks", id="incident.runbooks"),
        Binding("e", "handoff", "escalate", id="incident.handoff"),
        Binding("n", "next_series", "next series", id="incident.next_series", show=False),
        Binding("p", "tab('tab-series')", "plot", id="incident.plot", show=False),
        Binding("l", "tab('tab-logs')", "logs", id="incident.logs", show=False),
        Binding("t", "tab('tab-timeline')", "timeline", id="incident.timeline", show=False),
    ]

    def __init__(self, backend: Backend, alert: Alert) -> None:
        super().__init__()
        self.backend = backend
        self.alert = alert
        self.inv: Investigation | None = None
        self.hypothesis: Hypothesis | None = None
        self.series_index = 0
        self.failed: str | None = None
        """Why triage failed (then there is nothing to act on, and keys say so)."""

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="incident-header", markup=False)
        yield Static("investigating… (gather → analyze → rank)", id="verdict", markup=False)
        with Horizontal(id="main"):
            yield HypothesisList(id="hypotheses")
            yield EvidencePane(id="evidence")
        with TabbedContent(id="detail", initial="tab-series"):
            with TabPane("series (p, n: next)", id="tab-series"):
                yield SeriesPlot(id="plot")
            with TabPane("logs (l)", id="tab-logs"):
                yield LogExcerpt(id="log-excerpt")
            with TabPane("timeline (t)", id="tab-timeline"):
                yield Timeline(id="timeline")
        yield SourceStatusBar(self.backend.profile_name, id="status")
        yield Footer()

    def _header(self) -> Text:
        a = self.alert
        t = Text(no_wrap=True, overflow="ellipsis")
        # alert labels are outside text: controls made visible
        sev = visible(a.severity, oneline=True)
        t.append(f" {sev} ", style=f"reverse {SEVERITY_STYLE.get(a.severity, '')}")
        t.append(f" {visible(a.name, oneline=True)}", style="bold")
        t.append(f"  {visible(a.service or '?', oneline=True)}", style="cyan")
        onset = self.inv.report.onset if self.inv else None
        t.append(f"  onset {hm(onset) if onset else '…'}", style="")
        t.append(f"  started {hm(a.starts_at)}  {visible(a.short_id, oneline=True)}", style="dim")
        return t

    def on_mount(self) -> None:
        self.query_one(SourceStatusBar).set_all(self.backend.health)
        self.query_one(HypothesisList).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.query_one(SourceStatusBar).set_all(self.backend.health)
        if self.inv is not None:
            self.load_actions()

    @work(exclusive=True, thread=True, group="incident")
    def load(self) -> None:
        try:
            inv = self.backend.investigate(
                self.alert, progress=lambda n: self.post_message(SourceUpdated(n))
            )
        except AisreError as err:
            self.post_message(LoadFailed.of("triage", err))
            return
        self.post_message(IncidentLoaded(inv))

    @work(exclusive=True, thread=True, group="incident-actions")
    def load_actions(self) -> None:
        actions = self.backend.actions_for(self.alert.id)
        self.app.call_from_thread(self._show_timeline, actions)

    def on_source_updated(self, msg: SourceUpdated) -> None:
        self.query_one(SourceStatusBar).set_note(msg.note)

    def on_load_failed(self, msg: LoadFailed) -> None:
        self.failed = msg.message
        self.query_one(SeriesPlot).show([], 0, "triage failed: nothing to plot")
        self.query_one(LogExcerpt).show("", [], "triage failed: no log lines")
        v = self.query_one("#verdict", Static)
        v.update(Text(f"{msg.what} failed: {visible(msg.message, oneline=True)}", style="bold red"))
        self.notify(msg.message + (f"\nhint: {msg.hint}" if msg.hint else ""), severity="error")

    def on_incident_loaded(self, msg: IncidentLoaded) -> None:
        inv = msg.investigation
        self.inv = inv
        rep = inv.report
        self.query_one("#incident-header", Static).update(self._header())
        self.query_one(SourceStatusBar).set_all(self.backend.health)
        verdict = rep.verdict
        self.query_one("#verdict", Static).set_class(verdict.escalate, "escalate")
        self._show_verdict()
        if not verdict.hypotheses:
            self.query_one(EvidencePane).body.update(
                Text("no hypothesis has cited evidence: escalate", style="bold red")
            )
        self.query_one(HypothesisList).show(verdict.hypotheses)
        self.load_actions()

    def _show_verdict(self) -> None:
        """The verdict in at most 4 rows of the screen's width: the reason in up to 3
        (cut with an ellipsis), then `next:` and the related alerts on their own row,
        so the next step is always on screen."""
        if self.inv is None:
            return
        verdict = self.inv.report.verdict
        width = max(20, self.size.width)
        t = Text()
        if verdict.escalate:
            t.append(" ESCALATE ", style="bold reverse")
            tail = "  (e: hand-off)"
        else:
            t.append(f" {verdict.classification} ", style="bold reverse green")
            tail = ""
        lines = 3 if verdict.next_step or verdict.related_alerts else 4
        reason = visible(verdict.reason, oneline=True)
        budget = lines * width - t.cell_len - len(tail) - lines * 8  # words wrap early
        if len(reason) > budget:
            reason = reason[: max(0, budget - 1)] + "…"
        t.append(f" {reason}{tail}")
        nxt = Text()
        if verdict.next_step:
            nxt.append(f" next: {visible(verdict.next_step, oneline=True)}", style="italic")
        if verdict.related_alerts:
            related = visible(", ".join(r[:8] for r in verdict.related_alerts), oneline=True)
            nxt.append(f"  related: {related}", style="dim")
        if nxt.plain:
            nxt.truncate(width, overflow="ellipsis")  # one row: it never wraps away
            t.append("\n")
            t.append_text(nxt)
        self.query_one("#verdict", Static).update(t)

    def on_resize(self) -> None:
        self._show_verdict()

    def _show_timeline(self, actions: list[tuple[datetime, str]]) -> None:
        if self.inv is None:
            return
        ctx = self.inv.ctx
        self.query_one(Timeline).show(
            events_for(ctx.alerts, ctx.changes, self.inv.report.onset, actions, ctx.events)
        )

    # ------------------------------------------------------------ following the cursor

    def on_hypothesis_list_selected(self, msg: HypothesisList.Selected) -> None:
        if self.inv is None:
            return
        self.hypothesis = msg.hypothesis
        self.series_index = 0
        self.query_one(EvidencePane).show(self.inv.report, msg.hypothesis)
        self._show_series()
        self._show_logs()

    @on(HypothesisList.OptionSelected, "#hypotheses")
    def _hypothesis_chosen(self, event: HypothesisList.OptionSelected) -> None:
        """Enter on a hypothesis: its runbooks (as `r`)."""
        event.stop()
        self.action_runbooks()

    def _cited(self, kinds: tuple[str, ...]) -> list[Evidence]:
        if self.inv is None or self.hypothesis is None:
            return []
        by_id = self.inv.report.evidence_by_id()
        return [by_id[e] for e in self.hypothesis.evidence if e in by_id and by_id[e].kind in kinds]

    def _show_series(self) -> None:
        plot = self.query_one(SeriesPlot)
        if self.inv is None:
            return
        inv = self.inv
        ctx = inv.ctx
        onset = inv.report.onset
        plots: list[PlotData] = []
        for ev in self._cited(SERIES_KINDS):
            s = self.backend.series_for(inv, ev)
            if s is None:
                continue
            plots.append(
                PlotData(
                    title=f"{ev.id} {s.name} on {s.service or '?'}",
                    series=s,
                    onset=onset.timestamp() if onset else None,
                    changes=[(c.ts.timestamp(), c.id) for c in ctx.changes],
                    start=ctx.window.start.timestamp(),
                    end=ctx.window.end.timestamp(),
                )
            )
        plot.show(plots, self.series_index, "no metric series cited by this hypothesis")

    def _show_logs(self) -> None:
        view = self.query_one(LogExcerpt)
        if self.inv is None:
            return
        cited = self._cited(("log_template",))
        if not cited:
            view.show("", [], "no log template cited by this hypothesis")
            return
        ev = cited[0]
        lines = self.backend.log_lines_for(self.inv, ev)
        view.show(f"{ev.id} {ev.service}: {ev.query}", lines, "no log lines found")

    # ------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_next_series(self) -> None:
        self.series_index += 1
        self._show_series()
        self.query_one(TabbedContent).active = "tab-series"

    def _not_ready(self) -> str:
        if self.failed is not None:
            return (
                "triage failed: there is nothing to act on (the reason is at the top; esc: inbox)"
            )
        return "still investigating"

    def action_handoff(self) -> None:
        if self.inv is None:
            self.notify(self._not_ready(), severity="warning")
            return
        from aisre_cli.ui.tui.screens.handoff import HandoffScreen

        self.app.push_screen(HandoffScreen(self.inv.report))

    def action_runbooks(self) -> None:
        if self.inv is None or self.hypothesis is None:
            if self.inv is not None:
                msg = "no hypothesis to act on: e hands the incident off"
            else:
                msg = self._not_ready()
            self.notify(msg, severity="warning")
            return
        from aisre_cli.ui.tui.screens.runbook import RunbookScreen

        self.app.push_screen(RunbookScreen(self.backend, self.inv, self.hypothesis))
