"""The console's door to the core: every number the console shows comes through here.

Screens never call the engine directly and never compute anything themselves. This
module composes the same core calls the CLI makes (`list_alerts` + `group_alerts`
for `aisre alerts`, `gather` + `analyze_context` + `build_report` for `aisre triage`,
`RunSession` for `aisre runbook run`), and keeps the gathered `Context` so the
incident screen can *look up* the raw series and log lines an evidence item cites
(by its `ref`, `query` and excerpt), not re-analyse them.

It never imports textual: workers call these blocking methods in threads, and the
tests call them directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aisre_cli.errors import AisreError
from aisre_cli.model import Alert, Context, Evidence, Hypothesis, Series, SourceNote, TriageReport
from aisre_cli.settings.config import Profile
from aisre_cli.sources.registry import SourceSet

if TYPE_CHECKING:
    from aisre_cli.govern.audit import AuditRecord
    from aisre_cli.govern.session import RunSession
    from aisre_cli.investigate.triage import MemoryAdvisor, RunbookMatcher
    from aisre_cli.remediate.checkpoint import RunState
    from aisre_cli.remediate.runbook import Runbook

Clock = Callable[[], datetime]
Progress = Callable[[SourceNote], object]


def utc_now() -> datetime:
    return datetime.now(UTC)


ACTION_EVENTS = ("run_start", "result", "skip", "abort", "stopped", "run_end")


@dataclass
class Incident:
    """One inbox row: alerts grouped by the core's `group_alerts`, head first."""

    alerts: list[Alert]

    @property
    def head(self) -> Alert:
        """The alert that stands for the incident: the most severe, then the oldest."""
        return sorted(self.alerts, key=lambda a: (severity_rank(a.severity), a.starts_at))[0]

    @property
    def services(self) -> list[str]:
        out: list[str] = []
        for a in self.alerts:
            if a.service and a.service not in out:
                out.append(a.service)
        return out

    @property
    def state(self) -> str:
        states = {a.state for a in self.alerts}
        return "active" if "active" in states else sorted(states)[0]

    def text(self) -> str:
        """What the `/` filter matches against."""
        parts: list[str] = []
        for a in self.alerts:
            parts += [a.name, a.id, a.service or "", a.severity, a.state, a.summary]
        return " ".join(parts).lower()


SEVERITY_ORDER = ("critical", "page", "high", "error", "warning", "warn", "info", "none")


def severity_rank(sev: str) -> int:
    return SEVERITY_ORDER.index(sev) if sev in SEVERITY_ORDER else len(SEVERITY_ORDER)


@dataclass
class Inbox:
    incidents: list[Incident]
    notes: list[SourceNote]
    loaded_at: datetime


@dataclass
class Investigation:
    """A triage report plus the Context it was computed from (for look-ups only)."""

    report: TriageReport
    ctx: Context
    runbooks: dict[str, Runbook] = field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    ts: float
    level: str
    msg: str
    ref: str
    cited: bool


class Backend:
    """Profile + sources for one console session, and the core calls the screens need."""

    def __init__(
        self,
        profile_name: str,
        profile: Profile,
        sources: SourceSet,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.profile_name = profile_name
        self.profile = profile
        self.sources = sources
        self.clock = clock
        self._alerts: list[Alert] = []
        self._books: list[Runbook] | None = None
        self.runbook_error: str | None = None
        self.health: dict[str, SourceNote | None] = {}
        """The latest note per source, as the core reported it (None: still asked)."""

    # ------------------------------------------------------------ inbox

    def source_names(self) -> list[str]:
        return [f"{s.name} alerts" for s in self.sources.alerts]

    def begin_refresh(self) -> dict[str, SourceNote | None]:
        """Mark the alert sources as being asked; returns the health map."""
        for n in self.source_names():
            self.health[n] = None
        return dict(self.health)

    def _note(self, progress: Progress | None) -> Callable[[SourceNote], None]:
        def record(note: SourceNote) -> None:
            self.health[note.source] = note
            if progress is not None:
                progress(note)

        return record

    def load_inbox(self, progress: Progress | None = None) -> Inbox:
        """Alerts from every alert source, deduplicated and grouped into incidents."""
        from aisre_cli.investigate.gather import group_alerts, list_alerts

        budget = self.profile.gather_budget_s
        alerts, notes = list_alerts(self.sources, budget, self._note(progress))
        for n in notes:
            self.health[n.source] = n
        self._alerts = alerts
        groups = group_alerts(alerts)
        incidents = [Incident(list(g)) for g in groups]
        incidents.sort(
            key=lambda i: (
                severity_rank(i.head.severity),
                -max(a.starts_at for a in i.alerts).timestamp(),
            )
        )
        return Inbox(incidents, notes, self.clock())

    def focus_alert(self) -> str | None:
        b = self.sources.bundle
        return b.meta.focus_alert if b is not None else None

    def resolve(self, query: str) -> Alert:
        from aisre_cli.investigate.gather import resolve_alert

        if not self._alerts:
            self.load_inbox()
        return resolve_alert(self._alerts, query)

    # ------------------------------------------------------------ triage

    def investigate(self, alert: Alert, progress: Progress | None = None) -> Investigation:
        """The same pipeline as `run_triage`, keeping the Context for look-ups."""
        from aisre_cli.investigate.gather import gather
        from aisre_cli.investigate.rank import Weights
        from aisre_cli.investigate.triage import analyze_context, build_report

        t0 = time.monotonic()
        p = self.profile
        ctx = gather(
            self.sources,
            alert,
            self._alerts or [alert],
            lookback_s=p.lookback_minutes * 60,
            lookahead_s=p.lookahead_minutes * 60,
            budget_s=p.gather_budget_s,
            progress=self._note(progress),
        )
        w = Weights.load()
        memory = self._memory()
        analysis = analyze_context(ctx, p, w, memory)
        for n in ctx.notes:  # after analysis: it may add one (topology derived from spans)
            self.health[n.source] = n
        report = build_report(analysis, w, self._matcher(), time.monotonic() - t0)
        recorder = getattr(memory, "record", None)
        if callable(recorder):  # as `aisre triage` does: the memory learns this incident
            recorder(report)
        books = {rb.id: rb for rb in self._runbooks()}
        return Investigation(report, ctx, books)

    def _runbooks(self) -> list[Runbook]:
        if self._books is None:
            from aisre_cli.remediate.matching import load_runbooks

            try:
                self._books = load_runbooks(self.profile)
            except AisreError as err:  # a broken runbook folder must not stop a triage
                self.runbook_error = err.message
                self._books = []
        return self._books

    def _matcher(self) -> RunbookMatcher | None:
        from aisre_cli.remediate.matching import match_runbooks

        books = self._runbooks()

        def match(h: Hypothesis, alert: Alert) -> list[str]:
            return list(match_runbooks(h, alert, books))

        return match

    @staticmethod
    def _memory() -> MemoryAdvisor | None:
        try:
            from aisre_cli.memory.store import open_advisor
        except ImportError:
            return None
        try:
            adv: MemoryAdvisor = open_advisor()
            return adv
        except AisreError:
            return None

    # ------------------------------------------------------------ look-ups for widgets

    @staticmethod
    def series_for(inv: Investigation, ev: Evidence) -> Series | None:
        """The raw series an evidence item cites: same file/URL, and the cited query is
        the series' query scoped to its labels."""
        from aisre_cli.sources.promql import scope_query

        if ev.ref is None or ev.kind not in ("metric_anomaly", "dependency_down", "saturation"):
            return None
        best: Series | None = None
        for s in inv.ctx.series:
            if s.ref != ev.ref or s.service != ev.service:
                continue
            if ev.query == scope_query(s.query or s.name, s.labels):  # as rank cites it
                return s
            if s.name in ev.query or (s.query and s.query in ev.query):
                best = best or s
        return best

    @staticmethod
    def log_lines_for(
        inv: Investigation, ev: Evidence, context: int = 2, limit: int = 200
    ) -> list[LogLine | None]:
        """The records of the evidence's service whose template is the cited one (the
        core's `template_of`), marked `cited`, with `context` records either side.
        None stands for a gap between excerpts."""
        from aisre_cli.investigate.analyzers.logs import template_of

        logs = inv.ctx.logs
        if ev.kind != "log_template" or len(logs) == 0:
            return []
        wanted = {template_of(x) for x in ev.excerpt}
        idx = sorted(
            (i for i in range(len(logs)) if logs.service[i] == ev.service), key=lambda i: logs.ts[i]
        )
        hits = [k for k, i in enumerate(idx) if template_of(logs.msg[i]) in wanted]
        keep: list[int] = []
        for k in hits:
            for j in range(max(0, k - context), min(len(idx), k + context + 1)):
                if not keep or j > keep[-1]:
                    keep.append(j)
            if len(keep) >= limit:
                break
        hit_set = set(hits)
        out: list[LogLine | None] = []
        prev = -1
        for j in keep[:limit]:
            if prev >= 0 and j != prev + 1:
                out.append(None)
            i = idx[j]
            out.append(LogLine(logs.ts[i], logs.level[i], logs.msg[i], logs.ref(i), j in hit_set))
            prev = j
        return out

    # ------------------------------------------------------------ runbooks

    def runbooks_for(self, inv: Investigation, h: Hypothesis) -> list[Runbook]:
        return [inv.runbooks[r] for r in h.runbooks if r in inv.runbooks]

    def start_run(
        self,
        runbook: Runbook,
        inv: Investigation,
        hypothesis: Hypothesis,
        *,
        dry_run: bool = False,
    ) -> RunSession:
        """A RunSession for the runbook, with the chosen hypothesis ranked first so the
        plan takes its parameters and trust from the hypothesis the engineer picked."""
        from aisre_cli.govern.session import RunSession

        report = inv.report
        hyps = [hypothesis, *[h for h in report.verdict.hypotheses if h is not hypothesis]]
        chosen = report.model_copy(
            update={"verdict": report.verdict.model_copy(update={"hypotheses": hyps})}
        )
        return RunSession.start(
            runbook, self.profile_name, self.profile, report=chosen, dry_run=dry_run
        )

    # ------------------------------------------------------------ audit

    @staticmethod
    def audit_records(run_id: str | None = None, limit: int = 300) -> list[AuditRecord]:
        from aisre_cli.govern.audit import AuditLog

        recs: Iterator[AuditRecord] = AuditLog().records()
        out = [r for r in recs if run_id is None or r.run == run_id]
        return out[-limit:]

    @staticmethod
    def recent_runs(limit: int = 20) -> list[RunState]:
        from aisre_cli.remediate.checkpoint import list_runs

        return list_runs()[-limit:]

    @classmethod
    def actions_for(cls, alert_id: str) -> list[tuple[datetime, str]]:
        """What was done about this alert: the audited steps of runs started for it."""
        runs = {r.run_id: r.runbook_id for r in cls.recent_runs(200) if r.alert_id == alert_id}
        if not runs:
            return []
        out: list[tuple[datetime, str]] = []
        for rec in cls.audit_records(None, 5000):
            if rec.run not in runs or rec.event not in ACTION_EVENTS:
                continue
            try:
                ts = datetime.fromisoformat(rec.ts.replace("Z", "+00:00"))
            except ValueError:
                continue
            step = rec.data.get("step")
            what = f"{runs[rec.run]} {rec.event}" + (f" {step}" if step else "")
            if rec.event == "result":
                what += " ok" if rec.data.get("ok") else " failed"
            if rec.event == "run_end":
                what += f" {rec.data.get('status', '')}"
            out.append((ts, what))
        return out

    @staticmethod
    def audit_head() -> tuple[int, str]:
        from aisre_cli.govern.audit import AuditLog

        return AuditLog().head()


def audit_summary(rec: AuditRecord) -> str:
    """One line for an audit record (what the audit view lists)."""
    d: dict[str, Any] = rec.data
    bits: list[str] = []
    for key in ("runbook", "step", "status", "reason", "action", "ok", "detail"):
        if key in d and d[key] not in (None, ""):
            val = d[key]
            bits.append(f"{key}={val}" if key not in ("action",) else str(val))
    return " ".join(bits)[:200]
