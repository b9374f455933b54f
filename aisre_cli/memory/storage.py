"""The incident memory's storage: incidents and confirmed causes, runbook track record,
alert episodes (noise history), the change feed; on SQLite or PostgreSQL.

Who writes: `aisre triage` records every report (through `advisor.Advisor.record`),
`aisre alerts` records alert firing episodes, `aisre incident resolve` confirms a
cause, the governed `RunSession` records each runbook run's outcome, `aisre change
record` appends to the change feed of a team store, `aisre incident import` merges a
team export. Who reads: triage (priors, known-issue evidence, noise, changes), the
trust signal in governance (`successes`/`failures` per runbook and failure class),
`aisre incident` (list, show, postmortem export).

Why it is shaped this way:

* The backend (backend.py) is a local SQLite file by default, or the team's
  PostgreSQL (`memory_url`). Same SQL, same schema, same Alembic migrations
  (migrations.py); the run-time path uses the raw DB-API drivers (see backend.py for
  why), and the schema check costs one query when nothing is due.
* **Every write is a `WriteOp`**: a kind and a JSON-ready payload, prepared first
  (ids, timestamps, signatures are fixed then) and applied by `MemoryStore.apply` in
  one short serialized transaction. `MemoryStore.writer` is the hook between the two:
  by default it is `apply` itself; a durable spool wraps it to keep ops while the team
  store is down (`MemoryUnavailable`) and replays them later through `apply`. Each
  op's id is recorded in `applied_ops` in the same transaction, so an op replayed
  twice (a crash between apply and the spool's bookkeeping) is applied once.
* A file that is not a readable SQLite database is an error (exit 2) that names the
  file and says how to move it aside. It is never deleted or replaced: it may be the
  only copy of a team's memory.
* Incidents have a random, global `uid` (what exports and imports use) and a small
  number `id` for typing (`aisre incident show 12`), local to the database.

Nothing here imports investigate, remediate, govern or a UI library: triage hands us a
`TriageReport` (model.py) and plain evidence facets, governance hands us a `RunOutcome`.
Inference over what is stored (known-issue matching, priors, noise verdicts) is
advisor.py's.
"""

from __future__ import annotations

import json
import secrets
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack, cast

from aisre_cli.errors import UsageError
from aisre_cli.memory import migrations, noise, similarity
from aisre_cli.memory.backend import (
    Database,
    Location,
    MemoryStoreError,
    MemoryUnavailable,
    connect,
    encodable,
    location_for,
)
from aisre_cli.memory.similarity import Match, Signature
from aisre_cli.model import HYPOTHESIS_KINDS, Alert, Change, TriageReport

if TYPE_CHECKING:
    from aisre_cli.memory.spool import Spool
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.changefile import ChangeFields, Recorded

__all__ = [
    "EXPORT_SCHEMA",
    "FAILURE",
    "MIN_MATCH",
    "OUTCOMES",
    "SUCCESS",
    "Incident",
    "MemoryStore",
    "MemoryStoreError",
    "MemoryUnavailable",
    "Resolution",
    "RunOutcome",
    "StoreChangeFeed",
    "WriteOp",
    "open_store",
]

EXPORT_SCHEMA = "aisre.memory/v1"
MIN_MATCH = 0.35
"""Past incidents less similar than this are not cited and give no prior."""
SUCCESS = ("verified",)
FAILURE = ("failed", "undone")
OUTCOMES = ("verified", "completed", "unverified", "failed", "undone", "aborted", "stopped")
"""`completed`: nothing was declared to verify; `unverified`: a declared check could
not be made. Neither counts as a success or a failure in the track record."""


def _encodable_data(obj: Any) -> Any:
    """`obj` (JSON-ready data) with every string passed through `backend.encodable`."""
    if isinstance(obj, str):
        return encodable(obj)
    if isinstance(obj, dict):
        return {encodable(k): _encodable_data(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_encodable_data(v) for v in obj]
    return obj


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _iso(d: datetime | None) -> str | None:
    return d.astimezone(UTC).isoformat() if d is not None else None


def _dt(s: str | None) -> datetime | None:
    if not s:
        return None
    d = datetime.fromisoformat(s)
    return d if d.tzinfo else d.replace(tzinfo=UTC)


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


@dataclass(frozen=True)
class WriteOp:
    """One write to the memory, ready to apply now or later (JSON-serializable).

    kinds: `incident.record`, `incident.resolve`, `alerts.record`, `run.record`,
    `change.record` (see `MemoryStore._APPLY`)."""

    kind: str
    data: dict[str, Any]
    op_id: str = field(default_factory=lambda: "op-" + secrets.token_hex(10))

    def to_json(self) -> dict[str, Any]:
        return {"op_id": self.op_id, "kind": self.kind, "data": self.data}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> WriteOp:
        return cls(kind=str(d["kind"]), data=dict(d["data"]), op_id=str(d["op_id"]))


Writer = Callable[[WriteOp], dict[str, Any]]


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


def _alert_json(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "service": a.service,
        "severity": a.severity,
        "labels": dict(a.labels),
        "starts_at": _iso(a.starts_at),
        "ends_at": _iso(a.ends_at),
    }


class MemoryStore:
    """See the module docstring. Safe to share between threads of one process."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        location: Location | None = None,
        upto: str | None = None,
        busy_timeout_ms: int | None = None,
    ) -> None:
        """`busy_timeout_ms`: how long the local memory waits for another process's
        lock (default `backend.BUSY_TIMEOUT_MS`), then raises `MemoryLocked`."""
        self.location = location if location is not None else location_for(None, path=path)
        self.path = self.location.path
        self.db: Database = connect(self.location, busy_timeout_ms=busy_timeout_ms)
        self.writer: Writer = self.apply
        """Where writes go; a spool may wrap this (see the module docstring)."""
        try:
            if upto is not None or not migrations.check(self.db):
                if self.db.backend == "sqlite":
                    # the schema is made on Alembic's own connection, which waits the
                    # long busy timeout for another process's lock: take (and let go
                    # of) the write lock here first, so a memory held by another
                    # process is said after this store's own wait
                    with self.db.transaction():
                        pass
                migrations.upgrade(self.location, self.db, upto)
        except BaseException:
            self.db.close()
            raise

    @property
    def found_empty(self) -> bool:
        """The memory's file was found empty (0 bytes) and a new memory was started in
        it: the incidents it held are gone (`backend.Database.found_empty`)."""
        return self.db.found_empty

    @property
    def backend(self) -> str:
        return self.db.backend

    @property
    def conn(self) -> Any:
        """The raw DB-API connection (tests and low-level tools only)."""
        return cast(Any, self.db).conn

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        return self.db.query(sql, tuple(args))

    def schema_version(self) -> str | None:
        return migrations.current(self.db)

    def migrations_applied(self) -> list[str]:
        """The revisions this memory's schema includes, oldest first."""
        rev = self.schema_version()
        if rev not in migrations.REVISIONS:
            return []
        return list(migrations.REVISIONS[: migrations.REVISIONS.index(rev) + 1])

    def counts(self) -> dict[str, int]:
        """Rows per table (for `aisre memory status`)."""
        out: dict[str, int] = {}
        for t in ("incidents", "hypotheses", "runbook_runs", "alert_events", "changes"):
            out[t] = int(self._read(f"SELECT count(*) FROM {t}")[0][0])
        return out

    def submit(self, op: WriteOp) -> dict[str, Any]:
        """Hand one write to `writer` (the database, or a spool around it).

        Its text is made encodable first: an undecodable byte (argv, a source's JSON
        with a lone surrogate escape) is kept as its escape, so neither the database
        nor the spool's UTF-8 lines fail on it (a crash, and the write lost)."""
        return self.writer(WriteOp(op.kind, _encodable_data(op.data), op.op_id))

    def apply(self, op: WriteOp) -> dict[str, Any]:
        """Apply one write in one transaction, exactly once per `op_id`."""
        fn = self._APPLY.get(op.kind)
        if fn is None:
            raise ValueError(f"unknown write kind {op.kind!r}")
        with self.db.transaction() as db:
            done = db.execute(
                "INSERT INTO applied_ops (op_id, kind, applied_at) VALUES (?, ?, ?)"
                " ON CONFLICT (op_id) DO NOTHING RETURNING op_id",
                (op.op_id, op.kind, _now()),
            ).fetchone()
            if done is None:
                return {"duplicate": True}
            return fn(self, db, op.data)

    # ------------------------------------------------------------ incidents

    @staticmethod
    def prepare_report(
        report: TriageReport,
        signature: Signature | None = None,
        *,
        alerts: Iterable[Alert] = (),
    ) -> WriteOp:
        """The `incident.record` op for one triage (no database access)."""
        pub = report.to_public()
        sig = signature if signature is not None else similarity.signature_from_report(pub)
        ev_by_id = {e["id"]: e for e in pub["evidence"]}
        hyps = []
        for h in pub["hypotheses"]:
            hsig = similarity.signature_from_report(
                {"alert": {}, "evidence": [ev_by_id[x] for x in h["evidence"] if x in ev_by_id]}
            )
            hyps.append(
                {
                    "rank": h["rank"],
                    "kind": h["kind"],
                    "service": h["service"],
                    "subject": h["subject"],
                    "statement": h["statement"],
                    "confidence": h["confidence"],
                    "signature": similarity.to_json(hsig),
                }
            )
        now = _now()
        return WriteOp(
            "incident.record",
            {
                "uid": "inc-" + secrets.token_hex(6),
                "at": now,
                "alert": _alert_json(report.alert),
                "onset": _iso(report.onset),
                "bundle_id": report.bundle_id,
                "classification": report.verdict.classification,
                "escalate": bool(report.verdict.escalate),
                "reason": report.verdict.reason,
                "signature": similarity.to_json(sig),
                "report": json.loads(json.dumps(pub, default=str)),
                "hypotheses": hyps,
                "alerts": [_alert_json(x) for x in [report.alert, *alerts]],
            },
        )

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
        op = self.prepare_report(report, signature, alerts=alerts)
        res = self.submit(op)
        inc = self.provisional_incident(op)
        if "incident_id" not in res:  # held by a spool (or a replayed duplicate)
            return inc
        # what was written, numbered, not read back: three round trips fewer to a team
        # store (callers use the number, the uid and whether it was reused; `get()`
        # reads the whole incident, with the runbook runs made on a reused one)
        inc.id = int(res["incident_id"])
        inc.uid = str(res.get("incident_uid") or inc.uid)
        inc.created_at = str(res.get("created_at") or inc.created_at)
        inc.origin = str(res.get("origin") or inc.origin)
        inc.reused = bool(res.get("reused"))
        return inc

    @staticmethod
    def provisional_incident(op: WriteOp) -> Incident:
        """The incident an `incident.record` op will create, before it is applied
        (`id` 0: it has no number until the team store has it)."""
        d, a = op.data, op.data["alert"]
        return Incident(
            id=0,
            uid=str(d["uid"]),
            created_at=str(d["at"]),
            alert_id=str(a["id"]),
            alert_name=str(a["name"]),
            service=a["service"],
            severity=a["severity"],
            labels=dict(a["labels"]),
            starts_at=a["starts_at"],
            onset=d["onset"],
            bundle_id=d["bundle_id"],
            classification=str(d["classification"]),
            escalate=bool(d["escalate"]),
            reason=str(d["reason"]),
            signature=dict(d["signature"]),
            report=dict(d["report"]),
            status="open",
            cause_kind=None,
            cause_service=None,
            cause_change=None,
            cause_rank=None,
            note=None,
            resolved_at=None,
            origin="local",
            hypotheses=[dict(h) for h in d["hypotheses"]],
        )

    def _apply_record(self, c: Database, d: dict[str, Any]) -> dict[str, Any]:
        a = d["alert"]
        prev = c.execute(
            """SELECT id, uid, created_at, origin FROM incidents WHERE alert_id = ?
               AND status = 'open'
               AND starts_at IS NOT DISTINCT FROM ? AND bundle_id IS NOT DISTINCT FROM ?
               AND origin IN ('local', 'migrated') ORDER BY id DESC LIMIT 1""",
            (a["id"], a["starts_at"], d["bundle_id"]),
        ).fetchone()
        sig = json.dumps(d["signature"], sort_keys=True)
        report = json.dumps(d["report"])
        labels = json.dumps(a["labels"], sort_keys=True)
        reused = prev is not None
        if prev is not None:
            iid = int(prev[0])
            c.execute(
                """UPDATE incidents SET alert_name = ?, service = ?, severity = ?,
                   labels = ?, onset = ?, classification = ?, escalate = ?, reason = ?,
                   signature = ?, report = ? WHERE id = ?""",
                (
                    a["name"],
                    a["service"],
                    a["severity"],
                    labels,
                    d["onset"],
                    d["classification"],
                    int(d["escalate"]),
                    d["reason"],
                    sig,
                    report,
                    iid,
                ),
            )
            c.execute("DELETE FROM hypotheses WHERE incident_id = ?", (iid,))
        else:
            row = c.execute(
                """INSERT INTO incidents (uid, created_at, alert_id, alert_name, service,
                   severity, labels, starts_at, onset, bundle_id, classification, escalate,
                   reason, signature, report, origin)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, 'local') RETURNING id""",
                (
                    d["uid"],
                    d["at"],
                    a["id"],
                    a["name"],
                    a["service"],
                    a["severity"],
                    labels,
                    a["starts_at"],
                    d["onset"],
                    d["bundle_id"],
                    d["classification"],
                    int(d["escalate"]),
                    d["reason"],
                    sig,
                    report,
                ),
            ).fetchone()
            iid = int(row[0])
        c.executemany(
            """INSERT INTO hypotheses (incident_id, rank, kind, service, subject,
               statement, confidence, signature) VALUES (?,?,?,?,?,?,?,?)""",
            [
                (
                    iid,
                    h["rank"],
                    h["kind"],
                    h["service"],
                    h["subject"],
                    h["statement"],
                    h["confidence"],
                    json.dumps(h["signature"], sort_keys=True),
                )
                for h in d["hypotheses"]
            ],
        )
        self._add_alert_events(c, d["alerts"], d["at"])
        return {
            "incident_id": iid,
            "uid": d["uid"] if not reused else None,
            "reused": reused,
            # the incident's own, for `record_report` (an updated one keeps its first)
            "incident_uid": str(prev[1]) if prev is not None else d["uid"],
            "created_at": str(prev[2]) if prev is not None else d["at"],
            "origin": str(prev[3]) if prev is not None else "local",
        }

    def _row_to_incident(self, r: Any, full: bool = True) -> Incident:
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
    def _run_dict(x: Any) -> dict[str, Any]:
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
        """An incident by number, uid or unique uid prefix (>= 6 characters)."""
        return self._row_to_incident(self._find(self.db, ref))

    def merged_into(self, ref: str) -> str | None:
        """The incident an incident recorded offline as `ref` was merged into when it
        was sent (team mode: `TeamStore`); a local memory never merges one."""
        return None

    def _find(self, db: Database, ref: str) -> Any:
        """`_find_incident`, and failing that the incident `ref` was merged into."""
        try:
            return _find_incident(db, ref)
        except UsageError:
            into = self.merged_into(ref)
            if into is None:
                raise
            return _find_incident(db, into)

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
        force: bool = False,
    ) -> Incident:
        """Confirm an incident's root cause: a hypothesis rank, or kind + service.
        A different cause confirmed before is kept (UsageError) unless `force`."""
        res = self.confirm_cause(
            ref, rank=rank, kind=kind, service=service, change=change, note=note, force=force
        )
        return res.incident if res.incident is not None else self.get(ref)

    def confirm_cause(
        self,
        ref: str,
        *,
        rank: int | None = None,
        kind: str | None = None,
        service: str | None = None,
        change: str | None = None,
        note: str | None = None,
        force: bool = False,
    ) -> Resolution:
        """`resolve`, saying whether the write was applied or waits in a spool.

        The check against a cause already confirmed (by a teammate, on a team store)
        runs in the write's own transaction, so two engineers resolving at once cannot
        both win: the second is refused (exit 2) unless `force`."""
        check_cause_args(ref, rank, kind, service, change)
        inc = self.get(ref)
        kind, service, change, rank = _cause_of(inc.id, inc.hypotheses, rank, kind, service, change)
        res = self.submit(
            WriteOp(
                "incident.resolve",
                {
                    "uid": inc.uid,
                    "kind": kind,
                    "service": service,
                    "change": change,
                    "rank": rank,
                    "note": note,
                    "at": _now(),
                    "force": force,
                },
            )
        )
        cause = {"kind": kind, "service": service, "change_id": change, "rank": rank}
        if "conflict" in res:
            raise UsageError(str(res["conflict"]), hint=str(res["hint"]))
        if "skipped" in res:
            raise UsageError(str(res["skipped"]), hint="run `aisre incident list`")
        if res.get("spooled"):
            return Resolution(ref, cause)
        return Resolution(ref, cause, self.get(inc.uid))

    def _apply_resolve(self, c: Database, d: dict[str, Any]) -> dict[str, Any]:
        """Confirm a cause, in the write transaction. An op made with the team store
        down names the incident as typed (`ref`) and may give only a rank: both are
        looked up here, at replay. A cause already confirmed that differs is kept
        unless the op says `force`; the result then says why (`conflict`, and a `note`
        for a replay, which must not stop on it)."""
        try:
            if "ref" in d:
                row = self._find(c, str(d["ref"]))
                hyps = [
                    dict(zip(("rank", "kind", "service", "subject"), h, strict=True))
                    for h in c.query(
                        "SELECT rank, kind, service, subject FROM hypotheses"
                        " WHERE incident_id = ? ORDER BY rank",
                        (row["id"],),
                    )
                ]
                kind, service, change, rank = _cause_of(
                    int(row["id"]), hyps, d["rank"], d["kind"], d["service"], d["change"]
                )
            else:
                row = self._find(c, str(d["uid"]))
                kind, service, change, rank = d["kind"], d["service"], d["change"], d["rank"]
        except UsageError as err:  # offline, nothing could be checked: said, not fatal
            why = f"the confirmed cause kept in the local spool was not applied: {err.message}"
            return {"skipped": err.message, "note": why}
        iid, uid = int(row["id"]), str(row["uid"])
        note = d["note"]
        had = row["status"] == "resolved" and row["cause_kind"] is not None
        same = had and _same_cause(
            (row["cause_kind"], row["cause_service"], row["cause_change"]), (kind, service, change)
        )
        if had and not same and not d.get("force"):
            old = _cause_words(row["cause_kind"], row["cause_service"], row["cause_change"])
            new = _cause_words(kind, service, change)
            when = f", confirmed {str(row['resolved_at'])[:19]}" if row["resolved_at"] else ""
            said = f' (note: "{" ".join(str(row["note"]).split())}")' if row["note"] else ""
            # the command as typed offline, pasteable: the change and the note go with it
            # (quoted for the shell; the note on one line, as it is shown)
            q = shlex.quote
            again = f"aisre incident resolve {iid} --kind {q(kind)} --service {q(service)}"
            again += f" --change {q(change)}" if change else ""
            again += f" --note {q(' '.join(str(note).split()))}" if note else ""
            return {
                "uid": uid,
                "conflict": f"incident {iid} already has a confirmed cause: {old}{when}{said};"
                f" not replaced by {new}",
                "hint": "if it is wrong, run the same command with --force to replace it"
                " (and its note)",
                "note": f"incident {iid}: the confirmed cause kept in the local spool ({new})"
                f" was not applied: it already has {old}{when}; to replace it: {again} --force",
            }
        if same:  # the same cause again: the more precise change and the old note stay
            change = change or row["cause_change"]
            note = note if note is not None else row["note"]
        elif not had:
            note = note if note is not None else row["note"]
        # else: a different cause, forced: the old note described the old cause
        c.execute(
            """UPDATE incidents SET status = 'resolved', cause_kind = ?, cause_service = ?,
               cause_change = ?, cause_rank = ?, note = ?, resolved_at = ? WHERE id = ?""",
            (kind, service, change, rank, note, d["at"], iid),
        )
        return {"uid": uid, "incident_id": iid}

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
    def _add_alert_events(c: Database, alerts: Iterable[Mapping[str, Any]], now: str) -> None:
        c.executemany(
            """INSERT INTO alert_events (alert_id, starts_at, alert_name, service, ends_at,
               seen_at) VALUES (?,?,?,?,?,?)
               ON CONFLICT (alert_id, starts_at) DO UPDATE SET
               ends_at = excluded.ends_at, seen_at = excluded.seen_at""",
            [(a["id"], a["starts_at"], a["name"], a["service"], a["ends_at"], now) for a in alerts],
        )

    def record_alerts(self, alerts: Iterable[Alert]) -> None:
        """Record firing episodes (one per alert and `startsAt`; `endsAt` is updated)."""
        lst = list(alerts)
        if not lst:
            return
        self.submit(
            WriteOp("alerts.record", {"alerts": [_alert_json(a) for a in lst], "at": _now()})
        )

    def _apply_alerts(self, c: Database, d: dict[str, Any]) -> dict[str, Any]:
        self._add_alert_events(c, d["alerts"], d["at"])
        return {"alerts": len(d["alerts"])}

    def alert_episodes(self, alert_id: str, since: datetime) -> list[noise.Episode]:
        rows = self._read(
            "SELECT starts_at, ends_at FROM alert_events WHERE alert_id = ? AND starts_at >= ?",
            (alert_id, _iso(since)),
        )
        return [noise.Episode(cast(datetime, _dt(r["starts_at"])), _dt(r["ends_at"])) for r in rows]

    def actions_on(self, alert_id: str) -> int:
        """Runbook runs (not aborted) and confirmed causes recorded for this alert (one
        statement: one round trip to a team store)."""
        row = self._read(
            "SELECT (SELECT count(*) FROM runbook_runs WHERE alert_id = ?"
            " AND outcome != 'aborted'), (SELECT count(*) FROM incidents WHERE alert_id = ?"
            " AND status = 'resolved' AND cause_kind IS NOT NULL)",
            (alert_id, alert_id),
        )[0]
        return int(row[0]) + int(row[1])

    def noise(self, alert: Alert) -> noise.NoiseVerdict:
        since = alert.starts_at - timedelta(days=noise.WINDOW_DAYS)
        return noise.assess(
            self.alert_episodes(alert.id, since), self.actions_on(alert.id), alert.starts_at
        )

    # ------------------------------------------------------------ runbook track record

    def record_run(self, run: RunOutcome) -> None:
        """Record (or update, on resume) one runbook run's outcome."""
        if run.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {run.outcome!r}")
        self.submit(
            WriteOp(
                "run.record",
                {
                    "run_id": run.run_id,
                    "runbook_id": run.runbook_id,
                    "kind": run.kind or "unknown",
                    "alert_id": run.alert_id,
                    "outcome": run.outcome,
                    "environment": run.environment,
                    "audit_head": run.audit_head,
                    "steps": dict(run.steps),
                    "at": _now(),
                },
            )
        )

    def _apply_run(self, c: Database, d: dict[str, Any]) -> dict[str, Any]:
        inc_uid = None
        if d["alert_id"]:
            row = c.execute(
                "SELECT uid FROM incidents WHERE alert_id = ? ORDER BY id DESC LIMIT 1",
                (d["alert_id"],),
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
                d["run_id"],
                d["runbook_id"],
                d["kind"],
                d["alert_id"],
                inc_uid,
                d["outcome"],
                d["environment"],
                d["audit_head"],
                json.dumps(d["steps"], sort_keys=True),
                d["at"],
            ),
        )
        return {"run_id": d["run_id"]}

    def _count_runs(
        self, runbook_id: str, kind: str, outcomes: tuple[str, ...], environment: str | None
    ) -> int:
        marks = ",".join("?" * len(outcomes))
        where: str = ""
        args: tuple[str, ...] = ()
        if environment is not None:
            where, args = " AND environment = ?", (environment,)
        return int(
            self._read(
                f"SELECT count(*) FROM runbook_runs WHERE runbook_id = ? AND kind = ?"
                f" AND outcome IN ({marks}){where}",
                (runbook_id, kind, *outcomes, *args),
            )[0][0]
        )

    def successes(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        """Verified runs of this runbook for this failure class (governance's trust), in
        `environment` (None: in any)."""
        return self._count_runs(runbook_id, kind, SUCCESS, environment)

    def failures(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        """Runs whose verification failed or that were undone, in `environment`."""
        return self._count_runs(runbook_id, kind, FAILURE, environment)

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

    # ------------------------------------------------------------ change feed

    def record_change(
        self,
        change: Change,
        *,
        direct: bool = False,
        id_given: bool = False,
        at_given: bool = False,
    ) -> dict[str, Any]:
        """Append one change event to the store's change feed (idempotent by id) and
        say what happened: `spooled` (kept in the local spool, `submit`), `already`
        (the id was recorded with the same service, version and time), or `conflict`
        (recorded as another change: nothing written, `note` says so).

        `direct`: straight to the database, never to a spool (`change record
        --no-spool`): an unreachable store raises `MemoryUnavailable`. `id_given`: the
        id is the pipeline's own (`--id`), so the same id again is checked against the
        recorded change rather than dropped; `at_given`: its time was given too, and
        is part of that check."""
        data: dict[str, Any] = {
            "id": change.id,
            "ts": _iso(change.ts),
            "service": change.service,
            "kind": change.kind,
            "summary": change.summary,
            "version": change.version,
            "previous_version": change.previous_version,
            "author": change.author,
            "url": change.url,
            "at": _now(),
        }
        if id_given:  # older spooled ops lack both: a repeated id is dropped, as before
            data["id_given"] = True
            data["at_given"] = at_given
        op = WriteOp("change.record", data)
        if direct:
            return self.apply(WriteOp(op.kind, _encodable_data(op.data), op.op_id))
        return self.submit(op)

    def _apply_change(self, c: Database, d: dict[str, Any]) -> dict[str, Any]:
        new = c.execute(
            """INSERT INTO changes (id, ts, service, kind, summary, version, previous_version,
               author, url, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT (id) DO NOTHING RETURNING id""",
            (
                d["id"],
                d["ts"],
                d["service"],
                d["kind"],
                d["summary"] or "",
                d["version"],
                d["previous_version"],
                d["author"],
                d["url"],
                d["at"],
            ),
        ).fetchone()
        if new is not None or not d.get("id_given"):
            return {"change_id": d["id"]}
        # the pipeline's own id again: the same change (a re-run step, a replay of a
        # spooled record) is no news; another change under that id is not applied
        from aisre_cli.sources.changefile import differences

        row = c.execute("SELECT * FROM changes WHERE id = ?", (d["id"],)).fetchone()
        if row is None:  # deleted meanwhile (cannot happen within the transaction)
            return {"change_id": d["id"]}
        old = self._change_row(row)
        asked = old.model_copy(
            update={"service": d["service"], "version": d["version"], "ts": _dt(d["ts"])}
        )
        diff = differences(old, asked, at_given=bool(d.get("at_given")))
        if not diff:
            return {"change_id": d["id"], "already": True}
        return {
            "change_id": d["id"],
            "conflict": diff,
            "note": f"change {d['id']} of {d['service']} was not recorded: that id is already"
            f" recorded with {', '.join(diff)} (another change under the same id)",
        }

    def _change_row(self, r: Any) -> Change:
        return Change(
            id=str(r["id"]),
            ts=cast(datetime, _dt(r["ts"])),
            service=str(r["service"]),
            kind=r["kind"],
            summary=str(r["summary"] or ""),
            version=r["version"],
            previous_version=r["previous_version"],
            author=r["author"],
            url=r["url"],
            source="memory",
            ref=f"{self.location.display}#change/{r['id']}",
        )

    def change(self, change_id: str) -> Change | None:
        """The change event recorded under `change_id`, if any."""
        rows = self._read("SELECT * FROM changes WHERE id = ?", (change_id,))
        return self._change_row(rows[0]) if rows else None

    def changes(
        self, start: datetime, end: datetime, *, service: str | None = None
    ) -> list[Change]:
        """Change events with `start <= ts <= end` (oldest first)."""
        sql = "SELECT * FROM changes WHERE ts >= ? AND ts <= ?"
        args: list[Any] = [_iso(start), _iso(end)]
        if service is not None:
            sql += " AND service = ?"
            args.append(service)
        rows = self._read(sql + " ORDER BY ts, id", args)
        return [self._change_row(r) for r in rows]

    def last_version(self, service: str, before: datetime | None = None) -> str | None:
        sql = "SELECT version FROM changes WHERE service = ? AND version IS NOT NULL"
        args: list[Any] = [service]
        if before is not None:
            sql += " AND ts <= ?"
            args.append(_iso(before))
        rows = self._read(sql + " ORDER BY ts DESC, recorded_at DESC LIMIT 1", args)
        return str(rows[0][0]) if rows else None

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
        from aisre_cli.memory.exportfile import load_export

        data = load_export(data)  # every field checked before anything is written
        counts = {"added": 0, "updated": 0, "unchanged": 0, "runs_added": 0, "events_added": 0}
        try:
            with self.db.transaction() as c:
                for d in data.get("incidents") or []:
                    self._import_incident(c, d, origin, counts)
                for r in data.get("runbook_runs") or []:
                    row = c.execute(
                        """INSERT INTO runbook_runs (run_id, runbook_id, kind, alert_id,
                           incident_uid, outcome, environment, audit_head, steps, finished_at)
                           VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (run_id) DO NOTHING
                           RETURNING run_id""",
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
                    ).fetchone()
                    counts["runs_added"] += row is not None
                for e in data.get("alert_events") or []:
                    row = c.execute(
                        """INSERT INTO alert_events (alert_id, starts_at, alert_name,
                           service, ends_at, seen_at) VALUES (?,?,?,?,?,?)
                           ON CONFLICT (alert_id, starts_at) DO NOTHING RETURNING alert_id""",
                        (
                            str(e["alert_id"]),
                            str(e["starts_at"]),
                            str(e["alert_name"]),
                            e.get("service"),
                            e.get("ends_at"),
                            _now(),
                        ),
                    ).fetchone()
                    counts["events_added"] += row is not None
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise UsageError(
                f"malformed memory export: {type(exc).__name__}: {exc}",
                hint="nothing was imported",
            ) from None
        return counts

    def _import_incident(
        self, c: Database, d: Mapping[str, Any], origin: str, counts: dict[str, int]
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
        new = c.execute(
            """INSERT INTO incidents (uid, created_at, alert_id, alert_name, service, severity,
               labels, starts_at, onset, bundle_id, classification, escalate, reason, signature,
               report, status, cause_kind, cause_service, cause_change, cause_rank, note,
               resolved_at, origin)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id""",
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
        ).fetchone()
        iid = int(new[0])
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

    _APPLY: dict[str, Callable[[MemoryStore, Database, dict[str, Any]], dict[str, Any]]] = {
        "incident.record": _apply_record,
        "incident.resolve": _apply_resolve,
        "alerts.record": _apply_alerts,
        "run.record": _apply_run,
        "change.record": _apply_change,
    }


@dataclass(frozen=True)
class Resolution:
    """What `MemoryStore.confirm_cause` did."""

    ref: str
    """The incident as the user named it (number, uid or uid prefix)."""
    cause: dict[str, Any]
    """kind, service, change_id, rank as far as known (offline, `--cause RANK` is a rank
    only: the hypothesis is looked up when the spool is replayed)."""
    incident: Incident | None = None
    """The incident as stored now; None when the write waits in the local spool."""

    @property
    def spooled(self) -> bool:
        return self.incident is None


def check_cause_args(
    ref: str, rank: int | None, kind: str | None, service: str | None, change: str | None
) -> None:
    """The checks of `incident resolve`'s flags that need no database."""
    if rank is not None:
        if kind or service or change:
            raise UsageError("--cause RANK and --kind/--service/--change are exclusive")
        return
    if not kind or not service:
        raise UsageError(
            "say what the cause was: --cause RANK, or --kind KIND --service SERVICE",
            hint=f"e.g. aisre incident resolve {ref} --cause 1",
        )
    if kind not in HYPOTHESIS_KINDS:
        raise UsageError(f"unknown kind {kind!r}", hint="one of: " + ", ".join(HYPOTHESIS_KINDS))


def _cause_of(
    iid: int,
    hypotheses: list[dict[str, Any]],
    rank: int | None,
    kind: str | None,
    service: str | None,
    change: str | None,
) -> tuple[str, str, str | None, int | None]:
    """(kind, service, change, rank) of a confirmed cause: the hypothesis ranked `rank`,
    or `kind` on `service` and the rank it had among the hypotheses (None: not found)."""
    if rank is not None:
        hyp = next((h for h in hypotheses if h["rank"] == rank), None)
        if hyp is None:
            raise UsageError(
                f"incident {iid} has no hypothesis ranked {rank}",
                hint=f"it has {len(hypotheses)}; see `aisre incident show {iid}`",
            )
        kind, service = str(hyp["kind"]), str(hyp["service"])
        if kind in ("deploy", "config_change") and hyp["subject"]:
            change = str(hyp["subject"])
        return kind, service, change, rank
    assert kind is not None and service is not None  # check_cause_args
    exact = [
        int(h["rank"])
        for h in hypotheses
        if h["kind"] == kind
        and h["service"] == service
        and (change is None or h["subject"] == change)
    ]
    # the culprit service ranked under another kind still counts as found
    near = [int(h["rank"]) for h in hypotheses if h["service"] == service]
    found = exact or near
    if change is None and exact and kind in ("deploy", "config_change"):
        # `--kind deploy --service payments` names the change its hypothesis names, as
        # `--cause RANK` does (the change id is what the next known_issue cites)
        hyp = next(h for h in hypotheses if int(h["rank"]) == exact[0])
        change = str(hyp["subject"]) if hyp["subject"] else None
    return kind, service, change, found[0] if found else None


def _same_cause(old: tuple[Any, Any, Any], new: tuple[Any, Any, Any]) -> bool:
    """The same kind on the same service; a change id named on one side only does not
    make it another cause (it makes it a more precise one)."""
    return old[0] == new[0] and old[1] == new[1] and (not old[2] or not new[2] or old[2] == new[2])


def _cause_words(kind: Any, service: Any, change: Any) -> str:
    return f"{kind} on {service}" + (f" (change {change})" if change else "")


def _find_incident(db: Database, ref: str) -> Any:
    """The row of an incident by number, uid or unique uid prefix (>= 6 characters)."""
    ref = ref.strip()
    rows: list[Any] = []
    if ref.isdigit():
        rows = db.query("SELECT * FROM incidents WHERE id = ?", (int(ref),))
    elif ref:
        rows = db.query("SELECT * FROM incidents WHERE uid = ?", (ref,))
        if not rows and len(ref) >= 6:
            rows = db.query(
                "SELECT * FROM incidents WHERE uid LIKE ? ESCAPE '\\' LIMIT 2",
                (ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
            )
    if not rows:
        raise UsageError(f"no incident {ref!r} in the memory", hint="run `aisre incident list`")
    if len(rows) > 1:
        raise UsageError(f"incident {ref!r} is ambiguous", hint="give more of the uid")
    return rows[0]


class StoreChangeFeed:
    """The store's change feed as a `ChangeSource` (team mode: what CI recorded with
    `aisre change record` is seen by every engineer's triage)."""

    def __init__(self, store: MemoryStore, name: str = "changes") -> None:
        self.store = store
        self.name = name
        self.path = store.location.display

    def fetch_changes(self, start: datetime, end: datetime) -> list[Change]:
        return self.store.changes(start, end)

    def last_version(self, service: str, before: datetime | None = None) -> str | None:
        return self.store.last_version(service, before)

    def drain_notes(self) -> list[Any]:
        return []

    def record(self, *, service: str, **fields: Unpack[ChangeFields]) -> Change:
        """Record one change event in the store (the same rules as the file feed)."""
        return self.record_once(service=service, **fields).change

    def record_once(
        self,
        *,
        service: str,
        kind: str = "deploy",
        version: str | None = None,
        summary: str = "",
        previous_version: str | None = None,
        author: str | None = None,
        url: str | None = None,
        ts: datetime | None = None,
        change_id: str | None = None,
        spool: bool = True,
    ) -> Recorded:
        """Record one change event, unless `change_id` (the pipeline's own id) is
        recorded already: in the store, or (with `spool`) waiting in this machine's
        local spool. The same id with another service, version or time (`ts`, when
        given) is a `ChangeConflict`; a replayed spool record meets the same check.

        `spool=False` (`change record --no-spool`, the default under CI): the change
        goes to the team store or nowhere; an unreachable store is an error (exit 3)
        and nothing is kept on this machine."""
        from aisre_cli.sources.changefile import Recorded, check_same, conflict_error, make_change

        change = make_change(
            self.last_version,
            source="memory",
            service=service,
            kind=kind,
            version=version,
            summary=summary,
            previous_version=previous_version,
            author=author,
            url=url,
            ts=ts,
            change_id=change_id,
        )
        at_given = ts is not None
        if change_id is not None:
            old, waiting = self._recorded(change.id, spool)
            if old is not None:
                check_same(old, change, at_given=at_given)
                return Recorded(old, new=False, spooled=waiting)
        try:
            res = self.store.record_change(
                change, direct=not spool, id_given=change_id is not None, at_given=at_given
            )
        except (MemoryUnavailable, migrations.SchemaTooNew) as exc:
            if spool:  # what the spool would have kept (a refused password is not)
                raise
            raise self._not_recorded(exc) from None
        if res.get("conflict"):  # recorded meanwhile by another run, as another change
            raise conflict_error(change.id, list(res["conflict"]))
        if res.get("already"):
            return Recorded(self._readable(change.id) or change, new=False)
        return Recorded(change, spooled=bool(res.get("spooled")))

    def _readable(self, change_id: str) -> Change | None:
        try:
            return self.store.change(change_id)
        except MemoryStoreError:  # offline, or a schema this aisre may not read
            return None

    def _recorded(self, change_id: str, spool: bool) -> tuple[Change | None, bool]:
        """(the change recorded under `change_id`, or None; whether it is the one
        waiting in the local spool). The spool counts only when `spool`: with
        `--no-spool` the change must reach the team store itself."""
        found = self._readable(change_id)
        if found is not None or not spool:
            return found, False
        sp: Spool | None = getattr(self.store, "spool", None)
        if sp is None:
            return None, False
        from aisre_cli.errors import AisreError
        from aisre_cli.memory.spool import store_key

        key = store_key(self.store.location)
        try:
            pending = sp.pending()
        except AisreError:  # a damaged spool: the write says so (exit 6)
            return None, False
        for r in reversed(pending):
            op = r.payload.get("op")
            if not isinstance(op, dict) or op.get("kind") != "change.record":
                continue
            d = op.get("data")
            if not isinstance(d, dict) or d.get("id") != change_id:
                continue
            if r.payload.get("store", key) != key:
                continue  # waiting for another team store
            try:
                return Change(
                    id=change_id,
                    ts=cast(datetime, _dt(d.get("ts"))),
                    service=d.get("service"),
                    kind=d.get("kind"),
                    summary=d.get("summary") or "",
                    version=d.get("version"),
                    previous_version=d.get("previous_version"),
                    author=d.get("author"),
                    url=d.get("url"),
                    source="memory",
                    ref=f"{sp.path}#seq/{r.seq}",
                ), True
            except (TypeError, ValueError):  # not a change this aisre wrote: not ours
                continue
        return None, False

    def _not_recorded(self, exc: MemoryStoreError) -> MemoryStoreError:
        """`--no-spool` and the team store did not take the change: one line saying it
        is NOT recorded, and how to retry or keep it."""
        if isinstance(exc, migrations.SchemaNeedsOwner | migrations.SchemaTooNew):
            what = "cannot take writes now"  # a schema this aisre may not write
        elif "the team memory is busy" in exc.message:  # a lock another client holds
            what = "is busy"
        else:
            what = "is unreachable"
        keep = "; with --spool it waits in this machine's local spool until `aisre memory sync`"
        return MemoryStoreError(
            f"the team store {what}; the change was NOT recorded; retry, or pass --spool"
            " to keep it on this machine",
            hint=f"{exc.message}{keep} sends it",
            exit_code=exc.exit_code,
        )

    def close(self) -> None:
        self.store.close()


def open_store(
    path: Path | None = None,
    *,
    memory_url: str | None = None,
    password_name: str | None = None,
    profile: Profile | None = None,
    spool: bool = True,
    busy_timeout_ms: int | None = None,
    keep_refused: bool = False,
) -> MemoryStore:
    """The memory a profile names (`memory_url`), else the local SQLite file.

    A team store comes with its local spool (memory/teamstore.py; `spool=False`: the
    bare store, errors and all, for `aisre memory migrate/status`). `busy_timeout_ms`:
    how long the local memory waits for another process's lock (default
    `backend.BUSY_TIMEOUT_MS`; triage: `backend.TRIAGE_LOCK_WAIT_MS`); the team store
    has its own limits; `keep_refused`: see `teamstore.open_team_store`."""
    if profile is not None:
        memory_url = memory_url or profile.memory_url
        password_name = password_name or profile.memory_password_name
    loc = location_for(memory_url, password_name, path=path)
    if loc.pg is not None and spool:
        from aisre_cli.memory.teamstore import open_team_store

        # writes spooled while the server is down
        return open_team_store(loc, keep_refused=keep_refused)
    return MemoryStore(location=loc, busy_timeout_ms=busy_timeout_ms)
