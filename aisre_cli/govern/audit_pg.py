"""The team audit trail on PostgreSQL: one hash chain for the whole rotation.

Used instead of the local JSONL log (`govern/audit.py`) when the profile's
`memory_url` is a `postgresql://` URL (the same database and password as the team
memory; the table comes with its Alembic migrations, revision 0005). Records are the
same canonical JSON objects as in the local log (`v, seq, ts, prev, event, run, actor,
data`, plus `hash` and an optional `mac`), so `record_hash`, the HMAC chaining and the
verification rules are shared; the chain lives in the table `audit_log`:

    seq (primary key) | hash (unique) | prev | record (the canonical JSON text) | event
    | run | actor | ts | origin_id (unique) | local_seq | local_hash | host | stored_at

Append-only, three ways (docs/team-mode.md has the SQL): the tool's role is granted
SELECT and INSERT only; a trigger rejects UPDATE, DELETE and TRUNCATE for everyone but
a superuser who disables it; and `verify()` recomputes every hash and link, so a row
changed by someone who could get past both is still found.

No forks: an append takes `pg_advisory_xact_lock(AUDIT_LOCK)` in its transaction, reads
the head, inserts `seq + 1` chained to it and commits; concurrent writers queue on the
lock, so the chain is a line. (`seq` being the primary key is a second guard: a writer
that somehow skipped the lock fails instead of forking.)

When the server cannot be reached the record goes to the local spool, chained to the
previous *spooled* audit record (its local chain), fsynced, and the caller is told its
local hash; the replay (`replay_handler`) chains it into the team chain and keeps both
hashes (`local_seq`, `local_hash` columns, and a `spool` member in the team record, so
the team hash covers them). Every append carries a random `origin_id` chosen before the
first attempt: a commit whose answer was lost with the connection, then spooled and
replayed, is stored once (`ON CONFLICT (origin_id) DO NOTHING`).

Truncation: deleting rows at the *end* of a chain leaves a shorter chain that still
links. So every machine keeps a local anchor per team log (`team_anchor_path`): the seq
and hash of the newest team record it stored, moved forward only, fsynced. `verify()`
then also requires that record to be there, unchanged: a tail cut below what this
machine wrote is found without anyone having noted a head (`--expect-head` still covers
what other machines wrote). Each append checks, under the chain's lock, that the
anchored record is still there unchanged before moving the anchor past it; when it is
not, the record is still stored (the action it audits is not held up mid-page), the
anchor stays where it was (so `aisre audit verify` keeps reporting the cut), and
`integrity_warning` says what happened, for the run to show.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from aisre_cli.errors import ExitCode
from aisre_cli.govern.audit import (
    GENESIS,
    VERSION,
    AuditError,
    AuditRecord,
    Problem,
    VerifyReport,
    _actor,
    _check_mac,
    canonical,
    expected_head,
    hmac_key,
    read_anchor,
    record_hash,
    record_mac,
)
from aisre_cli.memory import migrations
from aisre_cli.memory.backend import (
    MemoryStoreError,
    MemoryUnavailable,
    PostgresDatabase,
    connect,
    location_for,
)
from aisre_cli.memory.spool import (
    Spool,
    SpoolDamaged,
    SpoolRecord,
    Unavailable,
    other_store,
    store_key,
)
from aisre_cli.runtime import heavy_import
from aisre_cli.settings import paths
from aisre_cli.settings.durable import write_atomic

AUDIT_LOCK = 0x61697372_65617564  # "aisr" "eaud": the advisory lock key of the chain
TABLE = "audit_log"
RETRY_DOWN_S = 30.0
"""After the server failed once, appends go straight to the spool for this long."""
_UNSET: Any = object()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _host() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return ""


class PgAuditLog:
    """The team audit log; the same `append`/`records`/`head` as `AuditLog`.

    `spool`: where records go while the server is down (None: raise instead).
    `before_append`: called before a direct append while the spool holds records, so
    they reach the team chain first (the team store wires its full replay here).
    """

    def __init__(
        self,
        url: str,
        *,
        spool: Spool | None = None,
        key: bytes | None = _UNSET,
        password_name: str | None = None,
        before_append: Callable[[], object] | None = None,
    ) -> None:
        self.location = location_for(url, password_name)
        if self.location.pg is None:
            raise ValueError(f"not a PostgreSQL URL: {url!r}")
        self.url = self.location.pg.url
        """The URL as it may be shown (never a password)."""
        self.spool = spool
        self._key = key
        self._db: PostgresDatabase | None = None
        self._down_until = 0.0
        self.before_append = before_append
        self.last_spooled = False
        """The last `append` went to the spool (the server was unreachable)."""
        self.integrity_warning = ""
        """Set when an append found the record this machine anchored cut or rewritten
        (see the module docstring): one line for the run to show."""

    # ------------------------------------------------------------ plumbing

    @property
    def path(self) -> Path:
        """Where a single-user log would be (kept for callers that show a path)."""
        return paths.audit_log_file()

    @property
    def where(self) -> str:
        return f"{self.url}#{TABLE}"

    @property
    def key(self) -> bytes | None:
        if self._key is _UNSET:
            self._key = hmac_key()
        k: bytes | None = self._key
        return k

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    def _connection(self) -> PostgresDatabase:
        if self._db is not None and not self._db.conn.closed:
            return self._db
        if time.monotonic() < self._down_until:
            raise Unavailable(f"{self.url}: unreachable a moment ago")
        try:
            db = connect(self.location)
            try:
                migrations.check(db)  # a schema newer than this aisre: refused, untouched
            except BaseException:
                db.close()
                raise
        except (MemoryUnavailable, migrations.SchemaTooNew) as exc:
            # a schema newer than this aisre (a colleague upgraded first) holds writes in
            # the spool as an unreachable server does, as the memory's writes are held:
            # the rotation keeps its runbooks; the records are sent once this aisre is
            # upgraded
            self._down_until = time.monotonic() + RETRY_DOWN_S
            raise Unavailable(exc.message) from None
        assert isinstance(db, PostgresDatabase)
        self._db = db
        return db

    def _tx(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(conn)` in one transaction; an unreachable server is `Unavailable`,
        anything else the memory backend's error (a refused password: exit 4)."""
        psycopg = heavy_import("psycopg")
        db = self._connection()
        try:
            with db.conn.transaction():
                return fn(db.conn)
        except psycopg.Error as exc:
            err = db.error(exc)
            if isinstance(err, MemoryUnavailable):
                self.close()
                self._down_until = time.monotonic() + RETRY_DOWN_S
                raise Unavailable(err.message) from None
            if isinstance(exc, psycopg.errors.UndefinedTable):
                raise MemoryStoreError(
                    f"{self.where}: the team audit table is missing",
                    hint="run `aisre memory migrate --to URL` as the owner role"
                    " (docs/team-mode.md)",
                ) from None
            raise err from None

    # ------------------------------------------------------------ append

    def append(
        self, event: str, data: dict[str, Any], run: str | None = None, *, tag: str = ""
    ) -> AuditRecord:
        """Append to the team chain, or to the spool when the server is unreachable.

        Raises AuditError when neither is possible (the action then does not run)."""
        del tag  # crash points of the local log only
        origin = "au-" + secrets.token_hex(12)
        self.last_spooled = False
        base = {
            "v": VERSION,
            "ts": _now(),
            "event": event,
            "run": run,
            "actor": _actor(),
            "data": data,
        }
        try:
            if self.spool is not None and self.spool.has_pending():
                if self.before_append is not None:
                    self.before_append()
                if self.spool.has_pending():
                    # keep the order: nothing reaches the team chain ahead of the spool
                    raise Unavailable("the spool has not drained yet")
            return self._insert(base, origin, None)
        except Unavailable as exc:
            if self.spool is None:
                raise AuditError(
                    f"{self.where}: the team audit trail is unreachable ({exc})",
                    hint="nothing was run; retry when the database is back",
                ) from None
            return self._spool(base, origin)
        except MemoryStoreError as exc:
            if exc.exit_code == ExitCode.AUTH:
                raise
            raise AuditError(exc.message, hint="nothing was run; " + (exc.hint or "")) from None

    def _insert(
        self, base: dict[str, Any], origin: str, local: dict[str, Any] | None
    ) -> AuditRecord:
        key = self.key
        anchor = read_anchor(self.anchor_path)
        anchored: list[str | None] = []  # the hash now at the anchor's seq (None: gone)

        def tx(conn: Any) -> AuditRecord:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
            if anchor is not None:
                at = conn.execute(
                    f"SELECT hash FROM {TABLE} WHERE seq = %s", (anchor[0],)
                ).fetchone()
                anchored[:] = [str(at[0]) if at is not None else None]
            row = conn.execute(
                f"SELECT seq, record FROM {TABLE} WHERE origin_id = %s", (origin,)
            ).fetchone()
            if row is not None:  # already stored (a replay after a lost answer)
                return AuditRecord.from_dict(json.loads(row[1]))
            head = conn.execute(
                f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
            rec = dict(base, seq=seq + 1, prev=prev)
            if local is not None:
                rec["spool"] = local
            rec["hash"] = record_hash(rec)
            if key is not None:
                rec["mac"] = record_mac(key, rec["hash"])
            conn.execute(
                f"""INSERT INTO {TABLE} (seq, hash, prev, record, event, run, actor, ts,
                    origin_id, local_seq, local_hash, host)
                    VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)
                    ON CONFLICT (origin_id) DO NOTHING""",
                (
                    rec["seq"],
                    rec["hash"],
                    prev,
                    canonical(rec).decode(),
                    rec["event"],
                    rec["run"],
                    rec["actor"],
                    rec["ts"],
                    origin,
                    local["seq"] if local else None,
                    local["hash"] if local else None,
                    local.get("host") if local else _host(),
                ),
            )
            return AuditRecord.from_dict(rec)

        out: AuditRecord = self._tx(tx)
        if anchor is not None and anchored and anchored[0] != anchor[1]:
            a_seq, a_hash = anchor
            gone = "is gone" if anchored[0] is None else "was rewritten"
            self.integrity_warning = (
                f"{self.where}: record {a_seq} ({a_hash[:12]}…), which this machine stored,"
                f" {gone}: the team audit trail was cut or rewritten since. This record is"
                f" stored as {out.seq}; this machine's anchor stays at {a_seq}, so"
                " `aisre audit verify` keeps reporting it until the database owner looks"
            )
            return out
        self._anchor(out.seq, out.hash)
        return out

    @property
    def anchor_path(self) -> Path:
        return team_anchor_path(self.where)

    def _anchor(self, seq: int, h: str) -> None:
        """Move this machine's anchor of the team chain forward to (seq, h). Best
        effort: the record is stored already, and an anchor that lags only weakens the
        truncation check, never makes it fail wrongly."""
        p = self.anchor_path
        cur = read_anchor(p)
        if cur is not None and cur[0] >= seq:
            return
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(p, json.dumps({"log": self.where, "seq": seq, "hash": h}).encode())
        except OSError:
            pass

    def _spool(self, base: dict[str, Any], origin: str) -> AuditRecord:
        assert self.spool is not None
        key = self.key
        spool = self.spool
        store = store_key(self.location)

        def build(last: SpoolRecord | None) -> dict[str, Any]:
            # under the spool's append lock: the cursor cannot move past `last` meanwhile
            anchor = spool.audit_anchor()
            if last is not None:
                prev_rec = last.payload["record"]
                seq, prev = int(prev_rec["seq"]), str(prev_rec["hash"])
            elif anchor is not None:
                seq, prev = anchor
            else:
                seq, prev = 0, GENESIS
            rec = dict(base, seq=seq + 1, prev=prev)
            rec["hash"] = record_hash(rec)
            if key is not None:
                rec["mac"] = record_mac(key, rec["hash"])
            out: dict[str, Any] = {"record": rec, "host": _host()}
            if store is not None:
                out["store"] = store  # replayed into this team store only
            return out

        try:
            # intact: a record chained behind a damaged line would never reach the team
            # chain (the replay stops there), while the action it allows ran
            sr = self.spool.append_with("audit", build, rid=origin, intact=True)
        except SpoolDamaged as exc:  # nothing runs; the set-aside is the way out
            raise AuditError(
                f"the team audit trail is unreachable and {exc.message}",
                hint=f"nothing was run; {exc.hint}" if exc.hint else "nothing was run",
                exit_code=exc.exit_code,
            ) from None
        except Exception as exc:  # noqa: BLE001 - SpoolError or OSError: nothing runs
            raise AuditError(
                f"the team audit trail is unreachable and the local spool failed: {exc}",
                hint="nothing was run; fix the data directory or retry when the database is back",
            ) from None
        self.last_spooled = True
        return AuditRecord.from_dict(sr.payload["record"])

    # ------------------------------------------------------------ replay

    def replay_handler(self, rec: SpoolRecord) -> None:
        """Chain one spooled audit record into the team chain (idempotent on its id);
        one spooled for another team store stops the replay (`spool.other_store`)."""
        elsewhere = other_store(rec, store_key(self.location))
        if elsewhere is not None:
            raise elsewhere
        local = rec.payload["record"]
        if local.get("hash") != record_hash(local):
            raise AuditError(
                f"spooled audit record {rec.seq} does not match its hash (modified)",
                hint="the spool was left as it is; inspect it before replaying",
            )
        base = {k: local[k] for k in ("v", "ts", "event", "run", "actor", "data")}
        info = {
            "id": rec.id,
            "seq": local["seq"],
            "hash": local["hash"],
            "host": rec.payload.get("host", ""),
        }
        self._insert(base, rec.id, info)

    def import_local(self, rec: AuditRecord) -> AuditRecord:
        """Chain one record of a local JSONL audit log into the team chain (`aisre memory
        migrate`), keeping its local seq and hash; idempotent (keyed by that hash)."""
        base = {
            "v": VERSION,
            "ts": rec.ts,
            "event": rec.event,
            "run": rec.run,
            "actor": rec.actor,
            "data": rec.data,
        }
        origin = "jsonl-" + rec.hash
        info = {"id": origin, "seq": rec.seq, "hash": rec.hash, "host": _host()}
        try:
            return self._insert(base, origin, info)
        except Unavailable as exc:  # no spool here: the command stops, exit 3
            raise self._unreachable(exc) from None

    # ------------------------------------------------------------ reading

    def records(self) -> Iterator[AuditRecord]:
        """Every team record, oldest first, then the spooled ones not yet replayed (their
        `seq`/`prev` are those of the local chain). With the server down: the spooled
        ones only."""
        try:
            for raw, *_ in self._rows():
                yield AuditRecord.from_dict(json.loads(raw))
        except Unavailable:
            pass
        yield from self.spooled()

    def spooled(self) -> list[AuditRecord]:
        """The audit records waiting in the spool (local chain), oldest first."""
        if self.spool is None:
            return []
        return [
            AuditRecord.from_dict(r.payload["record"])
            for r in self.spool.pending()
            if r.kind == "audit"
        ]

    def _rows(self, batch: int = 2000) -> Iterator[tuple[str, int, str, str, str, str | None, str]]:
        last = 0
        while True:
            rows: list[Any] = self._tx(partial(_page, after=last, batch=batch))
            if not rows:
                return
            yield from rows
            last = int(rows[-1][1])

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest record: a spooled one (local chain) while the spool
        holds audit records, else the team head. `verify --expect-head` accepts both."""
        spooled = self.spooled()
        if spooled:
            return spooled[-1].seq, spooled[-1].hash
        try:
            row = self._tx(
                lambda c: c.execute(
                    f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1"
                ).fetchone()
            )
        except Unavailable as exc:
            raise AuditError(
                f"{self.where}: the team audit trail is unreachable ({exc})",
                hint="retry when the database is back",
            ) from None
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def count(self) -> int:
        """The team records; an unreachable server is `MemoryUnavailable` (exit 3)."""
        try:
            row = self._tx(lambda c: c.execute(f"SELECT count(*) FROM {TABLE}").fetchone())
        except Unavailable as exc:
            raise self._unreachable(exc) from None
        return int(row[0])

    def _unreachable(self, exc: Unavailable) -> MemoryUnavailable:
        """`Unavailable` (the spool's signal) as the error a command exits with."""
        return MemoryUnavailable(
            f"{self.where}: the team audit trail is unreachable ({exc})",
            hint="check that the PostgreSQL server is up and reachable from here, then retry",
        )

    def local_hashes(self, prefix: str) -> list[tuple[int, str]]:
        want = prefix.strip().lower()
        rows = self._tx(
            lambda c: c.execute(
                f"SELECT seq, hash FROM {TABLE} WHERE local_hash LIKE %s ORDER BY seq",
                (want + "%",),
            ).fetchall()
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    # ------------------------------------------------------------ verify

    def verify(self, *, expect_head: str | None = None) -> VerifyReport:
        """Check the whole team chain (see `audit.verify` for the rules); a row whose
        columns disagree with its record is reported too."""
        try:
            return self._verify(expect_head)
        except Unavailable as exc:
            raise AuditError(
                f"{self.where}: cannot verify, the team audit trail is unreachable ({exc})",
                hint="retry when the database is back",
                exit_code=ExitCode.SOURCE,
            ) from None

    def verify_spooled(self) -> tuple[int, Problem | None]:
        """Check the local chain of the audit records waiting in the spool: (how many,
        the first bad one or None). They continue the last replayed spooled record."""
        if self.spool is None:
            return 0, None
        anchor = self.spool.audit_anchor()
        seq, prev = anchor if anchor is not None else (0, GENESIS)
        k = self.key
        recs = [r.payload.get("record") or {} for r in self.spool.pending() if r.kind == "audit"]
        for n, rec in enumerate(recs, start=1):
            why = ""
            if rec.get("seq") != seq + 1:
                why = f"sequence {rec.get('seq')!r}, expected {seq + 1} (spooled record missing)"
            elif rec.get("prev") != prev:
                why = "prev hash does not match the spooled record before it"
            elif rec.get("hash") != record_hash(rec):
                why = "content does not match its hash (modified)"
            elif k is not None and "mac" in rec:
                why = _check_mac(rec, str(rec["hash"]), k, None)
            if why:
                return n - 1, Problem(int(rec.get("seq") or seq + 1), "spool: " + why)
            seq, prev = int(rec["seq"]), str(rec["hash"])
        return len(recs), None

    def _verify(self, expect_head: str | None) -> VerifyReport:
        k = self.key
        prev = GENESIS
        n = 0
        mac_from: int | None = None
        want = expected_head(expect_head)
        hits: list[int] = []
        anchor = read_anchor(self.anchor_path)
        at_anchor: str | None = None
        for raw, seq, h, p, event, run, actor in self._rows():
            if anchor is not None and int(seq) == anchor[0]:
                at_anchor = str(h)
            line = n + 1
            why = _check_row(raw, line, prev, int(seq), str(h), str(p), event, run, actor)
            rec = json.loads(raw) if not why else {}
            if not why and k is not None:
                why = _check_mac(rec, str(h), k, mac_from)
            if not why and mac_from is None and "mac" in rec:
                mac_from = line
            if why:
                return VerifyReport(
                    self.where, n, prev, Problem(line, why), None, mac=_mac_state(k, mac_from)
                )
            if want and str(h).startswith(want):
                hits.append(line)
            prev = str(h)
            n = line
        mac_state = _mac_state(k, mac_from)
        if k is not None and n >= 1 and mac_from is None:
            return VerifyReport(
                self.where,
                n,
                prev,
                Problem(n, "the newest record carries no MAC although an audit HMAC key is set"),
                None,
                mac="checked",
            )
        if anchor is not None:
            a_seq, a_hash = anchor
            why = ""
            if a_seq > n:
                why = (
                    f"record(s) {n + 1}..{a_seq} missing: this machine stored record {a_seq}"
                    f" ({a_hash[:12]}…) in the team log, which now ends at {n}"
                )
            elif at_anchor != a_hash:
                why = (
                    f"not the record this machine stored as {a_seq} ({a_hash[:12]}…): the"
                    " chain was rewritten from there"
                )
            if why:
                line = min(a_seq, n + 1)
                return VerifyReport(self.where, n, prev, Problem(line, why), None, mac=mac_state)
        expected_seq: int | None = None
        if expect_head:
            if GENESIS.startswith(want):
                hits = [0]  # the head before the first record
            if not hits:
                # the hash printed by a run whose records were spooled is the local one
                hits = [s for s, _ in self.local_hashes(want)]
            if len(hits) != 1:
                return VerifyReport(
                    self.where,
                    n,
                    prev,
                    Problem(
                        n + 1,
                        f"the expected head {want[:16]}… is not a record of this log (records"
                        " removed or the chain rewritten)"
                        if not hits
                        else f"the expected head {want} is ambiguous: give the full hash",
                    ),
                    None,
                    mac=mac_state,
                )
            expected_seq = hits[0]
        return VerifyReport(
            self.where, n, prev, None, None, False, mac_state, expected_head_seq=expected_seq
        )


def team_anchor_path(where: str) -> Path:
    """This machine's anchor of one team audit log (see the module docstring)."""
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return paths.audit_log_file().parent / "team-anchors" / f"{digest}.json"


def _page(c: Any, *, after: int, batch: int) -> list[Any]:
    rows: list[Any] = c.execute(
        f"""SELECT record, seq, hash, prev, event, run, actor FROM {TABLE}
            WHERE seq > %s ORDER BY seq LIMIT %s""",
        (after, batch),
    ).fetchall()
    return rows


def _mac_state(k: bytes | None, mac_from: int | None) -> str:
    if mac_from is None and k is None:
        return "off"
    return "checked" if k else "unchecked"


def _check_row(
    raw: str,
    line: int,
    prev: str,
    seq: int,
    h: str,
    p: str,
    event: str,
    run: str | None,
    actor: str,
) -> str:
    """ "" when the row is a good next link of the chain, else why not."""
    if seq != line:
        return f"sequence {seq}, expected {line} (a row deleted or inserted)"
    try:
        rec = json.loads(raw)
    except ValueError:
        return "not a JSON record (corrupted)"
    if not isinstance(rec, dict):
        return "not a JSON object (corrupted)"
    if rec.get("seq") != seq:
        return f"the record says sequence {rec.get('seq')!r}, its row {seq} (modified)"
    if rec.get("prev") != prev or p != prev:
        return "prev hash does not match the record before it (chain broken)"
    rh = rec.get("hash")
    if not isinstance(rh, str) or record_hash(rec) != rh or not hmac.compare_digest(rh, h):
        return "content does not match its hash (modified)"
    if canonical(rec).decode() != raw:
        return "not in canonical form (modified)"
    if (rec.get("event"), rec.get("run"), rec.get("actor")) != (event, run, actor):
        return "the row's columns do not match its record (modified)"
    return ""
