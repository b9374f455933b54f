"""`aisre console`: the full-screen incident console.

Screens: inbox (incidents from every alert source) → incident (verdict, hypotheses,
evidence, series, logs, timeline) → runbook (the governed stepper); stopped runs (`s`
on the inbox: this profile's runs that can be resumed, each taken up in the runbook
stepper as `aisre runbook resume` does); audit and help on top. Everything shown comes
from the core through `Backend`; blocking calls run in thread workers and report back
with messages (`messages.py`).

Keys are bindings with ids (shown in the footer, listed by `?`, and in the command
palette on ctrl+p), so a user can remap them with Textual's keymap support.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.filter import LineFilter
from textual.markup import escape
from textual.notifications import SeverityLevel
from textual.screen import Screen

from aisre_cli.ui.term import visible
from aisre_cli.ui.tui.backend import Backend
from aisre_cli.ui.tui.guard import ControlGuard
from aisre_cli.ui.tui.screens.audit import AuditScreen
from aisre_cli.ui.tui.screens.confirm import ConfirmScreen
from aisre_cli.ui.tui.screens.help import HelpScreen
from aisre_cli.ui.tui.screens.inbox import InboxScreen
from aisre_cli.ui.tui.screens.runbook import RunbookScreen
from aisre_cli.ui.tui.screens.runs import RunsScreen
from aisre_cli.ui.tui.screens.small import TooSmallScreen, too_small

LIGHT = "textual-light"
DARK = "textual-dark"


class ConsoleApp(App[None]):
    TITLE = "aisre console"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "help", id="console.help"),
        Binding("u", "audit", "audit", id="console.audit"),
        Binding("ctrl+t", "toggle_theme", "theme", id="console.theme", show=False),
        Binding("q", "quit", "quit", id="console.quit_q"),
        Binding("ctrl+q", "quit", "quit", id="console.quit", priority=True, show=False),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        alert_id: str | None = None,
        refresh_s: float = 30.0,
        theme: str | None = None,
        greeting: str | None = None,
    ) -> None:
        super().__init__()
        self.greeting = greeting
        self.backend = backend
        self.alert_id = alert_id
        self.refresh_s = refresh_s
        if theme is not None:
            self.theme = theme
        self.exit_notes: list[str] = []
        """Printed on stderr once the full screen is gone (`aisre console` does): what
        the engineer must know after quitting, such as how to resume a stopped run."""

    guard_enabled = True
    """The `ControlGuard` backstop (tests turn it off to prove the widgets' own escaping)."""
    _guard = ControlGuard()

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the backstop that drops any raw control (see guard.py)."""
        filters = list(super().get_line_filters())
        return [*filters, self._guard] if self.guard_enabled else filters

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast: messages quote errors and outside text, so they are shown as
        plain text (no markup) with controls made visible."""
        super().notify(
            visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False
        )

    def action_help_quit(self) -> None:
        """ctrl+c where it stops nothing (the runbook screen binds it to interrupt a
        step): Textual's hint how to quit. Its text is ours, not outside text, so it
        keeps its markup; `notify` above would show the tags raw."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                super().notify(
                    f"Press [b]{escape(key)}[/b] to quit the app", title="Do you want to quit?"
                )
                return

    def on_mount(self) -> None:
        self.push_screen(InboxScreen(self.backend, self.refresh_s, open_alert=self.alert_id))
        if self.greeting:
            self.notify(self.greeting + "\npress ? for keys", title="aisre console", timeout=8)
        self._check_size()

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int | None = None, height: int | None = None) -> None:
        """Too small to lay out: say so (`TooSmallScreen`) instead of empty panes."""
        small = too_small(width or self.size.width, height or self.size.height)
        shown = isinstance(self.screen, TooSmallScreen)
        if small and not shown:
            self.push_screen(TooSmallScreen())
        elif shown and not small:
            self.pop_screen()

    # ------------------------------------------------------------ app-wide actions

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(self.screen, list(self.BINDINGS)))

    def action_audit(self) -> None:
        if isinstance(self.screen, AuditScreen):
            return
        run_id = None
        for s in reversed(self.screen_stack):
            if isinstance(s, RunbookScreen) and s.session is not None:
                run_id = s.session.run_id
                break
            if isinstance(s, RunsScreen):  # what the highlighted stopped run did
                sel = s.selected()
                run_id = sel.run_id if sel is not None else None
                break
        self.push_screen(AuditScreen(self.backend, run_id))

    def action_stopped_runs(self) -> None:
        """This profile's runs that can be resumed (`s` on the inbox, the palette)."""
        if isinstance(self.screen, RunsScreen):
            return
        if any(isinstance(s, RunbookScreen) and s.running() for s in self.screen_stack):
            self.notify("a run is open: answer or abort it first", severity="warning")
            return
        self.push_screen(RunsScreen(self.backend))

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme != LIGHT else DARK

    def action_inbox(self) -> None:
        while len(self.screen_stack) > 2 and not isinstance(self.screen, InboxScreen):
            if isinstance(self.screen, RunbookScreen) and self.screen.running():
                self.notify("a run is open: answer or abort it first", severity="warning")
                return
            self.pop_screen()

    def action_refresh_inbox(self) -> None:
        for s in self.screen_stack:
            if isinstance(s, InboxScreen):
                s.action_refresh()

    async def action_quit(self) -> None:
        """Quit; an open run is first stopped (audited, resumable), never left running."""
        open_runs = [s for s in self.screen_stack if isinstance(s, RunbookScreen) and s.running()]
        for s in self.screen_stack:
            busy = s.busy_notice() if isinstance(s, RunsScreen) else None
            if busy is not None:  # a run being taken up: it is open once that returns
                self.notify(busy, severity="warning")
                return
        if not open_runs:
            self.exit()
            return
        rs = open_runs[0]
        why = rs.busy_notice()
        if why is not None:
            self.notify(why, severity="warning")
            return
        if isinstance(self.screen, ConfirmScreen):
            return
        run_id = rs.session.run_id if rs.session else "?"

        def answered(yes: bool | None) -> None:
            if yes:
                sm = rs.close_run("console closed at the prompt")
                if sm is not None:
                    self.exit_notes += [
                        f"run {sm.run_id}: {sm.status}",
                        f"audit head: #{sm.head_seq} {sm.head}",
                    ]
                    if sm.resumable:
                        self.exit_notes += [
                            f"resume with: aisre runbook resume {sm.run_id}",
                            f"or in the console: aisre console --profile"
                            f" {self.backend.profile_name}, then s (stopped runs)",
                        ]
                self.exit()

        self.push_screen(
            ConfirmScreen(
                f"Run {run_id} is waiting for an answer. Stop it and quit?",
                f"It is recorded as stopped; resume it with `aisre runbook resume {run_id}`,"
                " or in the console from the stopped runs (s on the inbox).",
            ),
            answered,
        )

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Inbox", "Back to the list of incidents", self.action_inbox)
        yield SystemCommand(
            "Refresh inbox", "Ask every alert source again", self.action_refresh_inbox
        )
        yield SystemCommand("Audit log", "Recent runs and their audit records", self.action_audit)
        yield SystemCommand(
            "Stopped runs", "This profile's runs that can be resumed", self.action_stopped_runs
        )
        yield SystemCommand("Help", "Keys of this screen and of the console", self.action_help)
        yield SystemCommand(
            "Light/dark", "Toggle the light and dark theme", self.action_toggle_theme
        )
