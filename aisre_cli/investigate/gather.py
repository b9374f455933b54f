"""Gather: for one alert, fetch everything in a window around its onset into a Context.

Every configured source is asked concurrently (one thread each: the connectors are
blocking httpx clients, and the work is I/O bound) inside one overall time budget.
A source that fails, times out or answers partially becomes a `SourceNote`; the
triage always completes with what arrived. `progress` (optional) is called with a
note as each source finishes so the UI can show live status.

The threads are daemon threads: a source still running at the budget's end (a plugin
that never returns, a read that never ends) is left behind and never holds the
process's exit. What a plugin's source answers is checked against the domain models
before it is used (`plugin_answers.guarded`): garbage fails that source alone, in one line.
"""

from __future__ import annotations

import inspect
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from aisre_cli.errors import AisreError, Cancelled, UsageError
from aisre_cli.investigate.plugin_answers import guarded
from aisre_cli.model import (
    Alert,
    Change,
    Context,
    Event,
    LogTable,
    Series,
    SourceNote,
    Span,
    Topology,
    Window,
    page_among,
)
from aisre_cli.settings.plugins import describe, one_line, plugin_of
from aisre_cli.sources import TraceSource
from aisre_cli.sources.registry import SourceSet

if TYPE_CHECKING:
    from aisre_cli.settings.config import Profile

ProgressFn = Callable[[SourceNote], None]
M = TypeVar("M", bound=BaseModel)


# ------------------------------------------------------------------ alerts


def dedupe_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    """Merge the same alert seen through several sources (fingerprint or alias keys).

    An alert whose keys name several alerts already listed (a PagerDuty alert for an
    Alertmanager group, whose `fingerprints` detail lists each member) merges into the
    first and marks the others as seen through its sources too; no key that already
    names one alert becomes an alias of another (the alias would make `aisre triage
    FINGERPRINT` resolve to the wrong alert)."""
    by_key: dict[str, Alert] = {}
    out: list[Alert] = []
    for a in alerts:
        keys = [a.id, *a.aliases]
        hits: list[Alert] = []
        for k in keys:
            h = by_key.get(k)
            if h is not None and not any(h is x for x in hits):
                hits.append(h)
        if not hits:
            merged = a.model_copy(deep=True)
            if not merged.sources:
                merged.sources = [a.source]
            out.append(merged)
            for k in keys:
                by_key[k] = merged
            continue
        hit = hits[0]
        for k in keys:
            if by_key.get(k, hit) is not hit:
                continue  # another alert's id or alias
            if k not in hit.aliases and k != hit.id:
                hit.aliases.append(k)
            by_key[k] = hit
        if a.starts_at < hit.starts_at:
            hit.starts_at = a.starts_at
        for h in hits:
            for src in a.sources or [a.source]:
                if src not in h.sources:
                    h.sources.append(src)
            for key, value in a.labels.items():
                h.labels.setdefault(key, value)
            if h.service is None:
                h.service = a.service
    return out


def group_alerts(
    alerts: Sequence[Alert], window_s: float = 1800.0, topology: Topology | None = None
) -> list[list[Alert]]:
    """Group alerts into incidents: close in time and sharing an `incident`/`group`/
    `system`/`cluster` label, a service or an alertname, or (with a topology) on
    services within two calls of each other. Alerts keep their order inside a group."""
    near: dict[str, set[str]] = {}
    if topology is not None and topology.depends_on:
        for svc in topology.services():
            one = set(topology.callees(svc)) | set(topology.callers(svc))
            two = set(one)
            for x in one:
                two |= set(topology.callees(x)) | set(topology.callers(x))
            near[svc] = two
    groups: list[list[Alert]] = []
    for a in sorted(alerts, key=lambda x: x.starts_at):
        placed = False
        for g in groups:
            head = g[0]
            if abs((a.starts_at - head.starts_at).total_seconds()) > window_s:
                continue
            same_label = any(
                a.labels.get(k) and a.labels.get(k) == head.labels.get(k)
                for k in ("incident", "group", "system", "cluster")
            )
            related = any(
                (a.service and a.service == b.service)
                or a.name == b.name
                or (a.service and b.service and b.service in near.get(a.service, ()))
                for b in g
            )
            if same_label or related:
                g.append(a)
                placed = True
                break
        if not placed:
            groups.append([a])
    return groups


def alerts_command(sources: SourceSet | None) -> str:
    """The command that lists the alerts these sources see (a bundle's own, with
    `--bundle`: a bare `aisre alerts` would list the profile's)."""
    import shlex

    b = sources.bundle if sources is not None else None
    return f"aisre alerts --bundle {shlex.quote(str(b.root))}" if b is not None else "aisre alerts"


def no_alert_id(sources: SourceSet) -> UsageError:
    """The error for a triage given no alert id and nothing to fall back on."""
    hint = f"run `{alerts_command(sources)}` and pass an id or alertname"
    if sources.bundle is not None:
        return UsageError("no ALERT_ID given and the bundle names no focus_alert", hint=hint)
    return UsageError("no ALERT_ID given: it is required without --bundle", hint=hint)


def resolve_alert(alerts: Sequence[Alert], query: str, listing: str = "aisre alerts") -> Alert:
    """Find one alert by fingerprint or alias, alertname, or unique prefix (>= 4 chars)
    of its id or of one of its aliases: with Alertmanager down, the PagerDuty alert it
    paged is known by the fingerprint only as an alias. A name that several alerts
    carry (one rule firing on several services) names the one that paged
    (`model.page_among`: firing, most severe, oldest); alike in all three, it is
    ambiguous. The alert found
    remembers the id that names it alone among `alerts` (its `short_id`), so the hints
    built from it (`next: aisre escalate …`) resolve back to it."""
    from aisre_cli.model import short_ids

    def starts(a: Alert, prefix: str) -> bool:
        return any(k.startswith(prefix) for k in (a.id, *a.aliases))

    def found(a: Alert) -> Alert:
        a.remember_short_id(short_ids(alerts)[a.id])
        return a

    q = query.strip()
    if not q:
        raise UsageError("empty alert id", hint=f"run `{listing}` to list alert ids")
    exact = [a for a in alerts if a.id == q or q in a.aliases]
    if exact:
        return found(exact[0])
    named = [a for a in alerts if a.name == q]
    page = page_among(named)
    if page is not None:  # one rule fired on several services: the one that paged
        return found(page)
    prefix = [a for a in alerts if len(q) >= 4 and starts(a, q)] if not named else []
    candidates = named or prefix
    if len(candidates) == 1:
        return found(candidates[0])
    if not candidates:
        hint = f"run `{listing}` to list alert ids"
        if len(q) < 4 and any(starts(a, q) for a in alerts):
            hint = "an id prefix needs at least 4 characters"
        raise UsageError(f"no alert matches {q!r}", hint=hint)
    shown = short_ids(alerts)
    listing = ", ".join(f"{shown[a.id]} ({a.name} on {a.service or '?'})" for a in candidates[:8])
    raise UsageError(
        f"{q!r} is ambiguous: {len(candidates)} alerts match: {listing}",
        hint="give a longer prefix, or one of the ids listed",
    )


class _Partial:
    """A job's value plus the partial-data notes its source reported (`drain_notes`)."""

    __slots__ = ("notes", "value")

    def __init__(self, value: Any, notes: list[SourceNote]):
        self.value = value
        self.notes = notes


def _with_notes(src: object, fn: Callable[[], Any]) -> Callable[[], Any]:
    """Wrap a source call so notes the source collected (truncation, line budget, a
    skipped page) travel with its result and mark the job `partial`."""
    plugin = plugin_of(src) is not None

    def drained() -> list[Any]:
        drain = getattr(src, "drain_notes", None)
        if not callable(drain):
            return []
        if not plugin:
            return list(drain())
        try:
            return list(drain())
        except Exception:  # noqa: BLE001 - a plugin's broken notes: its answer still counts
            return []

    def run() -> Any:
        drained()  # forget notes of an earlier call on the same object
        value = fn()
        extra = drained()
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], list):
            extra.extend(n for n in value[1] if isinstance(n, SourceNote))
            value = (value[0], [])
        if plugin:  # only a note's detail is shown: one printable line, or no note
            extra = [
                SourceNote(n.source, "partial", one_line(n.detail, 200))
                for n in extra
                if isinstance(n, SourceNote) and isinstance(n.detail, str)
            ]
        return _Partial(value, extra) if extra else value

    return run


# ------------------------------------------------------------------ running the jobs


SIGNAL_SLICE_S = 0.25
"""Longest the main thread blocks at once while sources run (signals are seen by then)."""

GATHER_WORKERS = 8
"""Sources asked at once; the others start as these finish."""


class _Workers:
    """Daemon threads that run the gather's jobs and put each outcome on `done`.

    Not a `ThreadPoolExecutor`: the interpreter joins its workers when it exits, so a
    source that never answers (a plugin's endless wait, a read that never ends) would
    keep the process alive after the triage had printed its answer. A daemon thread
    is left behind at exit instead, with the job it is stuck in."""

    def __init__(self, jobs: Sequence[Callable[[], Any]], workers: int) -> None:
        self.done: queue.SimpleQueue[tuple[int, Any, BaseException | None]] = queue.SimpleQueue()
        self._todo: queue.SimpleQueue[tuple[int, Callable[[], Any]]] = queue.SimpleQueue()
        self._stopped = threading.Event()
        for item in enumerate(jobs):
            self._todo.put(item)
        for n in range(min(workers, len(jobs))):
            threading.Thread(target=self._work, name=f"gather-{n}", daemon=True).start()

    def _work(self) -> None:
        while not self._stopped.is_set():
            try:
                i, fn = self._todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcome: tuple[int, Any, BaseException | None] = (i, fn(), None)
            except BaseException as exc:  # noqa: BLE001 - a SystemExit too: a failed job
                outcome = (i, None, exc)
            self.done.put(outcome)

    def stop(self) -> None:
        """Start no further job (one already running is left to end on its own)."""
        self._stopped.set()


def _run_with_budget(
    jobs: list[tuple[str, Callable[[], Any]]],
    budget_s: float,
    progress: ProgressFn | None,
) -> tuple[dict[str, Any], list[SourceNote]]:
    results: dict[str, Any] = {}
    notes: list[SourceNote] = []
    if not jobs:
        return results, notes
    from aisre_cli.sources.tracing import GATHER_DEADLINE

    started = time.monotonic()
    deadline = started + budget_s

    def bounded(fn: Callable[[], Any]) -> Callable[[], Any]:
        # every source's own clock (`tracing.Clock`) ends with the gather: a source
        # built with the profile's budget must not outlast `triage --budget`
        def run() -> Any:
            token = GATHER_DEADLINE.set(deadline)
            try:
                return fn()
            finally:
                GATHER_DEADLINE.reset(token)

        return run

    keys = [key for key, _ in jobs]
    pending = set(range(len(jobs)))
    workers: _Workers | None = None
    try:
        # inside the `try`: a signal that lands once the first source is on the wire,
        # before the collecting starts, is still a cancelled gather and says so
        workers = _Workers([bounded(fn) for _, fn in jobs], GATHER_WORKERS)
        _collect(keys, pending, workers, deadline, started, progress, results, notes)
    except KeyboardInterrupt:
        running = sorted(keys[i] for i in pending)
        still = f" ({len(running)} source(s) still running: {', '.join(running)})"
        raise Cancelled(
            f"cancelled the gather after {time.monotonic() - started:.1f}s"
            + (still if running else "")
        ) from None
    finally:
        # Never wait for a hung source: its daemon thread ends (or times out) on its own,
        # or is abandoned when the process exits.
        if workers is not None:
            workers.stop()
    for i in sorted(pending):
        note = SourceNote(
            keys[i], "failed", f"no answer within the {budget_s:.1f}s budget", budget_s
        )
        notes.append(note)
        if progress:
            progress(note)
    return results, notes


def _collect(
    keys: list[str],
    pending: set[int],
    workers: _Workers,
    deadline: float,
    started: float,
    progress: ProgressFn | None,
    results: dict[str, Any],
    notes: list[SourceNote],
) -> None:
    """Take the jobs' outcomes as they arrive, until all did or the deadline passed
    (`pending` keeps the jobs that gave no answer)."""
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        # Wait in short slices: a signal the kernel hands to a worker thread (blocked in a
        # socket read) does not wake the main thread's wait, so Python would only run
        # the Ctrl-C handler when this wait ends, up to the whole budget later.
        try:
            i, value, exc = workers.done.get(timeout=min(remaining, SIGNAL_SLICE_S))
        except queue.Empty:
            continue
        pending.discard(i)
        key = keys[i]
        took = time.monotonic() - started
        if exc is None:
            if isinstance(value, _Partial):
                results[key] = value.value
                detail = "; ".join(n.detail for n in value.notes[:3])
                if len(value.notes) > 3:
                    detail += f"; +{len(value.notes) - 3} more"
                note = SourceNote(key, "partial", detail, took)
            else:
                results[key] = value
                note = SourceNote(key, "ok", "", took)
        elif isinstance(exc, AisreError):
            note = SourceNote(key, "failed", exc.message, took)
        else:
            note = SourceNote(key, "failed", describe(exc), took)
        notes.append(note)
        if progress:
            progress(note)


def list_alerts(
    sources: SourceSet, budget_s: float = 20.0, progress: ProgressFn | None = None
) -> tuple[list[Alert], list[SourceNote]]:
    if not sources.alerts:
        from aisre_cli.errors import ConfigError

        raise ConfigError(
            "this profile has no alert source (neither alertmanager nor pagerduty is configured),"
            " so there is no alert to list",
            hint="add one with `aisre config edit`, or read a bundle with --bundle DIR",
        )
    jobs = [
        (f"{s.name} alerts", _with_notes(s, guarded(s, "alerts", s.list_alerts)))
        for s in sources.alerts
    ]
    if sources.bundle is not None:
        # A malformed bundle is the user's input error (exit 2), not a source outage.
        results, notes = _run_serial([(f"{s.name} alerts", s.list_alerts) for s in sources.alerts])
    else:
        results, notes = _run_with_budget(jobs, budget_s, progress)
    merged: list[Alert] = []
    for key, _ in jobs:
        merged.extend(results.get(key, []))
    return dedupe_alerts(merged), notes


def live_window(
    alert: Alert, lookback_s: float, lookahead_s: float, now: datetime | None = None
) -> Window:
    """[start - lookback, start + lookahead], clamped so it ends no later than `now`."""
    now = now or datetime.now(UTC)
    at = alert.starts_at if alert.starts_at.tzinfo else alert.starts_at.replace(tzinfo=UTC)
    end = min(at + timedelta(seconds=lookahead_s), now)
    start = min(at - timedelta(seconds=lookback_s), end - timedelta(seconds=60))
    return Window(start=start, end=end)


def gather_for(
    sources: SourceSet,
    alert: Alert,
    alerts: list[Alert],
    profile: Profile,
    *,
    budget_s: float | None = None,
    progress: ProgressFn | None = None,
) -> Context:
    """`gather` over the profile's window (its lookback and lookahead) within its gather
    budget, or `budget_s` when the caller has less time left."""
    return gather(
        sources,
        alert,
        alerts,
        lookback_s=profile.lookback_minutes * 60,
        lookahead_s=profile.lookahead_minutes * 60,
        budget_s=profile.gather_budget_s if budget_s is None else budget_s,
        progress=progress,
    )


def gather(
    sources: SourceSet,
    alert: Alert,
    alerts: list[Alert],
    *,
    lookback_s: float = 3600.0,
    lookahead_s: float = 900.0,
    budget_s: float = 20.0,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
) -> Context:
    """Fetch metrics, logs, changes, topology and traces around the alert's start.

    A live window never reaches past `now` (default: the moment of the call): a query
    for the future would get Prometheus's last sample repeated for five minutes."""
    if sources.bundle is not None:
        window = sources.bundle.window
    else:
        window = live_window(alert, lookback_s, lookahead_s, now)
    start, end = window.start, window.end
    jobs: list[tuple[str, Callable[[], Any]]] = []
    merge: dict[str, Callable[[Context, Any], None]] = {}  # job → how its result joins

    def job(key: str, fn: Callable[[], Any], into: Callable[[Context, Any], None]) -> None:
        jobs.append((key, fn))
        merge[key] = into

    # `plugin_answers.guarded`: a plugin's answer is checked before the merge (and, for a topology,
    # before a trace source reads it); a built-in's call is left as it is
    for ms in sources.metrics:
        fetch = guarded(ms, "metrics", partial(ms.fetch_series, start, end, None))
        job(f"{ms.name} metrics", fetch, _merge_metrics)
    for ls in sources.logs:
        fetch = guarded(ls, "logs", partial(ls.fetch_logs, start, end, None))
        job(f"{ls.name} logs", fetch, _merge_logs)
    for cs in sources.changes:
        fetch = guarded(cs, "changes", partial(cs.fetch_changes, start, end))
        job(f"{cs.name} changes", fetch, _merge_changes)
    topo = _TopologyWatch(len(sources.topology))
    for ts in sources.topology:
        fetch = topo.wrap(guarded(ts, "topology", ts.fetch_topology))
        job(f"{ts.name} topology", fetch, _merge_topology)
    wait_topo = min(TOPOLOGY_WAIT_S, budget_s * 0.1)
    ends = time.monotonic() + budget_s
    for tr in sources.traces:
        spans = partial(_fetch_spans, tr, start, end, alert.service, topo, wait_topo, ends)
        job(f"{tr.name} traces", guarded(tr, "traces", spans), _merge_spans)
    for ev in sources.events:
        fetch = guarded(ev, "events", partial(ev.fetch_events, start, end, None))
        job(f"{ev.name} events", fetch, _merge_events)
    if sources.bundle is not None:
        # One local directory: threads buy nothing and would only interleave errors.
        results, notes = _run_serial(jobs)
    else:
        owners: list[object] = [*sources.metrics, *sources.logs, *sources.changes]
        owners += [*sources.topology, *sources.traces, *sources.events]
        jobs = [(key, _with_notes(src, fn)) for (key, fn), src in zip(jobs, owners, strict=True)]
        results, notes = _run_with_budget(jobs, budget_s, progress)

    ctx = Context(alert=alert, alerts=alerts, window=window, notes=notes)
    if sources.bundle is not None:
        ctx.bundle_id = sources.bundle.meta.id
        for text in sources.bundle.meta.capture_notes():
            # a replay is as partial as the capture was: say what it missed
            ctx.notes.append(SourceNote("bundle", "partial", f"when captured: {text}"))
    for key, value in results.items():
        merge[key](ctx, value)
    return ctx


TOPOLOGY_WAIT_S = 2.0
"""Longest a trace source waits for the topology to name the alert's neighbours."""


class _TopologyWatch:
    """The topologies as they arrive, so a trace source can ask for the alert's
    neighbours: it waits (briefly) until every topology source has answered."""

    def __init__(self, n: int) -> None:
        self._left = n
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.seen: list[Topology] = []
        if n == 0:
            self._done.set()

    def wrap(self, fn: Callable[[], Topology]) -> Callable[[], Topology]:
        def run() -> Topology:
            try:
                t = fn()
                with self._lock:
                    self.seen.append(t)
                return t
            finally:
                with self._lock:
                    self._left -= 1
                    if self._left <= 0:
                        self._done.set()

        return run

    def neighbours(self, service: str, wait_s: float) -> set[str]:
        """The services that call or are called by `service` in any topology seen."""
        self._done.wait(max(0.0, wait_s))
        with self._lock:
            topos = list(self.seen)
        out: set[str] = set()
        for t in topos:
            out.update(t.callees(service))
            out.update(t.callers(service))
        return out


def trace_services(service: str | None, topo: _TopologyWatch, wait_s: float) -> set[str] | None:
    """What a trace source is asked for: the alert's service and its topology
    neighbours (waiting at most `wait_s` for the topology); None when the alert names
    no service (the source samples across services)."""
    if not service:
        return None
    return {service} | topo.neighbours(service, wait_s)


def accepts_services(fn: Callable[..., Any]) -> bool:
    """Whether a `fetch_spans` takes the `services` keyword (plugins written before it
    was added do not)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "services" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _fetch_spans(
    tr: TraceSource,
    start: datetime,
    end: datetime,
    service: str | None,
    topo: _TopologyWatch,
    wait_s: float,
    ends: float,
) -> list[Span]:
    from aisre_cli.sources.tracing import GATHER_DEADLINE

    services = trace_services(service, topo, wait_s)
    token = GATHER_DEADLINE.set(ends)  # a built-in backend fits its sampling in it
    try:
        if services is not None and accepts_services(tr.fetch_spans):
            return tr.fetch_spans(start, end, services=services)
        return tr.fetch_spans(start, end)
    finally:
        GATHER_DEADLINE.reset(token)


def _merge_metrics(ctx: Context, value: tuple[list[Series], list[SourceNote]]) -> None:
    series, extra = value
    ctx.series.extend(series)
    ctx.notes.extend(extra)


def _merge_logs(ctx: Context, table: LogTable) -> None:
    ctx.notes.extend(SourceNote("logs", "partial", n) for n in table.notes)
    if len(ctx.logs) == 0:
        ctx.logs = table
    else:
        ctx.logs.extend(table)


def _merge_changes(ctx: Context, changes: list[Change]) -> None:
    ctx.changes.extend(changes)


def _merge_topology(ctx: Context, topo: Topology) -> None:
    for svc, deps in topo.depends_on.items():
        cur = ctx.topology.depends_on.setdefault(svc, [])
        cur.extend(d for d in deps if d not in cur)


def _merge_spans(ctx: Context, spans: list[Span]) -> None:
    ctx.spans.extend(spans)


def _merge_events(ctx: Context, events: list[Event]) -> None:
    ctx.events.extend(events)


def _run_serial(
    jobs: list[tuple[str, Callable[[], Any]]],
) -> tuple[dict[str, Any], list[SourceNote]]:
    results: dict[str, Any] = {}
    notes: list[SourceNote] = []
    for key, fn in jobs:
        t0 = time.monotonic()
        results[key] = fn()  # bundle errors are the user's input errors: let them raise
        notes.append(SourceNote(key, "ok", "", time.monotonic() - t0))
    return results, notes
