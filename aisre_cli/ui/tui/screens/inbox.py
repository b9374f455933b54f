"""Inbox: every firing alert from every configured source, grouped into incidents.

The refresh runs `Backend.load_inbox` in an exclusive thread worker (a new refresh
cancels the wait for an older one), on an interval, so a slow or hanging source
never freezes the screen: keys keep working and the status bar shows the source
as pending, then failed when the core's gather budget runs out.

`s` opens this profile's stopped runs (`RunsScreen`), to resume one. The footer names
the key, with how many there are, only while there is a run to resume; `?` always
lists it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from aisre_cli.errors import AisreError
from aisre_cli.model import SourceNote
from aisre_cli.ui.render import SEVERITY_STYLE, age
from aisre_cli.ui.term import safe, visible
from aisre_cli.ui.tui.backend import Backend, Inbox, Incident
from aisre_cli.ui.tui.messages import (
    InboxLoaded,
    LoadFailed,
    RunsListed,
    SourcesPending,
    SourceUpdated,
)
from aisre_cli.ui.tui.screens.runs import read_stopped
from aisre_cli.ui.tui.widgets.hypotheses import middle
from aisre_cli.ui.tui.widgets.status import SourceStatusBar

COLUMNS = (
    ("sev", "severity"),
    ("alert", "alert"),
    ("service", "service"),
    ("age", "age"),
    ("state", "state"),
    ("id", "id"),
    ("summary", "summary"),
)
MIN_SUMMARY = 24
"""Narrower than this, the summary moves from its column to the line under the table."""
MIN_ALERT = 16
MIN_SERVICE = 10
"""An alert name and a service are cut (in the middle) to no less than this."""


class InboxScreen(Screen[None]):
    CSS_PATH = "inbox.tcss"
    BINDINGS = [
        Binding("enter", "open", "open", id="inbox.open", priority=True),
        Binding("slash", "filter", "filter", id="inbox.filter"),
        Binding("r", "refresh", "refresh", id="inbox.refresh"),
        Binding("s", "app.stopped_runs", "stopped runs", id="inbox.runs"),
        Binding("escape", "clear_filter", "clear filter", id="inbox.clear", show=False),
        Binding("j", "cursor(1)", "down", id="inbox.down", show=False),
        Binding("k", "cursor(-1)", "up", id="inbox.up", show=False),
    ]

    def __init__(
        self, backend: Backend, refresh_s: float = 30.0, *, open_alert: str | None = None
    ) -> None:
        super().__init__()
        self.backend = backend
        self.open_alert = open_alert
        self.refresh_s = refresh_s
        self.inbox: Inbox | None = None
        self.shown: list[Incident] = []
        self.filter_text = ""
        self.refreshes = 0
        self.summary_column = True
        """False when the table is too narrow for the summary (it is shown below)."""
        self.error: LoadFailed | None = None
        """The last refresh failed (a malformed bundle, a broken config): shown until
        a refresh succeeds, not only in a toast that fades."""
        self.stopped_runs = 0
        """How many of this profile's runs can be resumed (the footer says so)."""

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="inbox-title", markup=False)
        yield Input(placeholder="filter: name, service, severity, id…", id="inbox-filter")
        table: DataTable[Text | str] = DataTable(
            id="inbox-table", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Static("", id="inbox-summary", markup=False)
        yield Static("", id="inbox-empty", markup=False)
        yield SourceStatusBar(self.backend.profile_name, id="status")
        yield Footer()

    def _title(self) -> Text:
        t = Text()
        t.append(" aisre console ", style="bold reverse")
        t.append("  inbox", style="bold")
        if self.inbox is not None:
            n = sum(len(i.alerts) for i in self.inbox.incidents)
            t.append(
                f"  {len(self.inbox.incidents)} incident(s), {n} alert(s)"
                f" · updated {self.inbox.loaded_at.strftime('%H:%M:%S')}Z",
                style="dim",
            )
        elif self.error is None:
            t.append("  loading…", style="dim")
        if self.error is not None:
            what = "refresh failed" if self.inbox is not None else "could not load alerts"
            t.append(f"  ✖ {what} (r retries)", style="bold red")
        if self.filter_text:
            t.append(f"  filter: {visible(self.filter_text, oneline=True)}", style="yellow")
        return t

    def on_mount(self) -> None:
        table = self.query_one("#inbox-table", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        table.focus()
        self.action_refresh()
        if self.refresh_s > 0:
            self.set_interval(self.refresh_s, self.action_refresh)

    # ------------------------------------------------------------ loading

    def action_refresh(self) -> None:
        names = self.backend.source_names()
        self.query_one(SourceStatusBar).set_all(self.backend.begin_refresh())
        self.post_message(SourcesPending(names))
        self.load()
        self.count_runs()

    @work(exclusive=True, thread=True, group="inbox-runs")
    def count_runs(self) -> None:
        """How many runs can be resumed: a local read, in a thread all the same."""
        got = read_stopped(self.backend)
        if not isinstance(got, LoadFailed):  # the stopped runs screen says why
            self.post_message(RunsListed(got))

    def on_runs_listed(self, msg: RunsListed) -> None:
        msg.stop()
        if len(msg.stopped.runs) != self.stopped_runs:
            self.stopped_runs = len(msg.stopped.runs)
            self.refresh_bindings()

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The footer's keys: `s` only while a run can be resumed (`resume (2)`: how
        many; it is heard, and listed by `?`, always: an empty list says so)."""
        active = super().active_bindings
        for key, ab in list(active.items()):
            if ab.binding.id != "inbox.runs":
                continue
            n = self.stopped_runs
            if n:
                label = f"resume ({n})"
                active[key] = ab._replace(binding=replace(ab.binding, description=label))
            else:
                active[key] = ab._replace(binding=replace(ab.binding, show=False))
        return active

    @work(exclusive=True, thread=True, group="inbox")
    def load(self) -> None:
        """Blocking core call in a thread; results come back as messages."""
        try:
            inbox = self.backend.load_inbox(progress=lambda n: self.post_message(SourceUpdated(n)))
        except AisreError as err:
            self.post_message(LoadFailed.of("inbox", err))
            return
        if not get_current_worker().is_cancelled:  # a newer refresh replaced this one
            self.post_message(InboxLoaded(inbox))

    def on_source_updated(self, msg: SourceUpdated) -> None:
        self.query_one(SourceStatusBar).set_note(msg.note)

    def on_inbox_loaded(self, msg: InboxLoaded) -> None:
        self.inbox = msg.inbox
        self.error = None
        self.refreshes += 1
        bar = self.query_one(SourceStatusBar)
        for note in msg.inbox.notes:
            bar.set_note(note)
        self._fill()
        if self.open_alert:
            query, self.open_alert = self.open_alert, None
            self._open_query(query)

    def _open_query(self, query: str) -> None:
        from aisre_cli.ui.tui.screens.incident import IncidentScreen

        try:
            alert = self.backend.resolve(query)
        except AisreError as err:
            self.notify(
                err.message + (f"\nhint: {err.hint}" if err.hint else ""),
                title="no such alert",
                severity="error",
            )
            return
        self.app.push_screen(IncidentScreen(self.backend, alert))

    def on_load_failed(self, msg: LoadFailed) -> None:
        self.error = msg
        # the sources asked for this refresh never answered: not "pending" for ever
        for name, note in list(self.backend.health.items()):
            if note is None:
                self.backend.health[name] = SourceNote(name, "failed", msg.message)
        self.query_one(SourceStatusBar).set_all(self.backend.health)
        self.notify(
            f"{msg.message}" + (f"\nhint: {msg.hint}" if msg.hint else ""),
            title=f"{msg.what} failed",
            severity="error",
        )
        self._fill()

    # ------------------------------------------------------------ table

    def _fill(self) -> None:
        table = self.query_one("#inbox-table", DataTable)
        keep = table.cursor_row
        # the cursor stays on the incident it was on, not on its row: a refresh that
        # adds or resolves an incident above it must not move enter to another one
        was = self.selected()
        table.clear()
        incidents = self.inbox.incidents if self.inbox else []
        f = self.filter_text.lower().strip()
        self.shown = [i for i in incidents if not f or all(w in i.text() for w in f.split())]
        now = self.inbox.loaded_at if self.inbox else datetime.now()
        rows: list[tuple[list[Text | str], str, str]] = []
        names: list[tuple[str, str, str]] = []  # (alert name, its +N, service): cut below
        for inc in self.shown:
            a = inc.head
            # every cell is outside text (labels, annotations): controls made visible
            sev = safe(a.severity, SEVERITY_STYLE.get(a.severity, "dim"), oneline=True)
            more = f" +{len(inc.alerts) - 1}" if len(inc.alerts) > 1 else ""
            # the service of the alert the row names; `+N`: the group's other services
            others = [s for s in inc.services if s != a.service]
            service = visible(a.service or "-", oneline=True)
            service += f" +{len(others)}" if others else ""
            names.append((visible(a.name, oneline=True), more, service))
            oldest = min(x.starts_at for x in inc.alerts)
            state = safe(inc.state, "green" if inc.state == "active" else "dim", oneline=True)
            cells: list[Text | str] = [
                sev,
                "",  # the alert's name and its service: filled in once their width is known
                "",
                age(oldest, now),
                state,
                safe(a.short_id, oneline=True),
            ]
            rows.append((cells, visible(a.summary, oneline=True), a.id))
        name_w, svc_w = self._name_widths(rows, names, table.scrollable_content_region.width)
        for (cells, _, _), (name, more, service) in zip(rows, names, strict=True):
            cut = Text(middle(name, max(1, name_w - cell_len(more))), style="bold")
            if more:
                cut.append(more, style="dim")
            cells[1] = cut
            cells[2] = Text(middle(service, svc_w))
        # the summary gets what the other columns leave (no sideways scrolling): each
        # column is as wide as its widest cell or label, plus one cell of padding a side;
        # when that is too little (80 columns), the line under the table shows the
        # highlighted incident's summary instead
        used = sum(
            max([cell_len(label)] + [cell_len(str(r[0][i])) for r in rows]) + 2
            for i, (_, label) in enumerate(COLUMNS[:-1])
        )
        room = min(60, table.scrollable_content_region.width - used - 2)
        self.summary_column = room >= MIN_SUMMARY or not rows
        has = "summary" in table.columns
        if has and not self.summary_column:
            table.remove_column("summary")
        elif not has and self.summary_column:
            table.add_column("summary", key="summary")
        for cells, shown, key in rows:
            if self.summary_column:
                summary = Text(shown, style="dim")
                summary.truncate(room, overflow="ellipsis")
                cells = [*cells, summary]
            table.add_row(*cells, key=key)
        if self.shown:
            if was is not None:
                head = was.head.id
                at = [i for i, inc in enumerate(self.shown) if head in (a.id for a in inc.alerts)]
                keep = at[0] if at else keep
            table.move_cursor(row=min(keep, len(self.shown) - 1))
        self._show_summary()
        empty = self.query_one("#inbox-empty", Static)
        if self.error is not None and self.inbox is None:
            err = self.error
            msg = Text(f"{err.what} failed: {visible(err.message, oneline=True)}", "bold red")
            if err.hint:
                msg.append(f"\nhint: {visible(err.hint, oneline=True)}", style="")
            msg.append("\nr retries", style="dim")
            empty.update(msg)
            empty.display = True
        elif self.inbox is not None and not self.shown:
            failed = [n for n in self.inbox.notes if n.status == "failed"]
            if f:
                empty.update("no incidents match the filter (esc clears it)")
            elif failed:
                # the reason in full (the status bar has room for only a part of it)
                msg = Text(f"no alerts received: {len(failed)} alert source(s) failed; r retries")
                for n in failed:
                    msg.append(f"\n✖ {visible(n.source, oneline=True)}: ", style="bold red")
                    msg.append(visible(n.detail or n.status, oneline=True))
                msg.append("\nhint: check the sources with `aisre doctor`", style="dim")
                empty.update(msg)
            else:
                empty.update("nothing is firing")
            empty.display = True
        else:
            empty.display = False
        self.query_one("#inbox-title", Static).update(self._title())

    @staticmethod
    def _name_widths(
        rows: list[tuple[list[Text | str], str, str]],
        names: list[tuple[str, str, str]],
        width: int,
    ) -> tuple[int, int]:
        """How wide the alert and service columns may be: as wide as their longest
        cell, unless that pushes the age, state and id off the screen (one alert
        named with 70 characters would, for every row); then both are cut in the
        middle (`KubernetesPodCr…EuWest1`), the service to at most a third."""
        name_w = max([cell_len(n) + cell_len(m) for n, m, _ in names], default=0)
        svc_w = max([cell_len(s) for _, _, s in names], default=0)
        fixed = sum(
            max([cell_len(label)] + [cell_len(str(r[0][i])) for r in rows]) + 2
            for i, (key, label) in enumerate(COLUMNS[:-1])
            if key not in ("alert", "service")
        )
        room = width - fixed - 4 - 2  # the two columns' padding, the scrollbar gutter
        if width <= 0 or name_w + svc_w <= room:
            return name_w, svc_w
        svc = min(svc_w, max(MIN_SERVICE, room // 3))
        return max(MIN_ALERT, room - svc), svc

    def _show_summary(self) -> None:
        """The highlighted incident's summary under the table, when it has no column."""
        box = self.query_one("#inbox-summary", Static)
        inc = self.selected()
        box.display = not self.summary_column and inc is not None
        if inc is not None and not self.summary_column:
            box.update(safe(inc.head.summary, "dim", oneline=True))

    @on(DataTable.RowHighlighted, "#inbox-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_summary()

    def on_resize(self) -> None:
        if self.inbox is not None:
            self._fill()

    def selected(self) -> Incident | None:
        table = self.query_one("#inbox-table", DataTable)
        if not self.shown or table.cursor_row < 0 or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    # ------------------------------------------------------------ actions

    def action_open(self) -> None:
        inc = self.selected()
        if inc is None:
            self.notify("no incident selected", severity="warning")
            return
        from aisre_cli.ui.tui.screens.incident import IncidentScreen

        self.app.push_screen(IncidentScreen(self.backend, inc.head))

    @on(DataTable.RowSelected, "#inbox-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_cursor(self, delta: int) -> None:
        table = self.query_one("#inbox-table", DataTable)
        table.move_cursor(row=max(0, table.cursor_row + delta))

    def action_filter(self) -> None:
        box = self.query_one("#inbox-filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#inbox-filter", Input)
        box.value = ""
        box.display = False
        self.filter_text = ""
        self._fill()
        self.query_one("#inbox-table", DataTable).focus()

    @on(Input.Changed, "#inbox-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._fill()

    @on(Input.Submitted, "#inbox-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.query_one("#inbox-table", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.query_one(SourceStatusBar).set_all(self.backend.health)
        self.count_runs()  # a run may have been resumed, or stopped, meanwhile
