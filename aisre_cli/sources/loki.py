"""Loki HTTP API: log lines for the incident window (LogSource).

`GET /loki/api/v1/query_range` with the profile's stream selector
(`{service="$service"}` by default). Loki caps every answer at `limit` lines, so the
window is read forward in pages: the next page starts at the timestamp of the last
line received, and the lines already seen at exactly that nanosecond are skipped
(the approach of `logcli --batch`, which neither loses nor duplicates lines that
share a timestamp). Reading stops at the line budget (`max_lines`) or the time
budget; either is reported as a partial note, never silently. Like the trace sources
(sources/tracing.py, `Clock`), no new page starts once `SOFT` of the time budget is
spent and every request ends by `HARD`, so the lines read reach the gather before it
gives up on the source. A line whose timestamp is not unix nanoseconds inside the
range asked for is skipped and counted in a partial note; a failed later page stops
reading with a partial note, keeping what was read.

Lines are stored column-wise in a `LogTable` like the bundle reader does. A JSON line
gives `level`/`msg` from its keys; any other line is kept whole as the message and its
level comes from the stream's `level`/`detected_level` label or is guessed from the
text. `LogTable.files` holds the LogQL selector of each stream so evidence can cite
`{service="checkout"}:17` (the 17th line of that stream in the window).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aisre_cli.errors import SourceError
from aisre_cli.model import LogTable, SourceNote
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS, LokiSource
from aisre_cli.sources.bundle import (
    FAILED_LEVELS,
    guess_level,
    normalize_level,
    service_of,
    with_failure,
)
from aisre_cli.sources.catalog import SourceEnv, SourceType
from aisre_cli.sources.http import Health, HttpSource, parse_model, probe, user_auth
from aisre_cli.sources.querylog import QueryStat, record
from aisre_cli.sources.tracing import Clock

PAGE_LIMIT = 5000
SLICES = 6
"""The window is read in this many time slices, each with a share of the line budget."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LokiStream(_Lenient):
    stream: dict[str, str] = Field(default_factory=dict)
    values: list[tuple[str, str]] = Field(default_factory=list)


class _StreamsData(_Lenient):
    resultType: str  # noqa: N815 (wire name)
    result: list[LokiStream] = Field(default_factory=list)


class LokiResponse(_Lenient):
    status: str
    data: _StreamsData


@dataclass
class _ReadState:
    table: LogTable
    stream_idx: dict[str, int]
    counters: dict[str, int]
    deadline: float
    """Every request ends by then (the clock's `hard`)."""
    soft: float
    """No new page starts after this."""
    pages: int = 0
    bad_ts: int = 0
    """Lines skipped because their timestamp is not nanoseconds in the page's range."""
    bad_ts_example: str = ""


class Loki(HttpSource):
    """A Loki HTTP API. Implements `LogSource`."""

    def __init__(
        self,
        cfg: LokiSource,
        *,
        service_labels: Sequence[str] = DEFAULT_SERVICE_LABELS,
        token: SecretStr | None = None,
        client: httpx.Client | None = None,
        budget_s: float = 20.0,
        name: str = "loki",
        page_limit: int = PAGE_LIMIT,
    ) -> None:
        token, auth_format = user_auth(cfg.username, token)
        super().__init__(
            name, cfg, token=token, client=client, budget_s=budget_s, auth_format=auth_format
        )
        self.cfg = cfg
        self.service_labels = tuple(service_labels)
        self.page_limit = page_limit

    def selector(self, services: set[str] | None) -> str:
        """The LogQL for the wanted services (all services: a regex that matches any)."""
        tpl = self.cfg.selector
        if services:
            rx = "|".join(re.escape(s) for s in sorted(services))
            if '="$service"' in tpl:
                return tpl.replace('="$service"', f'=~"{_q(rx)}"')
            return tpl.replace("$service", _q(rx))
        if '="$service"' in tpl:
            return tpl.replace('="$service"', '=~".+"')
        return tpl.replace("$service", ".+")

    def query_range(
        self, query: str, start_ns: int, end_ns: int, limit: int, deadline: float
    ) -> list[LokiStream]:
        params = {
            "query": query,
            "start": str(start_ns),
            "end": str(end_ns),
            "limit": str(limit),
            "direction": "forward",
        }
        resp = self.http.request(
            "GET", "/loki/api/v1/query_range", params=params, deadline=deadline, ok=(200,)
        )
        env = parse_model(LokiResponse, resp.json(self.name), self.name, "query_range")
        if env.status != "success":
            raise SourceError(f"{self.name}: query_range: status {env.status!r}")
        if env.data.resultType != "streams":
            raise SourceError(
                f"{self.name}: expected a streams result, got {env.data.resultType!r}",
                hint="the selector must be a log query, not a metric query",
            )
        return env.data.result

    def fetch_logs(self, start: datetime, end: datetime, services: set[str] | None) -> LogTable:
        """Read the window in `SLICES` time slices, each with its share of the line
        budget (what a sparse slice leaves over goes to the next), so a noisy hour
        before the incident cannot use up the budget before the onset is reached."""
        clock = Clock.start(self.http.budget_s)
        query = self.selector(services)
        self.last_query = query
        t0 = time.monotonic()
        st = _ReadState(LogTable(), {}, {}, clock.hard, clock.soft)
        start_ns = int(start.timestamp() * 1e9)
        end_ns = int(end.timestamp() * 1e9)
        n = max(1, min(SLICES, (end_ns - start_ns) // (60 * 10**9) or 1))
        bounds = [start_ns + (end_ns - start_ns) * i // n for i in range(n + 1)]
        # (slice index, resume cursor, lines seen at the cursor) of unfinished slices
        todo: list[tuple[int, int, set[tuple[str, str]]]] = [
            (i, bounds[i], set()) for i in range(n)
        ]
        stopped = False
        # Round robin until the budget is spent: each round gives every unfinished
        # slice an equal share of what is left (each capped slice read >= 1 line, so
        # this terminates).
        while todo and not stopped and len(st.table) < self.cfg.max_lines:
            unfinished: list[tuple[int, int, set[tuple[str, str]]]] = []
            for k, (i, cur, seen) in enumerate(todo):
                left = self.cfg.max_lines - len(st.table)
                if left <= 0:
                    unfinished.extend(todo[k:])
                    break
                share = max(1, left // (len(todo) - k))
                status, cur, seen = self._read_slice(query, cur, bounds[i + 1], share, st, seen)
                if status == "stop":
                    stopped = True
                    break
                if status == "capped":
                    unfinished.append((i, cur, seen))
            todo = unfinished
        if st.bad_ts:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"skipped {st.bad_ts} line{'s' if st.bad_ts != 1 else ''} whose timestamp"
                    " is not unix nanoseconds inside the queried range"
                    f" (first: {st.bad_ts_example!r})",
                )
            )
        if todo and not stopped:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"line budget of {self.cfg.max_lines} reached: {len(todo)} of {n} time"
                    f" slices sampled (from {_iso_ns(bounds[todo[0][0]])}; raise loki.max_lines)",
                )
            )
        for svc in set(st.table.service):
            st.table.query.setdefault(svc, self.selector({svc}))
        record(QueryStat(self.name, "logs", query, time.monotonic() - t0, len(st.table), "lines"))
        return st.table

    def _read_slice(
        self,
        query: str,
        cur: int,
        end_ns: int,
        budget: int,
        st: _ReadState,
        seen_at_cur: set[tuple[str, str]],
    ) -> tuple[str, int, set[tuple[str, str]]]:
        """Forward pagination over [cur, end_ns) up to `budget` lines.

        Returns (status, cursor, lines already read at the cursor): "done" when the
        slice is exhausted, "capped" when the budget ran out first (resume from the
        cursor), "stop" when nothing more should be read (time budget, error)."""
        got = 0
        while cur < end_ns:
            if time.monotonic() >= st.soft:
                self._notes.append(
                    SourceNote(
                        self.name, "partial", f"time budget spent after {len(st.table)} lines"
                    )
                )
                return "stop", cur, seen_at_cur
            limit = min(self.page_limit, budget - got + len(seen_at_cur))
            try:
                streams = self.query_range(query, cur, end_ns, max(1, limit), st.deadline)
            except SourceError as exc:
                if st.pages == 0:
                    raise
                self._notes.append(
                    SourceNote(
                        self.name,
                        "partial",
                        f"stopped after {len(st.table)} lines: {exc.message}",
                    )
                )
                return "stop", cur, seen_at_cur
            st.pages += 1
            entries: list[tuple[int, str, dict[str, str]]] = []
            n_page = 0
            for stream in streams:
                for raw_ts, raw_line in stream.values:
                    n_page += 1
                    ts = _ns(raw_ts)
                    # Loki answers [start, end): anything else (seconds, milliseconds, a
                    # float, garbage) would move the cursor backwards or past the slice.
                    if ts is None or not cur <= ts < end_ns:
                        st.bad_ts += 1
                        st.bad_ts_example = st.bad_ts_example or raw_ts[:30]
                        continue
                    entries.append((ts, raw_line, stream.stream))
            if not entries and n_page >= limit:
                # a full page and not one usable timestamp: the cursor cannot advance
                self._notes.append(
                    SourceNote(
                        self.name,
                        "partial",
                        f"stopped after {len(st.table)} lines: a page of {n_page} lines"
                        " had no usable timestamp",
                    )
                )
                return "stop", cur, seen_at_cur
            entries.sort(key=lambda x: x[0])
            last_ts = entries[-1][0] if entries else cur
            before = got
            for ts, line, labels in entries:
                key_stream = _labels_key(labels)
                if ts == cur and (key_stream, line) in seen_at_cur:
                    continue
                if got >= budget:
                    # resume here next time: everything read at this instant is "seen"
                    return "capped", ts, seen_at_cur if ts == cur else set()
                if ts != cur:
                    cur, seen_at_cur = ts, set()
                seen_at_cur.add((key_stream, line))
                self._append(st.table, labels, key_stream, ts, line, st.stream_idx, st.counters)
                got += 1
            if n_page < limit:
                return "done", cur, seen_at_cur
            if got >= budget:
                return "capped", cur, seen_at_cur
            if got == before and last_ts == cur:
                self._notes.append(
                    SourceNote(
                        self.name,
                        "partial",
                        f"more than {limit} lines share the timestamp {_iso_ns(cur)};"
                        " skipped the rest of that instant",
                    )
                )
                cur += 1
                seen_at_cur = set()
        return "done", cur, seen_at_cur

    def _append(
        self,
        table: LogTable,
        labels: dict[str, str],
        key_stream: str,
        ts: int,
        line: str,
        stream_idx: dict[str, int],
        counters: dict[str, int],
    ) -> None:
        idx = stream_idx.get(key_stream)
        if idx is None:
            idx = len(table.files)
            table.files.append(key_stream)
            stream_idx[key_stream] = idx
        counters[key_stream] = counters.get(key_stream, 0) + 1
        svc = service_of(labels, self.service_labels) or "unknown"
        level_label = labels.get("level") or labels.get("detected_level")
        msg = line
        level: str | None = None
        obj: Any = None
        if line.startswith("{"):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                m = obj.get("msg", obj.get("message", obj.get("log")))
                if m is not None:
                    msg = m if isinstance(m, str) else str(m)
                if obj.get("level") is not None:
                    level = normalize_level(obj.get("level"))
                s = obj.get("service")
                if isinstance(s, str) and s and svc == "unknown":
                    svc = s
        node = labels.get("node_name") or labels.get("node")
        if node and svc != "unknown":
            # promtail's and Alloy's Kubernetes discovery label the stream with the
            # pod's node: where this service runs (`LogTable.placements`)
            table.placements.add((node, svc, labels.get("pod") or ""))
        if level is None:
            if level_label:
                level = normalize_level(level_label)
            else:
                level = guess_level(line) or "info"
        if isinstance(obj, dict) and level in FAILED_LEVELS:
            msg = with_failure(msg, obj)
        table.ts.append(ts / 1e9)
        table.service.append(svc)
        table.level.append(level)
        table.msg.append(msg)
        table.file_idx.append(idx)
        table.line.append(counters[key_stream])

    def version(self) -> str:
        data = self.http.get_json("/loki/api/v1/status/buildinfo")
        return str(data.get("version", "")) if isinstance(data, dict) else ""

    def check(self) -> Health:
        def ver(d: Any) -> str | None:
            return str(d.get("version") or "") or None if isinstance(d, dict) else None

        return probe(
            self.http,
            "/loki/api/v1/status/buildinfo",
            ver,
            needs_auth=self.cfg.token_name is not None,
        )


def _ns(raw: str) -> int | None:
    """A line timestamp (unix nanoseconds as a decimal string), or None."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 20:
        return None
    return int(raw)


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _labels_key(labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{_q(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _iso_ns(ns: int) -> str:
    from aisre_cli.sources.timeparse import iso

    return iso(datetime.fromtimestamp(ns / 1e9).astimezone()) or str(ns)


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """The `loki` source type (sources/catalog.py)."""

    def build(cfg: LokiSource, env: SourceEnv) -> Loki:
        return Loki(
            cfg,
            token=env.token(cfg.token_name),
            service_labels=env.service_labels,
            client=env.client,
            budget_s=env.budget_s,
        )

    register(
        SourceType(
            "loki", ("logs",), build, LokiSource, summary="Loki HTTP API: log lines per service"
        )
    )
