"""The incident memory: a local SQLite store of incidents, causes and runbook outcomes.

Who writes: `aisre triage` records every report (through `Advisor.record`), `aisre
alerts` records alert firing episodes, `aisre incident resolve` confirms a cause, the
governed `RunSession` records each runbook run's outcome, `aisre incident import`
merges a team export. Who reads: triage (priors, known-issue evidence, noise), the
trust signal in governance (`successes`/`failures` per runbook and failure class),
`aisre incident` (list, show, postmortem export).

Why it is shaped this way:

* One file under the data directory (`settings.paths.memory_db_file()`), WAL mode, so
  readers never block the writer. Two aisre processes can write at once: every write
  is one short `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so
  there is no upgrade deadlock) and `busy_timeout` makes the other process wait
  instead of failing. No record is lost.
* The schema is a list of named migrations (`migrations.py`) applied in order and
  recorded in `_migrations`; an older database is upgraded in place.
* A file that is not a readable SQLite database is an error (exit 2) that names the
  file and says how to move it aside. It is never deleted or replaced: it may be the
  only copy of a team's memory.
* Incidents have a random, global `uid` (what exports and imports use) and a small
  local number `id` for typing (`aisre incident show 12`).

Nothing here imports investigate, remediate, govern or a UI library: triage hands us a
`TriageReport` (model.py) and plain evidence facets, governance hands us a `RunOutcome`.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from aisre_cli.errors import AisreError, ExitCode, UsageError
from aisre_cli.memory import migrations, noise, similarity
from aisre_cli.memory.similarity import Match, Signature
from aisre_cli.model import (
    HYPOTHESIS_KINDS,
    Alert,
    Context,
    Evidence,
    SourceNote,
    TriageReport,
)
from aisre_cli.settings import paths

EXPORT_SCHEMA = "aisre.memory/v1"
BUSY_TIMEOUT_MS = 30_000
MIN_MATCH = 0.35
"""Past incidents less similar than this are not cited and give no prior."""
MATCH_BAND = 0.15
"""Only matches within this distance of the best one count (the nearest neighbours)."""
OTHER_KIND_PRIOR = 0.5
"""A confirmed cause at a service also lends this share of its prior to other kinds
there: the failure class may be named differently this time, the culprit is the same."""
SUCCESS = ("verified",)
FAILURE = ("failed", "undone")
OUTCOMES = ("verified", "completed", "unverified", "failed", "undone", "aborted", "stopped")
"""`completed`: nothing was declared to verify; `unverified`: a declared check could
not be made. Neither counts as a success or a failure in the track record."""


class MemoryStoreError(AisreError):
    """The incident memory database cannot be read or written."""

    exit_code = ExitCode.USAGE


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _iso(d: datetime | None) -> str | None:
    return d.astimezone(UTC).isoformat() if d is not None else None


def _dt(s: str | None) -> datetime | None:
    if not s:
        return None
    d = datetime.fromisoformat(s)
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _corrupt(path: Path, exc: Exception) -> MemoryStoreError:
    return MemoryStoreError(
        f"{path}: the incident memory database is unreadable ({exc})",
        hint=f"it was left untouched; move it aside (mv '{path}' '{path}.bad') to start a new"
        " memory, or restore a backup or a team export (aisre incident import FILE)",
    )


@dataclass
class RunOutcome:
    """One runbook run's result, as governance reports it."""

    run_id: str
    runbook_id: str
    outcome: str
    """verified | completed | failed | undone | aborted | stopped"""
    kind: str = "unknown"
    alert_id: str | None = None
    environment: str | None = None
    audit_head: str | None = None
    steps: dict[str, str] = field(default_factory=dict)


@dataclass
class Incident:
    """One recorded triage and what was learned about it."""

    id: int
    uid: str
    created_at: str
    alert_id: str
    alert_name: str
    service: str | None
    severity: str | None
    labels: dict[str, str]
    starts_at: str | None
    onset: str | None
    bundle_id: str | None
    classification: str
    escalate: bool
    reason: str
    signature: dict[str, list[str]]
    report: dict[str, Any]
    status: str
    cause_kind: str | None
    cause_service: str | None
    cause_change: str | None
    cause_rank: int | None
    note: str | None
    resolved_at: str | None
    origin: str
    hypotheses: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    reused: bool = False
    """Set by `record_report`: the triage updated this open incident (not a new one)."""

    @property
    def resolved(self) -> bool:
        return self.status == "resolved" and self.cause_kind is not None

    def cause_text(self) -> str:
        if not self.resolved:
            return "unconfirmed"
        tail = f" (change {self.cause_change})" if self.cause_change else ""
        return f"{self.cause_kind} on {self.cause_service}{tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uid": self.uid,
            "created_at": self.created_at,
            "alert": {
                "id": self.alert_id,
                "name": self.alert_name,
                "service": self.service,
                "severity": self.severity,
                "labels": self.labels,
                "starts_at": self.starts_at,
            },
            "onset": self.onset,
            "bundle": self.bundle_id,
            "classification": self.classification,
            "escalate": self.escalate,
            "reason": self.reason,
            "status": self.status,
            "cause": (
                {
                    "kind": self.cause_kind,
                    "service": self.cause_service,
                    "change_id": self.cause_change,
                    "rank": self.cause_rank,
                }
                if self.resolved
                else None
            ),
            "note": self.note,
            "resolved_at": self.resolved_at,
            "origin": self.origin,
            "signature": self.signature,
            "hypotheses": self.hypotheses,
            "runs": self.runs,
            "report": self.report,
        }


_LIGHT = (
    "id, uid, created_at, alert_id, alert_name, service, severity, labels, starts_at, onset,"
    " bundle_id, classification, escalate, reason, signature, '{}' AS report, status,"
    " cause_kind, cause_service, cause_change, cause_rank, note, resolved_at, origin"
)
"""Every incident column but the stored report (the bulk of a row), for scans."""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and check the database; WAL, busy timeout, autocommit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(
            str(path),
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise MemoryStoreError(
            f"{path}: cannot open the incident memory ({exc})",
            hint="check the permissions of the data directory",
        ) from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        ok = conn.execute("PRAGMA quick_check(1)").fetchone()
        if ok is None or ok[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check: {ok[0] if ok else 'no answer'}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise sqlite3.DatabaseError(f"cannot switch to WAL (journal mode {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise MemoryStoreError(
                f"{path}: the incident memory stayed locked for {BUSY_TIMEOUT_MS // 1000}s",
                hint="another aisre process holds it; retry",
            ) from None
        raise _corrupt(path, exc) from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _corrupt(path, exc) from None
    return conn


class MemoryStore:
    """See the module docstring. Safe to share between threads of one process."""

    def __init__(self, path: Path | None = None, *, upto: str | None = None) -> None:
        self.path = Path(path) if path is not None else paths.memory_db_file()
        self.conn = connect(self.path)
        try:
            migrations.migrate(self.conn, upto)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise _corrupt(self.path, exc) from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (the write lock is taken at BEGIN)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise MemoryStoreError(
                f"{self.path}: cannot lock the incident memory ({exc})",
                hint="another aisre process holds it; retry",
            ) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self.conn.execute("ROLLBACK")
            raise _corrupt(self.path, exc) from None
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            return list(self.conn.execute(sql, tuple(args)))
        except sqlite3.DatabaseError as exc:
            raise _corrupt(self.path, exc) from None

    def migrations_applied(self) -> list[str]:
        return [str(r[0]) for r in self._read("SELECT name FROM _migrations ORDER BY rowid")]

    # ------------------------------------------------------------ incidents

    def record_report(
        self,
        report: TriageReport,
        signature: Signature | None = None,
        *,
        alerts: Iterable[Alert] = (),
    ) -> Incident:
        """Record one triage as an open incident (and the alerts seen with it).

        Triaging the same alert episode again (same fingerprint, same start, same
        bundle) while its incident is still open updates that incident with the newer
        report instead of opening a duplicate: 17 triages of one page are one incident.
        """
        pub = report.to_public()
        sig = signature if signature is not None else similarity.signature_from_report(pub)
        uid = "inc-" + secrets.token_hex(6)
        ev_by_id = {e["id"]: e for e in pub["evidence"]}
        a = report.alert
        reused = False
        with self.write() as c:
            prev = c.execute(
                """SELECT id FROM incidents WHERE alert_id = ? AND status = 'open'
                   AND starts_at IS ? AND bundle_id IS ? AND origin = 'local'
                   ORDER BY id DESC LIMIT 1""",
                (a.id, _iso(a.starts_at), report.bundle_id),
            ).fetchone()
            if prev is not None:
                reused = True
                iid = int(prev[0])
                c.execute(
                    """UPDATE incidents SET alert_name = ?, service = ?, severity = ?,
                       labels = ?, onset = ?, classification = ?, escalate = ?, reason = ?,
                       signature = ?, report = ? WHERE id = ?""",
                    (
                        a.name,
                        a.service,
                        a.severity,
                        json.dumps(a.labels, sort_keys=True),
                        _iso(report.onset),
                        report.verdict.classification,
                        int(report.verdict.escalate),
                        report.verdict.reason,
                        json.dumps(similarity.to_json(sig), sort_keys=True),
                        json.dumps(pub, default=str),
                        iid,
                    ),
                )
                c.execute("DELETE FROM hypotheses WHERE incident_id = ?", (iid,))
            else:
                iid = self._insert_incident(c, uid, report, pub, sig)

            for h in pub["hypotheses"]:
                hsig = similarity.signature_from_report(
                    {"alert": {}, "evidence": [ev_by_id[x] for x in h["evidence"] if x in ev_by_id]}
                )
                c.execute(
                    """INSERT INTO hypotheses (incident_id, rank, kind, service, subject,
                       statement, confidence, signature) VALUES (?,?,?,?,?,?,?,?)""",
                    (
                        iid,
                        h["rank"],
                        h["kind"],
                        h["service"],
                        h["subject"],
                        h["statement"],
                        h["confidence"],
                        json.dumps(similarity.to_json(hsig), sort_keys=True),
                    ),
                )
            self._add_alert_events(c, [a, *alerts])
        inc = self.get(str(iid))
        inc.reused = reused
        return inc

    @staticmethod
    def _insert_incident(
        c: sqlite3.Connection,
        uid: str,
        report: TriageReport,
        pub: dict[str, Any],
        sig: Signature,
    ) -> int:
        a = report.alert
        cur = c.execute(
            """INSERT INTO incidents (uid, created_at, alert_id, alert_name, service,
               severity, labels, starts_at, onset, bundle_id, classification, escalate,
               reason, signature, report, origin)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, 'local')""",
            (
                uid,
                _now(),
                a.id,
                a.name,
                a.service,
                a.severity,
                json.dumps(a.labels, sort_keys=True),
                _iso(a.starts_at),
                _iso(report.onset),
                report.bundle_id,
                report.verdict.classification,
                int(report.verdict.escalate),
                report.verdict.reason,
                json.dumps(similarity.to_json(sig), sort_keys=True),
                json.dumps(pub, default=str),
            ),
        )
        return int(cur.lastrowid or 0)

    def _row_to_incident(self, r: sqlite3.Row, full: bool = True) -> Incident:
        inc = Incident(
            id=int(r["id"]),
            uid=str(r["uid"]),
            created_at=str(r["created_at"]),
            alert_id=str(r["alert_id"]),
            alert_name=str(r["alert_name"]),
            service=r["service"],
            severity=r["severity"],
            labels=json.loads(r["labels"] or "{}"),
            starts_at=r["starts_at"],
            onset=r["onset"],
            bundle_id=r["bundle_id"],
            classification=str(r["classification"]),
            escalate=bool(r["escalate"]),
            reason=str(r["reason"] or ""),
            signature=json.loads(r["signature"] or "{}"),
            report=json.loads(r["report"] or "{}") if full else {},
            status=str(r["status"]),
            cause_kind=r["cause_kind"],
            cause_service=r["cause_service"],
            cause_change=r["cause_change"],
            cause_rank=r["cause_rank"],
            note=r["note"],
            resolved_at=r["resolved_at"],
            origin=str(r["origin"]),
        )
        if full:
            inc.hypotheses = [
                {
                    "rank": h["rank"],
                    "kind": h["kind"],
                    "service": h["service"],
                    "subject": h["subject"],
                    "statement": h["statement"],
                    "confidence": h["confidence"],
                    "signature": json.loads(h["signature"] or "{}"),
                }
                for h in self._read(
                    "SELECT * FROM hypotheses WHERE incident_id = ? ORDER BY rank", (inc.id,)
                )
            ]
            inc.runs = [
                self._run_dict(x)
                for x in self._read(
                    "SELECT * FROM runbook_runs WHERE incident_uid = ? ORDER BY finished_at",
                    (inc.uid,),
                )
            ]
        return inc

    @staticmethod
    def _run_dict(x: sqlite3.Row) -> dict[str, Any]:
        return {
            "run_id": x["run_id"],
            "runbook": x["runbook_id"],
            "kind": x["kind"],
            "alert_id": x["alert_id"],
            "incident": x["incident_uid"],
            "outcome": x["outcome"],
            "environment": x["environment"],
            "audit_head": x["audit_head"],
            "steps": json.loads(x["steps"] or "{}"),
            "finished_at": x["finished_at"],
        }

    def get(self, ref: str) -> Incident:
        """An incident by local number, uid or unique uid prefix (>= 6 characters)."""
        ref = ref.strip()
        rows: list[sqlite3.Row] = []
        if ref.isdigit():
            rows = self._read("SELECT * FROM incidents WHERE id = ?", (int(ref),))
        elif ref:
            rows = self._read("SELECT * FROM incidents WHERE uid = ?", (ref,))
            if not rows and len(ref) >= 6:
                rows = self._read(
                    "SELECT * FROM incidents WHERE uid LIKE ? ESCAPE '\\' LIMIT 2",
                    (ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
                )
        if not rows:
            raise UsageError(f"no incident {ref!r} in the memory", hint="run `aisre incident list`")
        if len(rows) > 1:
            raise UsageError(f"incident {ref!r} is ambiguous", hint="give more of the uid")
        return self._row_to_incident(rows[0])

    def recent(self, *, status: str | None = None, limit: int = 50) -> list[Incident]:
        sql = f"SELECT {_LIGHT} FROM incidents"
        args: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            args.append(status)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [self._row_to_incident(r, full=False) for r in self._read(sql, args)]

    def all_incidents(self) -> list[Incident]:
        return [self._row_to_incident(r) for r in self._read("SELECT * FROM incidents ORDER BY id")]

    def count(self) -> int:
        return int(self._read("SELECT count(*) FROM incidents")[0][0])

    def resolve(
        self,
        ref: str,
        *,
        rank: int | None = None,
        kind: str | None = None,
        service: str | None = None,
        change: str | None = None,
        note: str | None = None,
    ) -> Incident:
        """Confirm an incident's root cause: a hypothesis rank, or kind + service."""
        inc = self.get(ref)
        if rank is not None:
            if kind or service or change:
                raise UsageError("--cause RANK and --kind/--service/--change are exclusive")
            hyp = next((h for h in inc.hypotheses if h["rank"] == rank), None)
            if hyp is None:
                raise UsageError(
                    f"incident {inc.id} has no hypothesis ranked {rank}",
                    hint=f"it has {len(inc.hypotheses)}; see `aisre incident show {inc.id}`",
                )
            kind, service = str(hyp["kind"]), str(hyp["service"])
            if kind in ("deploy", "config_change") and hyp["subject"]:
                change = str(hyp["subject"])
        else:
            if not kind or not service:
                raise UsageError(
                    "say what the cause was: --cause RANK, or --kind KIND --service SERVICE",
                    hint=f"e.g. aisre incident resolve {inc.id} --cause 1",
                )
            if kind not in HYPOTHESIS_KINDS:
                raise UsageError(
                    f"unknown kind {kind!r}", hint="one of: " + ", ".join(HYPOTHESIS_KINDS)
                )
            exact = [
                int(h["rank"])
                for h in inc.hypotheses
                if h["kind"] == kind
                and h["service"] == service
                and (change is None or h["subject"] == change)
            ]
            # the culprit service ranked under another kind still counts as found
            near = [int(h["rank"]) for h in inc.hypotheses if h["service"] == service]
            found = exact or near
            rank = found[0] if found else None
        with self.write() as c:
            c.execute(
                """UPDATE incidents SET status = 'resolved', cause_kind = ?, cause_service = ?,
                   cause_change = ?, cause_rank = ?, note = COALESCE(?, note), resolved_at = ?
                   WHERE id = ?""",
                (kind, service, change, rank, note, _now(), inc.id),
            )
        return self.get(str(inc.id))

    # ------------------------------------------------------------ matching

    def similar(
        self, sig: Signature, *, exclude: str | None = None, resolved_only: bool = True
    ) -> list[tuple[Match, Incident]]:
        """Past incidents ranked by similarity (best first), above `MIN_MATCH`."""
        sql = f"SELECT {_LIGHT} FROM incidents"
        if resolved_only:
            sql += " WHERE status = 'resolved' AND cause_kind IS NOT NULL"
        out: list[tuple[Match, Incident]] = []
        for r in self._read(sql):
            if exclude and r["uid"] == exclude:
                continue
            past = similarity.from_json(json.loads(r["signature"] or "{}"))
            m = similarity.similarity(sig, past)
            if m.score >= MIN_MATCH:
                out.append((m, self._row_to_incident(r, full=False)))
        out.sort(key=lambda x: (-x[0].score, -x[1].id))
        return out

    # ------------------------------------------------------------ alert history / noise

    @staticmethod
    def _add_alert_events(c: sqlite3.Connection, alerts: Iterable[Alert]) -> None:
        now = _now()
        for a in alerts:
            c.execute(
                """INSERT INTO alert_events (alert_id, starts_at, alert_name, service, ends_at,
                   seen_at) VALUES (?,?,?,?,?,?)
                   ON CONFLICT (alert_id, starts_at) DO UPDATE SET
                   ends_at = excluded.ends_at, seen_at = excluded.seen_at""",
                (a.id, _iso(a.starts_at), a.name, a.service, _iso(a.ends_at), now),
            )

    def record_alerts(self, alerts: Iterable[Alert]) -> None:
        """Record firing episodes (one per alert and `startsAt`; `endsAt` is updated)."""
        lst = list(alerts)
        if not lst:
            return
        with self.write() as c:
            self._add_alert_events(c, lst)

    def noise(self, alert: Alert) -> noise.NoiseVerdict:
        since = alert.starts_at - timedelta(days=noise.WINDOW_DAYS)
        rows = self._read(
            "SELECT starts_at, ends_at FROM alert_events WHERE alert_id = ? AND starts_at >= ?",
            (alert.id, _iso(since)),
        )
        episodes = [
            noise.Episode(cast(datetime, _dt(r["starts_at"])), _dt(r["ends_at"])) for r in rows
        ]
        actions = int(
            self._read(
                "SELECT count(*) FROM runbook_runs WHERE alert_id = ? AND outcome != 'aborted'",
                (alert.id,),
            )[0][0]
        ) + int(
            self._read(
                "SELECT count(*) FROM incidents WHERE alert_id = ? AND status = 'resolved'"
                " AND cause_kind IS NOT NULL",
                (alert.id,),
            )[0][0]
        )
        return noise.assess(episodes, actions, alert.starts_at)

    # ------------------------------------------------------------ runbook track record

    def record_run(self, run: RunOutcome) -> None:
        """Record (or update, on resume) one runbook run's outcome."""
        if run.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {run.outcome!r}")
        with self.write() as c:
            inc_uid = None
            if run.alert_id:
                row = c.execute(
                    "SELECT uid FROM incidents WHERE alert_id = ? ORDER BY id DESC LIMIT 1",
                    (run.alert_id,),
                ).fetchone()
                inc_uid = row[0] if row else None
            c.execute(
                """INSERT INTO runbook_runs (run_id, runbook_id, kind, alert_id, incident_uid,
                   outcome, environment, audit_head, steps, finished_at)
                   VALUES (?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT (run_id) DO UPDATE SET outcome = excluded.outcome,
                   audit_head = excluded.audit_head, steps = excluded.steps,
                   finished_at = excluded.finished_at,
                   incident_uid = COALESCE(runbook_runs.incident_uid, excluded.incident_uid)""",
                (
                    run.run_id,
                    run.runbook_id,
                    run.kind or "unknown",
                    run.alert_id,
                    inc_uid,
                    run.outcome,
                    run.environment,
                    run.audit_head,
                    json.dumps(run.steps, sort_keys=True),
                    _now(),
                ),
            )

    def _count_runs(self, runbook_id: str, kind: str, outcomes: tuple[str, ...]) -> int:
        marks = ",".join("?" * len(outcomes))
        return int(
            self._read(
                f"SELECT count(*) FROM runbook_runs WHERE runbook_id = ? AND kind = ?"
                f" AND outcome IN ({marks})",
                (runbook_id, kind, *outcomes),
            )[0][0]
        )

    def successes(self, runbook_id: str, kind: str) -> int:
        """Verified runs of this runbook for this failure class (governance's trust)."""
        return self._count_runs(runbook_id, kind, SUCCESS)

    def failures(self, runbook_id: str, kind: str) -> int:
        """Runs whose verification failed or that were undone."""
        return self._count_runs(runbook_id, kind, FAILURE)

    def track_record(self) -> list[dict[str, Any]]:
        rows = self._read(
            """SELECT runbook_id, kind, outcome, count(*) AS n FROM runbook_runs
               GROUP BY runbook_id, kind, outcome ORDER BY runbook_id, kind"""
        )
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            d = out.setdefault(
                (r["runbook_id"], r["kind"]),
                {"runbook": r["runbook_id"], "kind": r["kind"], "outcomes": {}},
            )
            d["outcomes"][r["outcome"]] = int(r["n"])
        for d in out.values():
            s = sum(v for k, v in d["outcomes"].items() if k in SUCCESS)
            f = sum(v for k, v in d["outcomes"].items() if k in FAILURE)
            d["successes"], d["failures"] = s, f
            d["success_rate"] = round(s / (s + f), 4) if s + f else None
        return list(out.values())

    def runs_for(self, incident: Incident) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT * FROM runbook_runs WHERE incident_uid = ? ORDER BY finished_at",
            (incident.uid,),
        )
        return [self._run_dict(r) for r in rows]

    # ------------------------------------------------------------ team sharing

    def export_all(self) -> dict[str, Any]:
        incidents = [i.to_dict() for i in self.all_incidents()]
        for d in incidents:
            d.pop("id", None)
        runs = [self._run_dict(r) for r in self._read("SELECT * FROM runbook_runs ORDER BY run_id")]
        events = [
            dict(r)
            for r in self._read(
                "SELECT alert_id, starts_at, alert_name, service, ends_at FROM alert_events"
                " ORDER BY alert_id, starts_at"
            )
        ]
        return {
            "schema": EXPORT_SCHEMA,
            "exported_at": _now(),
            "incidents": incidents,
            "runbook_runs": runs,
            "alert_events": events,
        }

    def import_data(self, data: Mapping[str, Any], origin: str) -> dict[str, int]:
        """Merge a team export. Idempotent: importing the same data twice changes nothing.

        An incident is identified by its uid: a new one is added, a known one only
        learns a confirmed cause it did not have. Runs and alert episodes are keyed
        by run id and (alert, startsAt).
        """
        if not isinstance(data, Mapping) or data.get("schema") != EXPORT_SCHEMA:
            raise UsageError(
                f"not an aisre memory export (expected schema {EXPORT_SCHEMA!r})",
                hint="create one with `aisre incident export --all --format json`",
            )
        counts = {"added": 0, "updated": 0, "unchanged": 0, "runs_added": 0, "events_added": 0}
        try:
            with self.write() as c:
                for d in data.get("incidents") or []:
                    self._import_incident(c, d, origin, counts)
                for r in data.get("runbook_runs") or []:
                    cur = c.execute(
                        """INSERT OR IGNORE INTO runbook_runs (run_id, runbook_id, kind, alert_id,
                           incident_uid, outcome, environment, audit_head, steps, finished_at)
                           VALUES (?,?,?,?,?,?,?,?,?,?)""",
                        (
                            str(r["run_id"]),
                            str(r["runbook"]),
                            str(r.get("kind") or "unknown"),
                            r.get("alert_id"),
                            r.get("incident"),
                            str(r["outcome"]),
                            r.get("environment"),
                            r.get("audit_head"),
                            json.dumps(r.get("steps") or {}, sort_keys=True),
                            str(r.get("finished_at") or _now()),
                        ),
                    )
                    counts["runs_added"] += cur.rowcount
                for e in data.get("alert_events") or []:
                    cur = c.execute(
                        """INSERT OR IGNORE INTO alert_events (alert_id, starts_at, alert_name,
                           service, ends_at, seen_at) VALUES (?,?,?,?,?,?)""",
                        (
                            str(e["alert_id"]),
                            str(e["starts_at"]),
                            str(e["alert_name"]),
                            e.get("service"),
                            e.get("ends_at"),
                            _now(),
                        ),
                    )
                    counts["events_added"] += cur.rowcount
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise UsageError(
                f"malformed memory export: {type(exc).__name__}: {exc}",
                hint="nothing was imported",
            ) from None
        return counts

    def _import_incident(
        self, c: sqlite3.Connection, d: Mapping[str, Any], origin: str, counts: dict[str, int]
    ) -> None:
        uid = str(d["uid"])
        alert = d["alert"]
        cause = d.get("cause")
        row = c.execute(
            "SELECT id, status, cause_kind FROM incidents WHERE uid = ?", (uid,)
        ).fetchone()
        if row is not None:
            if cause and row["cause_kind"] is None:
                c.execute(
                    """UPDATE incidents SET status = 'resolved', cause_kind = ?, cause_service = ?,
                       cause_change = ?, cause_rank = ?, note = COALESCE(note, ?),
                       resolved_at = ? WHERE id = ?""",
                    (
                        cause["kind"],
                        cause["service"],
                        cause.get("change_id"),
                        cause.get("rank"),
                        d.get("note"),
                        d.get("resolved_at") or _now(),
                        row["id"],
                    ),
                )
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
            return
        if cause and cause.get("kind") not in HYPOTHESIS_KINDS:
            raise ValueError(f"incident {uid}: unknown cause kind {cause.get('kind')!r}")
        cur = c.execute(
            """INSERT INTO incidents (uid, created_at, alert_id, alert_name, service, severity,
               labels, starts_at, onset, bundle_id, classification, escalate, reason, signature,
               report, status, cause_kind, cause_service, cause_change, cause_rank, note,
               resolved_at, origin)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                uid,
                str(d.get("created_at") or _now()),
                str(alert["id"]),
                str(alert["name"]),
                alert.get("service"),
                alert.get("severity"),
                json.dumps(alert.get("labels") or {}, sort_keys=True),
                alert.get("starts_at"),
                d.get("onset"),
                d.get("bundle"),
                str(d.get("classification") or "actionable"),
                int(bool(d.get("escalate"))),
                str(d.get("reason") or ""),
                json.dumps(d.get("signature") or {}, sort_keys=True),
                json.dumps(d.get("report") or {}, default=str),
                "resolved" if cause else "open",
                cause["kind"] if cause else None,
                cause["service"] if cause else None,
                cause.get("change_id") if cause else None,
                cause.get("rank") if cause else None,
                d.get("note"),
                d.get("resolved_at"),
                origin,
            ),
        )
        iid = int(cur.lastrowid or 0)
        for h in d.get("hypotheses") or []:
            c.execute(
                """INSERT INTO hypotheses (incident_id, rank, kind, service, subject, statement,
                   confidence, signature) VALUES (?,?,?,?,?,?,?,?)""",
                (
                    iid,
                    int(h["rank"]),
                    str(h["kind"]),
                    str(h["service"]),
                    h.get("subject"),
                    str(h.get("statement") or ""),
                    float(h.get("confidence") or 0.0),
                    json.dumps(h.get("signature") or {}, sort_keys=True),
                ),
            )
        counts["added"] += 1


# ---------------------------------------------------------------- triage's advisor


class Advisor:
    """What triage asks the memory (`investigate.triage.MemoryAdvisor`).

    Call order within one triage: `observe(ctx, facets)` (triage's evidence facets),
    `priors(ctx)`, `classify(ctx)`; then the UI calls `record(report)`. The advisor
    remembers the signature and matches per alert id between these calls.
    """

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._sig: dict[str, Signature] = {}
        self._alerts: dict[str, list[Alert]] = {}
        self._class: dict[str, str | None] = {}

    def observe(self, ctx: Context, facets: Mapping[str, Iterable[str]]) -> None:
        a = ctx.alert
        self._sig[a.id] = similarity.make_signature(a.labels, a.service, facets)

    def _signature(self, ctx: Context) -> Signature:
        a = ctx.alert
        if a.id not in self._sig:
            self._sig[a.id] = similarity.make_signature(a.labels, a.service, {})
        return self._sig[a.id]

    def priors(self, ctx: Context) -> tuple[dict[tuple[str, str], float], list[Evidence]]:
        """(service, kind) priors from similar resolved incidents, plus the evidence."""
        a = ctx.alert
        self._alerts[a.id] = list(ctx.alerts)
        self._class[a.id] = None
        try:
            return self._priors(ctx)
        except MemoryStoreError as err:
            ctx.notes.append(SourceNote("memory", "failed", err.message))
            return {}, []

    def _priors(self, ctx: Context) -> tuple[dict[tuple[str, str], float], list[Evidence]]:
        a = ctx.alert
        sig = self._signature(ctx)
        matches = self.store.similar(sig)
        priors: dict[tuple[str, str], float] = {}
        evidence: list[Evidence] = []
        if matches:
            best = matches[0][0].score
            kept = [(m, i) for m, i in matches if m.score >= best - MATCH_BAND]
            groups: dict[tuple[str, str, str | None], list[tuple[Match, Incident]]] = {}
            for m, inc in kept:
                svc = cast(str, inc.cause_service)
                kind = cast(str, inc.cause_kind)
                groups.setdefault((svc, kind, inc.cause_change), []).append((m, inc))
                # noisy-or: each similar confirmed incident is independent support
                for k in HYPOTHESIS_KINDS:
                    p = m.score if k == kind else OTHER_KIND_PRIOR * m.score
                    old = priors.get((svc, k), 0.0)
                    priors[(svc, k)] = round(1.0 - (1.0 - old) * (1.0 - p), 4)
            ordered = sorted(groups.items(), key=lambda kv: -max(m.score for m, _ in kv[1]))
            for (svc, kind, change), lst in ordered[:3]:
                evidence.append(self._match_evidence(svc, kind, change, lst))
            top_m, top_i = matches[0]
            rival = next(
                (
                    m.score
                    for m, i in matches
                    if (i.cause_service, i.cause_kind) != (top_i.cause_service, top_i.cause_kind)
                ),
                0.0,
            )
            if top_m.strong and top_m.score - rival >= similarity.KNOWN_ISSUE_MARGIN:
                self._class[a.id] = "known_issue"
        try:
            verdict = self.store.noise(a)
        except MemoryStoreError:
            raise
        if verdict.noisy:
            if self._class[a.id] is None:
                self._class[a.id] = "likely_noise"
            evidence.append(
                Evidence(
                    id="",
                    kind="memory",
                    service=a.service,
                    summary=verdict.summary(a.name),
                    strength=round(min(1.0, verdict.episodes / 10.0), 4),
                    query=f"aisre incident list  # alert {a.short_id} history",
                    ref=f"memory:alert/{a.id}",
                    subject="noise",
                    data={
                        "episodes": verdict.episodes,
                        "self_resolved": verdict.self_resolved,
                        "actions": verdict.actions,
                    },
                )
            )
        return priors, evidence

    def _match_evidence(
        self, svc: str, kind: str, change: str | None, lst: list[tuple[Match, Incident]]
    ) -> Evidence:
        best_m, last = max(lst, key=lambda x: (x[1].id, x[0].score))
        score = max(m.score for m, _ in lst)
        runs = self.store.runs_for(last)
        fixed = ""
        if runs:
            r = runs[-1]
            fixed = f"; fixed by runbook {r['runbook']}, {r['outcome']}"
        nums = ", ".join(f"#{i.id}" for _, i in sorted(lst, key=lambda x: x[1].id)[-5:])
        times = "once" if len(lst) == 1 else f"{len(lst)} times"
        cause = f"{kind} on {svc}" + (f" (change {change})" if change else "")
        note = f'; note: "{last.note}"' if last.note else ""
        strongest = max(lst, key=lambda x: x[0].score)[0]
        return Evidence(
            id="",
            kind="memory",
            service=svc,
            summary=(
                f"seen {times} before ({nums}, similarity {score:.2f}); "
                f"last confirmed cause: {cause}{fixed}{note}"
            )[:300],
            strength=round(min(1.0, score), 4),
            query=f"aisre incident show {last.id}",
            ref=f"memory:{last.uid}",
            subject=change or svc,
            data={
                "incidents": [i.uid for _, i in lst],
                "similarity": score,
                "facets": strongest.facets,
                "support": best_m.support,
                "cause": {"kind": kind, "service": svc, "change_id": change},
            },
        )

    def classify(self, ctx: Context) -> str | None:
        """`known_issue`, `likely_noise` or None (no opinion); after `priors`."""
        return self._class.get(ctx.alert.id)

    def record(self, report: TriageReport) -> Incident:
        a = report.alert
        return self.store.record_report(
            report, self._sig.get(a.id), alerts=self._alerts.pop(a.id, [])
        )


def open_store(path: Path | None = None) -> MemoryStore:
    return MemoryStore(path)


def open_advisor(path: Path | None = None) -> Advisor:
    """The advisor `aisre triage` uses (raises MemoryStoreError when unusable)."""
    return Advisor(MemoryStore(path))


def open_track_record(path: Path | None = None) -> MemoryStore:
    """The store as governance's `TrackRecord` (successes/failures, record_run)."""
    return MemoryStore(path)
