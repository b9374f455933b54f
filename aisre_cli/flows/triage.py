"""Triage as one use case: sources + memory + runbook matcher + incident recording.

Every front end that triages goes through `TriageFlow`: `aisre triage`, the console,
`aisre runbook run --alert`, `aisre escalate`, `aisre bundle capture` and `aisre
incident replay`. Before this module each of them wired the core by hand, and they
disagreed (the escalate hand-off listed no runbooks, `runbook run --alert` fed
governance confidences without memory priors, the console grouped the inbox in its
own way). Now there is one composition, so the same alert gives the same hypotheses,
incidents and runbooks everywhere.

The flow also owns the triage's clock: `TriageOptions.at` moves "now" into the past
(the alerts that had fired by then, a window that ends then, no data after it), and
`lookback_s`/`budget_s`/`record` are the per-run knobs behind `--window`, `--budget`
and `--no-record`.

Talk (a broken runbook folder, an unusable memory) is returned as `notes`, never
printed: printing is the UI's job.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aisre_cli.errors import AisreError, SourceError, UsageError
from aisre_cli.model import (
    Alert,
    Change,
    Context,
    Hypothesis,
    SourceNote,
    Topology,
    TriageReport,
    Window,
    head_alert,
    severity_rank,
)
from aisre_cli.settings.config import Profile
from aisre_cli.sources.registry import SourceSet

if TYPE_CHECKING:
    from aisre_cli.investigate.rank import Weights
    from aisre_cli.investigate.triage import MemoryAdvisor
    from aisre_cli.memory.store import Incident as MemoryIncident
    from aisre_cli.remediate.matching import Matchable
    from aisre_cli.remediate.runbook import Runbook

Clock = Callable[[], datetime]
Progress = Callable[[SourceNote], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------ options


@dataclass(frozen=True)
class TriageOptions:
    """Per-run knobs (`aisre triage --at/--window/--budget/--no-record`)."""

    at: datetime | None = None
    """Triage as of this moment: alerts that had started by then, data up to then."""
    lookback_s: float | None = None
    """How far before the alert's start to gather (default: the profile's)."""
    budget_s: float | None = None
    """The whole triage's time budget (default: the profile's `gather_budget_s`)."""
    record: bool = True
    """Record (or update) the incident in the memory."""


_RELATIVE = re.compile(r"^-?\s*(\d+)\s*(s|m|h|d)\s*(ago)?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_at(text: str, now: datetime) -> datetime:
    """`--at`: RFC 3339 (`2025-03-11T12:40:00Z`), unix seconds, or a time ago (`90m`,
    `-2h`, `1d ago`). Never in the future."""
    from aisre_cli.sources.timeparse import TimestampError, to_unix

    s = text.strip()
    m = _RELATIVE.match(s)
    if m:
        at = now - timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2)])
    else:
        try:
            at = datetime.fromtimestamp(to_unix(s), UTC)
        except (TimestampError, ValueError, OverflowError):
            raise UsageError(
                f"--at {text!r}: not a time",
                hint="give RFC 3339 (2025-03-11T12:40:00Z), unix seconds, or a time ago (90m, 2h)",
            ) from None
    if at > now + timedelta(seconds=5):
        raise UsageError(
            f"--at {text!r} is in the future", hint="--at moves the triage into the past"
        )
    return at


def parse_window(text: str) -> float:
    """`--window`: how much history before the alert to gather (`30m`, `2h`)."""
    m = _RELATIVE.match(text.strip())
    if not m or text.strip().startswith("-") or int(m.group(1)) == 0:
        raise UsageError(
            f"--window {text!r}: not a duration", hint="e.g. --window 30m, --window 2h"
        )
    return float(int(m.group(1)) * _UNIT_S[m.group(2)])


# ------------------------------------------------------------------ inbox


@dataclass
class AlertGroup:
    """One incident of the inbox: related alerts, oldest first."""

    alerts: list[Alert]

    @property
    def head(self) -> Alert:
        """The alert that stands for the incident (`model.head_alert`): firing before
        silenced, then the most severe, then the oldest."""
        return head_alert(self.alerts)

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


@dataclass
class AlertList:
    """Every alert the sources returned (deduplicated), and their grouping."""

    alerts: list[Alert]
    """All alerts, suppressed ones included (triage may resolve any of them)."""
    shown: list[Alert]
    groups: list[AlertGroup]
    notes: list[SourceNote]


def group_incidents(
    alerts: Sequence[Alert], topology: Topology | None = None, *, show_all: bool = False
) -> list[AlertGroup]:
    """The one inbox grouping `aisre alerts` and the console share: silenced and
    inhibited alerts hidden unless `show_all`, related alerts (time, labels, service,
    alertname, topology neighbours) grouped, the most severe and newest first."""
    from aisre_cli.investigate.gather import group_alerts

    shown = (
        list(alerts)
        if show_all
        else [a for a in alerts if not a.silenced_by and not a.inhibited_by]
    )
    groups = [AlertGroup(list(g)) for g in group_alerts(shown, topology=topology)]
    groups.sort(
        key=lambda g: (
            severity_rank(g.head.severity),
            -max(a.starts_at for a in g.alerts).timestamp(),
        )
    )
    return groups


# ------------------------------------------------------------------ results


@dataclass
class Triage:
    """One triage: the report, the Context it came from (for look-ups) and what the
    flow did around it."""

    report: TriageReport
    ctx: Context
    load_runbooks: Callable[[], list[Runbook]] = field(default=list, repr=False)
    """The full runbooks (validated), for front ends that run them: loaded on first
    use of `runbooks`, because matching needs only their ids and `applies_to`."""
    incident: MemoryIncident | None = None
    """The memory's incident for this alert (None: --no-record or no memory)."""
    notes: list[str] = field(default_factory=list)
    """Talk for the UI: the memory or the runbooks could not be used."""
    at: datetime | None = None
    _runbooks: dict[str, Runbook] | None = field(default=None, init=False, repr=False)

    @property
    def runbooks(self) -> dict[str, Runbook]:
        """Every loaded runbook by id (the report's hypotheses name the matching ones)."""
        if self._runbooks is None:
            self._runbooks = {rb.id: rb for rb in self.load_runbooks()}
        return self._runbooks


class _TeamChanges:
    """The team store's change feed as a change source, opened with the flow's memory
    (one connection for both); unreachable, it is a failed source like any other."""

    name = "team-changes"

    def __init__(self, flow: TriageFlow) -> None:
        self.flow = flow

    def fetch_changes(self, start: datetime, end: datetime) -> list[Change]:
        memory = self.flow.memory()
        store = getattr(memory, "store", None)
        if store is None:
            raise SourceError("the team memory is unavailable: no change feed from it")
        try:
            changes: list[Change] = store.changes(start, end)
        except AisreError as err:
            raise SourceError(err.message, hint=err.hint) from None
        return changes


class TriageFlow:
    """Profile + sources for one session, and the triage use case over them."""

    def __init__(
        self,
        profile: Profile,
        sources: SourceSet,
        *,
        memory: MemoryAdvisor | None | bool = True,
        runbooks: list[Runbook] | None = None,
        weights: Weights | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """`memory`: True opens the default incident memory (a broken one becomes a
        note), False/None triages without memory, or an advisor to use."""
        self.profile = profile
        self.sources = sources
        self.clock = clock
        self.weights = weights
        self.notes: list[str] = []
        self._memory_arg = memory
        self._memory: MemoryAdvisor | None = None
        self._memory_opened = False
        self._books = runbooks
        self._refs: Sequence[Matchable] | None = runbooks
        self.runbook_error: str | None = None
        self._alerts: list[Alert] = []
        self._topology: Topology | None = None
        if profile.memory_url and sources.bundle is None and memory is not False:
            # team mode: what CI recorded with `aisre change record` is in the team store
            self.sources = replace(sources, changes=[*sources.changes, _TeamChanges(self)])

    # ------------------------------------------------------------ collaborators

    def memory(self) -> MemoryAdvisor | None:
        if not self._memory_opened:
            self._memory_opened = True
            arg = self._memory_arg
            if arg is True:
                from aisre_cli.memory.store import TRIAGE_LOCK_WAIT_MS, open_advisor

                try:
                    # a memory another aisre process holds costs a few seconds and a
                    # note (MemoryLocked, below), never the answer: opening, the priors
                    # and the incident write all wait this long at most
                    self._memory = open_advisor(
                        profile=self.profile, busy_timeout_ms=TRIAGE_LOCK_WAIT_MS
                    )
                    if self._memory.store.found_empty:
                        self.notes.append(
                            f"incident memory: {self._memory.store.location.display} was an"
                            " empty file (0 bytes), so a new memory was started in it: past"
                            " incidents are not there (restore a backup, or a team export"
                            " with `aisre incident import FILE`)"
                        )
                    from aisre_cli.memory.teamstore import OfflineStore, TeamStore, store_notes

                    # team mode: replayed spooled writes. An unreachable store is told once
                    # by what it affects: the report's memory note (no past incidents read)
                    # and the incident record (kept in the spool), not a third time here.
                    if not isinstance(self._memory.store, OfflineStore):
                        self.notes.extend(store_notes(self._memory.store))
                    elif self._memory.store.refused:  # the record waits for a fix, not a server
                        store = self._memory.store
                        self.notes.append(
                            f"incident memory unavailable: {store.reason}"
                            + (f"; {store.hint}" if store.hint else "")
                        )
                    if isinstance(self._memory.store, TeamStore):  # the server answers
                        from aisre_cli.memory.spool import audit_spool, store_key

                        # audit records kept (for this store) while it was down are
                        # chained now; the common case (none) imports no governance code
                        key = store_key(self._memory.store.location)
                        if audit_spool(key).has_pending():
                            from aisre_cli.govern.team import drain_audit

                            chained = drain_audit(self.profile)
                            if chained:
                                self.notes.append(chained)
                except AisreError as err:  # locked, bad password, schema newer than aisre
                    from aisre_cli.memory.store import MemoryLocked

                    # locked: the page goes on; how to free the memory can wait
                    told = err.hint and not isinstance(err, MemoryLocked)
                    hint = f"; {err.hint}" if told else ""
                    self.notes.append(
                        f"incident memory unavailable: {err.message}; this triage is not"
                        f" recorded{hint}"
                    )
            elif arg is not False and arg is not None:
                self._memory = arg
        return self._memory

    def runbooks(self) -> list[Runbook]:
        """The profile's runbooks, validated in full (parsed, models built, every step
        checked against the capability registry)."""
        if self._books is None:
            from aisre_cli.remediate.matching import load_runbooks

            told = self._refs is not None  # `runbook_refs` already gave the notes
            try:
                self._books = load_runbooks(
                    self.profile,
                    on_skip=None if told else (lambda m: self._skipped(m)),
                    trusted=self._trusted(),
                )
            except AisreError as err:  # a broken runbook folder must not stop a triage
                if not told:
                    self.runbook_error = err.message
                    self.notes.append(f"runbooks not loaded: {err.message}")
                self._books = []
        return self._books

    def _trusted(self) -> tuple[str, ...]:
        """The plugin capabilities the profile's policy trusts (a runbook verifying with
        an untrusted one is invalid). A policy that cannot be read trusts none here:
        the triage goes on, and `aisre runbook run` reports the policy."""
        from aisre_cli.govern.policy import load_policy

        try:
            return tuple(load_policy(self.profile.policy_file).trusted_plugin_capabilities)
        except AisreError:
            return ()

    def runbook_refs(self) -> Sequence[Matchable]:
        """What matching reads of the runbooks (id, applies_to): the full runbooks when
        loaded, else the cache of their last full validation (`load_for_matching`),
        which a triage reads without parsing YAML or loading the capability registry."""
        if self._books is not None:
            return self._books
        if self._refs is None:
            from aisre_cli.remediate.matching import load_for_matching

            try:
                self._refs = load_for_matching(
                    self.profile, on_skip=self._skipped, trusted=self._trusted
                )
            except AisreError as err:  # a broken runbook folder must not stop a triage
                self.runbook_error = err.message
                self.notes.append(f"runbooks not loaded: {err.message}")
                self._refs = []
        return self._refs

    def _skipped(self, message: str) -> None:
        self.notes.append(f"runbook skipped: {message}")

    # ------------------------------------------------------------ alerts

    def list_alerts(
        self, progress: Progress | None = None, *, at: datetime | None = None
    ) -> AlertList:
        """Alerts from every alert source, deduplicated, and the inbox grouping."""
        from aisre_cli.investigate.gather import list_alerts

        alerts, notes = list_alerts(self.sources, self.profile.gather_budget_s, progress)
        if at is not None:
            alerts = [a for a in alerts if a.starts_at <= at]
        self._alerts = alerts
        topo = self.topology()
        groups = group_incidents(alerts, topo)
        shown = [a for g in groups for a in g.alerts]
        return AlertList(alerts, shown, groups, notes)

    def inbox(self, progress: Progress | None = None, *, show_all: bool = False) -> AlertList:
        al = self.list_alerts(progress)
        if show_all:
            al.groups = group_incidents(al.alerts, self._topology, show_all=True)
            al.shown = [a for g in al.groups for a in g.alerts]
        return al

    def topology(self) -> Topology | None:
        """The sources' topology (merged), to group alerts of related services."""
        if self._topology is None:
            merged = Topology()
            for src in self.sources.topology:
                try:
                    topo = src.fetch_topology()
                except AisreError:
                    continue
                for svc, deps in topo.depends_on.items():
                    cur = merged.depends_on.setdefault(svc, [])
                    cur.extend(d for d in deps if d not in cur)
            self._topology = merged
        return self._topology if self._topology.depends_on else None

    def focus_alert(self) -> str | None:
        b = self.sources.bundle
        return b.meta.focus_alert if b is not None else None

    def _resolve_focus(self, alerts: list[Alert], query: str) -> Alert:
        """The bundle's focus alert: when it names no alert (or several), the error is
        the bundle's, and so is the hint (not "run aisre alerts")."""
        from aisre_cli.investigate.gather import resolve_alert
        from aisre_cli.sources.bundle import focus_hint, focus_problem

        try:
            return resolve_alert(alerts, query)
        except UsageError as exc:
            b = self.sources.bundle
            if b is None:
                raise
            raise UsageError(
                f"{b.root}/bundle.yaml: {focus_problem(alerts, query) or exc.message}",
                hint=focus_hint(b.root),
            ) from None

    def _note_namesakes(self, alerts: list[Alert], query: str, target: Alert) -> None:
        """Say which alert a name chose when the rule fired on several services."""
        others = [a for a in alerts if a.name == query.strip() and a.id != target.id]
        if target.name != query.strip() or not others:
            return
        listed = ", ".join(f"{a.short_id} on {a.service or '?'}" for a in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        self.notes.append(
            f"{len(others) + 1} alerts are named {target.name}: triaging the one that paged"
            f" (firing, then the most severe, then the oldest: {target.short_id},"
            f" {target.severity}, on {target.service or '?'}); the others: {listed}{more}."
            " Give an alert id to choose another."
        )

    def resolve(self, query: str | None) -> Alert:
        """The alert `query` names (the bundle's focus alert when None)."""
        from aisre_cli.investigate.gather import alerts_command, no_alert_id, resolve_alert

        if not self._alerts:
            self.list_alerts()
        if query is None:
            query = self.focus_alert()
            if not query:
                raise no_alert_id(self.sources)
            return self._resolve_focus(self._alerts, query)
        return resolve_alert(self._alerts, query, alerts_command(self.sources))

    # ------------------------------------------------------------ triage

    def collect(
        self,
        alert: Alert | str | None,
        options: TriageOptions | None = None,
        progress: Progress | None = None,
    ) -> Context:
        """Resolve the alert and gather its Context (the first half of a triage, and
        all of `aisre bundle capture`): within the budget, up to "now" or `--at`."""
        from aisre_cli.investigate.gather import (
            alerts_command,
            gather,
            list_alerts,
            no_alert_id,
            resolve_alert,
        )

        opts = options or TriageOptions()
        p = self.profile
        t0 = time.monotonic()
        budget = opts.budget_s if opts.budget_s is not None else p.gather_budget_s
        deadline = t0 + budget
        now = opts.at or self.clock()
        notes: list[SourceNote] = []
        if isinstance(alert, Alert) and (self._alerts or opts.at is None):
            target = alert
            alerts = self._alerts or [alert]
        else:
            every, notes = list_alerts(self.sources, budget, progress)
            alerts = every
            if opts.at is not None:  # what had fired by then
                alerts = [a for a in every if a.starts_at <= opts.at]
            self._alerts = alerts
            query = alert.id if isinstance(alert, Alert) else alert
            focused = query is None
            if query is None:
                query = self.focus_alert()
                if not query:
                    raise no_alert_id(self.sources)
            if not alerts:
                failed = [n for n in notes if n.status == "failed"]
                if failed:
                    raise SourceError(
                        "no alert source answered: " + "; ".join(n.render() for n in failed),
                        hint="check the sources with `aisre doctor`",
                    )
                if opts.at is None or not every:
                    raise UsageError("there are no alerts to triage", hint="nothing is firing")
            target = (
                self._resolve_focus(every, query)
                if focused
                else resolve_alert(every, query, alerts_command(self.sources))
            )
            self._note_namesakes(every, query, target)
        if opts.at is not None and target.starts_at > opts.at:
            raise UsageError(
                f"alert {target.short_id} started at {_iso(target.starts_at)}, after --at"
                f" {_iso(opts.at)}",
                hint="--at must be at or after the alert's start",
            )
        lookback = opts.lookback_s if opts.lookback_s is not None else p.lookback_minutes * 60
        ctx = gather(
            self.sources,
            target,
            alerts,
            lookback_s=lookback,
            lookahead_s=p.lookahead_minutes * 60,
            budget_s=max(0.5, deadline - time.monotonic()),
            progress=progress,
            now=now,
        )
        ctx.notes = [*notes, *ctx.notes]
        if opts.lookback_s is not None and self.sources.bundle is not None:
            w = self.sources.bundle.window
            ctx.notes.append(
                SourceNote(
                    "--window",
                    "skipped",
                    f"no effect on a bundle: it holds its own window,"
                    f" {_iso(w.start)} to {_iso(w.end)}",
                )
            )
        if opts.at is not None:
            cut_context(ctx, opts.at)
        return ctx

    def triage(
        self,
        alert: Alert | str | None,
        options: TriageOptions | None = None,
        progress: Progress | None = None,
    ) -> Triage:
        """Triage one alert: gather, analyze with memory priors, rank, match runbooks,
        then record the incident (unless `options.record` is off)."""
        from aisre_cli.investigate.rank import Weights
        from aisre_cli.investigate.triage import analyze_context, build_report
        from aisre_cli.remediate.matching import match_runbooks

        opts = options or TriageOptions()
        t0 = time.monotonic()
        ctx = self.collect(alert, opts, progress)
        p = self.profile
        w = self.weights or Weights.load()
        memory = self.memory()
        analysis = analyze_context(ctx, p, w, memory)
        books = self.runbook_refs()

        def matcher(h: Hypothesis, a: Alert) -> list[str]:
            return list(match_runbooks(h, a, books))

        report = build_report(analysis, w, matcher, time.monotonic() - t0)
        ask_for_params(report, books)
        if p.grafana is not None:
            from aisre_cli.investigate.links import add_links

            add_links(report, p.grafana, (ctx.window.start, ctx.window.end))
        out = Triage(report, ctx, self.runbooks, notes=list(self.notes), at=opts.at)
        self.notes.clear()
        if opts.record and memory is not None:
            recorder = getattr(memory, "record", None)
            if callable(recorder):
                try:
                    out.incident = recorder(report)
                except AisreError as err:  # memory is an extra: the report still stands
                    out.notes.append(f"incident not recorded: {err.message}")
        return out


def ask_for_params(report: TriageReport, books: Sequence[Matchable]) -> None:
    """When the verdict's next step runs a runbook whose required parameters the verdict
    cannot fill (`scale-out-saturation` needs `replicas`), the command it quotes asks
    for them (`--param replicas=VALUE`); pasted as it was, it stopped on "no value for
    parameter(s) replicas"."""
    from aisre_cli.remediate.facts import facts_from_report

    v = report.verdict
    top = v.hypotheses[0] if v.hypotheses else None
    if v.escalate or top is None or not top.runbooks:
        return
    rb_id = top.runbooks[0]
    cmd = f"aisre runbook run {rb_id} --alert {report.alert.short_id}"
    if f"`{cmd}`" not in v.next_step:
        return
    ref = next((b for b in books if b.id == rb_id), None)
    needs = ref.needs if ref is not None else {}
    facts = facts_from_report(report, top)
    missing = [name for name, fact in needs.items() if not (fact and fact in facts)]
    if missing:
        asks = " ".join(f"--param {name}=VALUE" for name in missing)
        v.next_step = v.next_step.replace(
            f"`{cmd}`", f"`{cmd} {asks}` (the verdict does not give {', '.join(missing)})"
        )


def cut_context(ctx: Context, end: datetime) -> None:
    """Drop everything that lies after `end` (the `--at` moment): series points, log
    records, changes, spans and alerts, and end the window there."""
    from aisre_cli.model import LogTable

    t = end.timestamp()
    for s in ctx.series:
        keep = [i for i, ts in enumerate(s.timestamps) if ts <= t]
        if len(keep) != len(s.timestamps):
            s.timestamps = [s.timestamps[i] for i in keep]
            s.values = [s.values[i] for i in keep]
    ctx.series = [s for s in ctx.series if s.timestamps]
    logs = ctx.logs
    if any(ts > t for ts in logs.ts):
        cut = LogTable(files=list(logs.files), query=dict(logs.query), notes=list(logs.notes))
        for i in range(len(logs)):
            if logs.ts[i] <= t:
                cut.ts.append(logs.ts[i])
                cut.service.append(logs.service[i])
                cut.level.append(logs.level[i])
                cut.msg.append(logs.msg[i])
                cut.file_idx.append(logs.file_idx[i])
                cut.line.append(logs.line[i])
        ctx.logs = cut
    ctx.changes = [c for c in ctx.changes if c.ts <= end]
    ctx.spans = [s for s in ctx.spans if s.start <= t]
    ctx.alerts = [a for a in ctx.alerts if a.starts_at <= end]
    if ctx.window.end > end:
        ctx.window = Window(start=min(ctx.window.start, end), end=end)


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat().replace("+00:00", "Z")
