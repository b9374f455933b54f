"""The console's door to the core: every number the console shows comes through here.

Screens never call the engine directly and never compute anything themselves. This
module holds the console's `flows.triage.TriageFlow` (the same composition `aisre
alerts` and `aisre triage` use: one inbox grouping, memory priors, runbook matching,
the incident recorded), and keeps the gathered `Context` so the incident screen can
*look up* the raw series and log lines an evidence item cites (by its `ref`, `query`
and excerpt), not re-analyse them. Runs go through `flows.runbook.start_run`, and
stopped runs are listed and taken up again through `flows.runbook.stopped_runs` and
`resume_run`, the composition `aisre runbook resume` uses.

It never imports textual: workers call these blocking methods in threads, and the
tests call them directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aisre_cli.flows.triage import AlertGroup, TriageFlow, TriageOptions
from aisre_cli.model import (
    Alert,
    Context,
    Evidence,
    Hypothesis,
    Series,
    SourceNote,
    TriageReport,
    severity_rank,
)
from aisre_cli.settings.config import Profile
from aisre_cli.sources.registry import SourceSet

if TYPE_CHECKING:
    from aisre_cli.flows.runbook import RunFlow
    from aisre_cli.govern.audit import AuditRecord
    from aisre_cli.memory.store import Incident as MemoryIncident
    from aisre_cli.remediate.checkpoint import RunState
    from aisre_cli.remediate.runbook import Runbook

Clock = Callable[[], datetime]
Progress = Callable[[SourceNote], object]

__all__ = ["Backend", "Inbox", "Incident", "Investigation", "StoppedRuns", "severity_rank"]


def utc_now() -> datetime:
    return datetime.now(UTC)


ACTION_EVENTS = ("run_start", "result", "skip", "abort", "stopped", "run_end")


class Incident(AlertGroup):
    """One inbox row: an `AlertGroup` of the shared grouping, plus the filter text."""

    def text(self) -> str:
        """What the `/` filter matches against."""
        parts: list[str] = []
        for a in self.alerts:
            parts += [a.name, a.id, a.service or "", a.severity, a.state, a.summary]
        return " ".join(parts).lower()


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
    incident: MemoryIncident | None = None


@dataclass(frozen=True)
class StoppedRuns:
    """The runs the console can resume: this profile's (newest first), and how many
    other profiles have (those are resumed with their own profile)."""

    profile: str
    runs: list[RunState]
    others: dict[str, int] = field(default_factory=dict)
    """Profile name -> how many of its runs are stopped."""


@dataclass(frozen=True)
class LogLine:
    ts: float
    level: str
    msg: str
    ref: str
    cited: bool


class Backend:
    """Profile + sources for one console session, and the flows the screens need."""

    def __init__(
        self,
        profile_name: str,
        profile: Profile,
        sources: SourceSet,
        *,
        clock: Clock = utc_now,
        options: TriageOptions | None = None,
    ) -> None:
        self.profile_name = profile_name
        self.profile = profile
        self.sources = sources
        self.clock = clock
        self.options = options or TriageOptions()
        self.flow = TriageFlow(profile, sources)
        self.health: dict[str, SourceNote | None] = {}
        """The latest note per source, as the core reported it (None: still asked)."""

    @property
    def runbook_error(self) -> str | None:
        return self.flow.runbook_error

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
        """Alerts from every alert source, grouped into incidents as `aisre alerts` does."""
        listed = self.flow.list_alerts(self._note(progress))
        for n in listed.notes:
            self.health[n.source] = n
        incidents = [Incident(g.alerts) for g in listed.groups]
        return Inbox(incidents, listed.notes, self.clock())

    def focus_alert(self) -> str | None:
        return self.flow.focus_alert()

    def resolve(self, query: str) -> Alert:
        return self.flow.resolve(query)

    # ------------------------------------------------------------ triage

    def investigate(self, alert: Alert, progress: Progress | None = None) -> Investigation:
        """`aisre triage` for this alert (the shared flow), keeping the Context."""
        result = self.flow.triage(alert, self.options, self._note(progress))
        for n in result.ctx.notes:  # after analysis: it may add one (topology from spans)
            self.health[n.source] = n
        return Investigation(result.report, result.ctx, result.runbooks, result.incident)

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

    @staticmethod
    def missing_params(runbook: Runbook, inv: Investigation, hypothesis: Hypothesis) -> list[str]:
        """The required parameters that neither the verdict (for this hypothesis) nor a
        default fills: planning would stop on them (`remediate.plan.resolve_params`),
        so the console asks for them first."""
        from aisre_cli.flows.runbook import report_for
        from aisre_cli.remediate.plan import plan_facts, unfilled_params

        report = report_for(inv.report, hypothesis)  # as `start_run` plans it
        facts = plan_facts(runbook, report)
        return unfilled_params(runbook, {}, facts)

    @staticmethod
    def check_param(runbook: Runbook, name: str, raw: str) -> str | None:
        """Why `raw` is not a valid value of the parameter (the validation `--param`
        values get), or None."""
        from aisre_cli.remediate.types import validate_param

        try:
            validate_param(runbook.params[name].type, raw)
        except ValueError as exc:
            return str(exc)
        return None

    def start_run(
        self,
        runbook: Runbook,
        inv: Investigation,
        hypothesis: Hypothesis,
        *,
        params: Mapping[str, str] | None = None,
        dry_run: bool = False,
    ) -> RunFlow:
        """Plan a run of the runbook for the hypothesis the engineer picked (its
        parameters and trust come from it; `params`: values the engineer entered, as
        `--param` gives them); nothing runs until the flow is driven."""
        from aisre_cli.flows.runbook import start_run

        return start_run(
            runbook,
            self.profile_name,
            self.profile,
            report=inv.report,
            hypothesis=hypothesis,
            params=params,
            dry_run=dry_run,
        )

    def stopped_runs(self) -> StoppedRuns:
        """The runs that can be resumed (`flows.runbook.stopped_runs`), this profile's
        apart: a run is resumed with the profile it started with."""
        from aisre_cli.flows.runbook import stopped_runs

        mine: list[RunState] = []
        others: dict[str, int] = {}
        for r in stopped_runs():
            if r.profile == self.profile_name:
                mine.append(r)
            else:
                others[r.profile] = others.get(r.profile, 0) + 1
        return StoppedRuns(self.profile_name, mine, others)

    def resume_run(self, run_id: str) -> RunFlow:
        """`aisre runbook resume RUN_ID` in this profile (the shared flow): the session
        checks and audits the resume; nothing runs until the flow is driven."""
        from aisre_cli.flows.runbook import resume_run

        return resume_run(run_id, self.profile_name, self.profile)

    # ------------------------------------------------------------ audit

    @staticmethod
    def audit_records(run_id: str | None = None, limit: int = 300) -> list[AuditRecord]:
        from aisre_cli.govern.audit import open_audit_log

        recs: Iterator[AuditRecord] = open_audit_log().records()
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
        from aisre_cli.govern.audit import open_audit_log

        return open_audit_log().head()


def audit_summary(rec: AuditRecord, limit: int = 200) -> str:
    """One line for an audit record (what the audit view lists): what `aisre audit
    show` prints (`AuditRecord.summary`), so a failed step's error is there too."""
    return rec.summary(limit)
