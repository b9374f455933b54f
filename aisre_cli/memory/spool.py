"""The durable local spool: team-store writes made while the team database is down.

In team mode (`memory_url: postgresql://…`) the incident memory, the change feed and
the audit trail live on a server. A page does not wait for that server: when it cannot
be reached, each write (an incident record, a change, an audit record of an action
taken) is appended here instead and replayed, in order, once the server answers again
(the next command that talks to the store, or `aisre memory sync`).

Layout: one directory per team store (`store_spool_dir`: `spool/<hash>-<slug>/`, with a
marker file `store` naming its `store_key`), holding that store's `memory/` and `audit/`
spools (`memory_spool(key)`, `audit_spool(key)`), so a store that is down holds no
other store's writes. The machine-wide `spool/memory/` and `spool/audit/` of older
releases are no longer written; a `StoreSpool` replays the records they hold for its
store first (in place, not migrated: see docs/team-mode.md).

Files, in each spool's directory:

* `spool.jsonl`: one record per line in canonical JSON:

      {"id":..,"kind":"audit","payload":{..},"seq":N,"sum":S,"ts":..,"v":1}

  `seq` counts up by one and never restarts (not even after the file is emptied);
  `id` is a random, globally unique id that the replay writes with the row
  (`INSERT … ON CONFLICT DO NOTHING` on it), so a record replayed twice is stored
  once; `sum` is the sha256 of the canonical record without `sum`.
* `spool.cursor`: `{"seq": N, ...}`, the last record known to be stored on the server,
  replaced atomically (write a temporary file, fsync, rename, fsync the directory).
* `spool.lock`: held (flock) by the one process replaying.

Durability: `append()` takes an exclusive flock on the spool file, writes the line with
one `write()` on an `O_APPEND` descriptor, fsyncs the file and (when it created the
file) the directory, and only then returns: a write the caller was told about survives
a power cut. A crash in the middle of a write leaves a *torn* last line; the next
append moves it to a sidecar file (`spool.jsonl.torn-<offset>`) and the replay never
sees it (the write it belonged to was never acknowledged).

Exactly-once replay: records are handed to the handler for their `kind` one at a time
in `seq` order; the handler stores the record in one server transaction keyed by the
record's `id`; then the cursor moves past it. A `kill -9` between the server commit and
the cursor write replays that record again, and the unique key makes it a no-op. When
every record is past the cursor, the file is truncated (under the append lock, so a
concurrent append is never lost).

Damage: a complete line whose checksum does not match, or a gap in `seq`, is
`SpoolDamaged` (exit 6, integrity, as for a tampered audit log). Nothing past it is
replayed, and `status()` reports it instead of raising. A memory write is not queued
behind damage anywhere in the spool (`spool_op` appends with `intact=True`, the
writer of a store that answers calls `check_intact()`): it is refused with that error,
which says how many writes wait there. `set_aside_damaged()` (`aisre
memory sync --set-aside-damaged`) is the way out: under both locks it copies the
damaged lines to `spool.jsonl.damaged-<time>` (0600, fsynced), drops records already
replayed, renumbers the pending ones from the cursor on (ids unchanged, so the replay
stays exactly-once) and renames the result over the spool. An appender that waited
for the lock on the old file sees the rename and reopens (`_locked_file`).

Audit records keep their own local hash chain inside the spool (`payload.record` is an
audit record whose `seq`/`prev` are counted among the spooled audit records only); the
last replayed one is kept in the cursor so the chain of what remains can still be
checked. The replay chains each one into the team chain and stores both hashes.

Nothing here knows what a record means: the caller supplies the handlers, so this
module sits in the memory layer while the audit handler lives in governance.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisre_cli.errors import AisreError, ExitCode, UsageError, crashpoint
from aisre_cli.settings import paths
from aisre_cli.settings.durable import fsync_dir, last_line, set_aside_torn, write_atomic

if TYPE_CHECKING:
    from aisre_cli.memory.backend import Location
    from aisre_cli.memory.storage import MemoryStore, WriteOp

VERSION = 1
KINDS = ("memory", "audit")
"""What may be spooled: a write to the incident memory (a `storage.WriteOp`: an incident
record, a confirmed cause, a change event, a runbook outcome, alert episodes), or an
audit record."""


class SpoolError(AisreError):
    """The spool cannot be written, or cannot be used as asked."""

    exit_code = ExitCode.REFUSED


class SpoolDamaged(SpoolError):
    """A complete spool line (or the cursor) is not what was written: integrity damage,
    exit 6 like a tampered audit log. Nothing past it is replayed until
    `aisre memory sync --set-aside-damaged` moves the damaged line(s) to a private
    sidecar file (`Spool.set_aside_damaged`)."""

    exit_code = ExitCode.VERIFY


SET_ASIDE = "aisre memory sync --set-aside-damaged"
SET_ASIDE_HINT = (
    f"run `{SET_ASIDE}`: it moves the damaged line(s) to a private file next to the spool,"
    " for inspection (a write they held is not sent), and sends the rest"
)


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checksum(rec: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in rec.items() if k != "sum"})).hexdigest()


def new_id() -> str:
    """A random id, unique across machines (what the replay's unique key is on)."""
    return "sp-" + secrets.token_hex(12)


def spool_dir() -> Path:
    return paths.data_dir() / "spool"


STORE_MARKER = "store"
"""The file, in a team store's spool directory, that names its `store_key`."""


def store_spool_dir(key: str) -> Path:
    """The spool directory of one team store: `spool/<hash>-<slug>/`, the hash (12 hex
    digits of the sha256 of `key`) making it unique and stable, the slug (host, port
    and database, filesystem-safe) making it readable. It holds `memory/`, `audit/` and
    the marker file `store` naming `key`."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    bare = key.split("://", 1)[-1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", bare).strip("._-")[:48] or "store"
    return spool_dir() / f"{digest}-{slug}"


def legacy_memory_spool() -> Spool:
    """The machine-wide memory spool of the releases before one spool per team store
    (`spool/memory/`): replayed first, never written any more."""
    return Spool(spool_dir() / "memory")


def legacy_audit_spool() -> Spool:
    """The machine-wide audit spool of the releases before one spool per team store."""
    return Spool(spool_dir() / "audit")


def known_stores() -> dict[str, Path]:
    """The team stores this machine has a spool directory for: key -> directory."""
    out: dict[str, Path] = {}
    try:
        dirs = sorted(spool_dir().iterdir())
    except OSError:
        return out
    for d in dirs:
        try:
            key = (d / STORE_MARKER).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue  # not a store's directory (the legacy spools), or no marker yet
        if key and store_spool_dir(key) == d:
            out[key] = d
    return out


def _default_store() -> str | None:
    stores = list(known_stores())
    return stores[0] if len(stores) == 1 else None


def memory_spool(store: str | None = None) -> Spool:
    """The spool of the incident memory's writes (`WriteOp`s) for the team store
    `store` (a `store_key`). Without one: the spool of the only team store this machine
    has spooled for, else (none, or several) the legacy machine-wide spool."""
    key = store if store is not None else _default_store()
    if key is None:
        return legacy_memory_spool()
    return StoreSpool(store_spool_dir(key) / "memory", key, legacy_memory_spool())


def audit_spool(store: str | None = None) -> Spool:
    """The spool of audit records (each chained to the one before: the local chain) for
    the team store `store`; without one, as `memory_spool`."""
    key = store if store is not None else _default_store()
    if key is None:
        return legacy_audit_spool()
    return StoreSpool(store_spool_dir(key) / "audit", key, legacy_audit_spool())


def all_status() -> dict[str, dict[str, Status]]:
    """Every spool's status, for `aisre memory status` and `aisre doctor`: per team
    store (its key), and the legacy machine-wide spools under the key `legacy`."""
    out: dict[str, dict[str, Status]] = {
        "legacy": {"memory": legacy_memory_spool().status(), "audit": legacy_audit_spool().status()}
    }
    for key in known_stores():
        out[key] = {"memory": memory_spool(key).status(), "audit": audit_spool(key).status()}
    return out


@dataclass(frozen=True)
class SpoolRecord:
    seq: int
    id: str
    kind: str
    ts: str
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "kind": self.kind,
            "ts": self.ts,
            "payload": self.payload,
        }


@dataclass(frozen=True)
class Status:
    """What `aisre memory status` and `aisre doctor` show about the spool."""

    path: str
    depth: int
    """Records not yet stored on the server."""
    oldest: str | None
    """When the oldest of them was written (ISO 8601), or None."""
    by_kind: dict[str, int] = field(default_factory=dict)
    replayed_through: int = 0
    """The cursor: the last record known to be stored on the server."""
    torn_sidecars: int = 0
    damaged: str | None = None
    """Why the spool cannot be replayed (a damaged line or cursor), or None. `depth`
    then counts the readable records only."""
    damaged_hint: str | None = None
    """What to do about it (for a damaged line: `aisre memory sync --set-aside-damaged`)."""
    damaged_lines: int = 0
    """Complete lines that are not valid records."""
    damaged_sidecars: int = 0
    """Files of damaged lines set aside by `aisre memory sync --set-aside-damaged`."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "depth": self.depth,
            "oldest": self.oldest,
            "by_kind": self.by_kind,
            "replayed_through": self.replayed_through,
            "torn_sidecars": self.torn_sidecars,
            "damaged": self.damaged,
            "damaged_hint": self.damaged_hint,
            "damaged_lines": self.damaged_lines,
            "damaged_sidecars": self.damaged_sidecars,
        }


@dataclass(frozen=True)
class SetAside:
    """What `Spool.set_aside_damaged` did."""

    path: str
    moved: int = 0
    """Damaged lines moved out of the spool."""
    sidecar: str | None = None
    """Where they are now (mode 0600, next to the spool), or None."""
    lines: tuple[int, ...] = ()
    """Their line numbers in the spool as it was."""
    renumbered: int = 0
    """Pending records given new sequence numbers to close the gap (their ids, which
    the replay is keyed on, are unchanged)."""
    gap: bool = False
    """The readable records themselves skipped or repeated a sequence number (records
    missing or reordered, not only damaged)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "moved": self.moved,
            "sidecar": self.sidecar,
            "lines": list(self.lines),
            "renumbered": self.renumbered,
            "gap": self.gap,
        }


@dataclass
class ReplayResult:
    replayed: int = 0
    """Records handed to a handler and stored (or found already stored)."""
    remaining: int = 0
    stopped: str | None = None
    """Why the replay stopped before the end (the server went away again), or None."""
    busy: bool = False
    """Another process was replaying; this one did nothing."""
    notes: list[str] = field(default_factory=list)
    """What the handlers had to say about records they stored differently than asked
    (a spooled confirmed cause that met a teammate's), one line each."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "remaining": self.remaining,
            "stopped": self.stopped,
            "busy": self.busy,
            "notes": list(self.notes),
        }


Handler = Callable[[SpoolRecord], str | None]
"""Stores one record on the server, idempotently (keyed by `record.id`), in one
transaction; returns a note for the user, or None. Raises `Unavailable` when the
server cannot be reached."""


class Unavailable(Exception):  # noqa: N818 - a condition, not a bug
    """The team database cannot be reached; the write belongs in the spool."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Spool:
    """See the module docstring."""

    def __init__(self, directory: Path | None = None) -> None:
        self.dir = directory or spool_dir()

    @property
    def path(self) -> Path:
        return self.dir / "spool.jsonl"

    @property
    def cursor_path(self) -> Path:
        return self.dir / "spool.cursor"

    @property
    def lock_path(self) -> Path:
        return self.dir / "spool.lock"

    # ------------------------------------------------------------ writing

    def _ensure_dir(self) -> None:
        if not self.dir.is_dir():
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fsync_dir(self.dir.parent)

    @contextmanager
    def _locked_file(self) -> Iterator[int]:
        """The spool file, open for appending, under an exclusive flock. The file is
        the one at `path` once the lock is held: `set_aside_damaged` replaces it with a
        rename while holding the lock, so a process that waited on the old file opens
        the new one (a write to the old one would be lost)."""
        while True:
            try:
                self._ensure_dir()
                existed = self.path.exists()
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            except OSError as exc:
                raise SpoolError(
                    f"cannot open the spool {self.path}: {exc.strerror}",
                    hint="the team database is unreachable and nothing could be kept locally;"
                    " fix the data directory's permissions or free disk space",
                ) from None
            try:
                if not existed:
                    fsync_dir(self.dir)
                fcntl.flock(fd, fcntl.LOCK_EX)
                held, now = os.fstat(fd), os.stat(self.path)
            except BaseException:
                os.close(fd)
                raise
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                break
            os.close(fd)  # replaced while we waited: take the lock on the new file
        try:
            yield fd
        finally:
            os.close(fd)

    def append(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        rid: str | None = None,
        intact: bool = False,
    ) -> SpoolRecord:
        """Append one record, fsynced before returning. Raises SpoolError if impossible
        (`intact`: see `append_with`)."""
        return self.append_with(kind, lambda _prev: dict(payload), rid=rid, intact=intact)

    def append_with(
        self,
        kind: str,
        build: Callable[[SpoolRecord | None], dict[str, Any]],
        *,
        rid: str | None = None,
        intact: bool = False,
    ) -> SpoolRecord:
        """Append a record whose payload depends on the newest spooled record of `kind`
        (the audit chain): `build(last_of_kind)` runs under the append lock.

        A damaged last line always refuses the append (`SpoolDamaged`). `intact=True`
        checks every line (and the cursor) under the lock first, and refuses the
        append when any complete line is damaged or `seq` has a gap: a write that
        waits behind a line that cannot be replayed would never be sent, while its
        caller was told it would be (the memory's writes: `spool_op`). The spool holds
        what was written while the server was down: small, read in one go."""
        if kind not in KINDS:
            raise ValueError(f"unknown spool record kind {kind!r}")
        with self._locked_file() as fd:
            try:
                if intact:
                    done = int(self._cursor()["seq"])  # a damaged cursor: SpoolDamaged
                    recs, torn, torn_at = _scan(fd, self.path, waiting_after=done)
                    last = recs[-1] if recs else None
                else:
                    recs = None
                    last, torn, torn_at = _tail(fd, self.path)  # the last line only: O(1)
                if torn:
                    self._set_aside_torn(fd, torn, torn_at)
                last_seq = last.seq if last is not None else self._cursor().get("seq", 0)
                last_of_kind = last
                if last is not None and last.kind != kind:  # a spool of mixed kinds
                    if recs is None:
                        recs, _, _ = _scan(fd, self.path)
                    last_of_kind = next((r for r in reversed(recs) if r.kind == kind), None)
                rec: dict[str, Any] = {
                    "v": VERSION,
                    "seq": int(last_seq) + 1,
                    "id": rid or new_id(),
                    "kind": kind,
                    "ts": _now(),
                    "payload": build(last_of_kind),
                }
                rec["sum"] = checksum(rec)
                line = canonical(rec) + b"\n"
                if os.environ.get("AISRE_CRASHPOINT") == f"spool-torn:{kind}":
                    os.write(fd, line[: len(line) // 2])
                    os.fsync(fd)
                    crashpoint(f"spool-torn:{kind}")
                view = memoryview(line)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
            except OSError as exc:
                raise SpoolError(
                    f"cannot write the spool {self.path}: {exc.strerror}",
                    hint="free disk space or fix the data directory's permissions",
                ) from None
        return SpoolRecord(rec["seq"], rec["id"], kind, rec["ts"], rec["payload"])

    def _set_aside_torn(self, fd: int, torn: bytes, torn_at: int) -> None:
        set_aside_torn(self.path, fd, torn, torn_at)
        fsync_dir(self.dir)

    # ------------------------------------------------------------ reading

    def _cursor(self) -> dict[str, Any]:
        try:
            d = json.loads(self.cursor_path.read_bytes())
        except FileNotFoundError:
            return {"seq": 0}
        except (OSError, ValueError) as exc:
            raise SpoolDamaged(
                f"the spool cursor {self.cursor_path} is unreadable ({exc})",
                hint="nothing was replayed; inspect it (it holds the last replayed seq)",
            ) from None
        if not isinstance(d, dict) or not isinstance(d.get("seq"), int):
            raise SpoolDamaged(
                f"the spool cursor {self.cursor_path} is damaged",
                hint="nothing was replayed; inspect it (it holds the last replayed seq)",
            )
        return d

    def _write_cursor(self, cur: Mapping[str, Any]) -> None:
        write_atomic(self.cursor_path, canonical(dict(cur)) + b"\n")

    def records(self) -> list[SpoolRecord]:
        """Every complete record in the file (replayed or not), checked."""
        if not self.path.exists():
            return []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            recs, _, _ = _scan(fd, self.path)
        finally:
            os.close(fd)
        return recs

    def has_pending(self) -> bool:
        """Records not yet stored on the server? (Reads the last line only.)"""
        if not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDONLY)
        try:
            last, _, _ = _tail(fd, self.path)
        finally:
            os.close(fd)
        return last is not None and last.seq > int(self._cursor()["seq"])

    def check_intact(self) -> None:
        """Raise `SpoolDamaged` when a write must not be queued here: a complete line
        anywhere in the spool (not only the last) is damaged, `seq` has a gap, or the
        cursor is damaged. The error says how many writes wait (damaged lines
        included) and that this one is refused. Reads the whole file: a spool holds
        what was written while the server was down, which is little."""
        if not self.path.exists():
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if last_line(fd)[0] is None:
                return  # no complete line: nothing to wait behind (the cursor unread)
            done = int(self._cursor()["seq"])
            _scan(fd, self.path, waiting_after=done)
        finally:
            os.close(fd)

    def pending(self) -> list[SpoolRecord]:
        """The records not yet stored on the server, oldest first."""
        done = int(self._cursor()["seq"])
        return [r for r in self.records() if r.seq > done]

    # ------------------------------------------------------------ merged incidents

    @property
    def merged_path(self) -> Path:
        return self.dir / "merged.jsonl"

    def remember_merge(self, uid: str, into_uid: str, into_id: int) -> None:
        """An incident recorded here while the server was down (`uid`: what this
        engineer was told) was added, when sent, to the open incident of the same alert
        episode (`into_uid`), which a teammate's triage had recorded meanwhile. Kept
        (fsynced, never truncated) so `incident show/resolve UID` and a spooled resolve
        naming `uid` still find that incident."""
        self._ensure_dir()
        line = canonical({"uid": uid, "into": into_uid, "id": into_id, "at": _now()}) + b"\n"
        fd = os.open(self.merged_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def merged_into(self, ref: str) -> str | None:
        """The uid of the incident that `ref` (a uid recorded here offline, or a unique
        prefix of one, >= 6 characters) was merged into when sent; None if none was."""
        ref = ref.strip()
        try:
            raw = self.merged_path.read_bytes()
        except OSError:
            return None
        hits: dict[str, str] = {}
        for line in raw.splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue  # a torn last line: what it held was never relied on
            if not isinstance(d, dict):
                continue
            uid, into = d.get("uid"), d.get("into")
            if not isinstance(uid, str) or not isinstance(into, str):
                continue
            if uid == ref:
                return into
            if len(ref) >= 6 and uid.startswith(ref):
                hits[uid] = into
        return next(iter(hits.values())) if len(hits) == 1 else None

    def holds_incident(self, ref: str) -> bool:
        """Does a write not yet sent record the incident `ref` (its uid or a prefix of
        >= 6 characters)?"""
        ref = ref.strip()
        if not ref or not self.has_pending():
            return False
        for r in self.pending():
            op = r.payload.get("op")
            if not isinstance(op, dict) or op.get("kind") != "incident.record":
                continue
            uid = op.get("data", {}).get("uid") if isinstance(op.get("data"), dict) else None
            if isinstance(uid, str) and (uid == ref or (len(ref) >= 6 and uid.startswith(ref))):
                return True
        return False

    def audit_anchor(self) -> tuple[int, str] | None:
        """(local seq, local hash) of the last replayed spooled audit record, if any."""
        a = self._cursor().get("audit")
        if isinstance(a, dict):
            return int(a["seq"]), str(a["hash"])
        return None

    def status(self) -> Status:
        """Depth, oldest record, kinds. Never raises for damage: a damaged spool is
        reported in `damaged` (with what can still be read counted), so `aisre memory
        status` and `aisre doctor` can show it."""
        if not self.dir.exists():
            return Status(path=str(self.path), depth=0, oldest=None)
        damaged: SpoolDamaged | None = None
        bad = 0
        try:
            done = int(self._cursor()["seq"])
            pend = self.pending()
        except SpoolDamaged as err:
            damaged = err
            pend, bad, done = self._readable_pending()
        by_kind: dict[str, int] = {}
        for r in pend:
            k = _label(r)
            by_kind[k] = by_kind.get(k, 0) + 1
        return Status(
            path=str(self.path),
            depth=len(pend),
            oldest=pend[0].ts if pend else None,
            by_kind=by_kind,
            replayed_through=done,
            torn_sidecars=len(list(self.dir.glob("spool.jsonl.torn-*"))),
            damaged=damaged.message if damaged else None,
            damaged_hint=damaged.hint if damaged else None,
            damaged_lines=bad,
            damaged_sidecars=len(list(self.dir.glob("spool.jsonl.damaged-*"))),
        )

    def _readable_pending(self) -> tuple[list[SpoolRecord], int, int]:
        """(the readable records past the cursor, damaged complete lines, the cursor's
        seq or 0 when the cursor itself is damaged), for the status of a damaged spool."""
        try:
            done = int(self._cursor()["seq"])
        except SpoolDamaged:
            done = 0
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return [], 0, done
        lines = data.split(b"\n")[:-1]  # the last part is empty or torn
        recs = [_parse(raw) for raw in lines]
        good = [r for r in recs if r is not None and r.seq > done]
        return good, sum(r is None for r in recs), done

    def set_aside_damaged(self) -> SetAside:
        """Move the damaged lines out of the spool, into a sidecar file next to it
        (`spool.jsonl.damaged-<time>`, mode 0600, fsynced), so that the rest can be
        replayed; renumber the pending records after them so their sequence has no
        gap (ids, and so exactly-once, unchanged). Records already replayed are
        dropped. A torn tail is set aside as an append would set it aside.

        Takes the replay lock (waiting for a replay in progress) and the append lock,
        and replaces the file with an atomic rename: a crash leaves the old spool (and
        perhaps a sidecar holding the same lines), never a mix. Raises `SpoolDamaged`
        for a damaged cursor (which lines are pending cannot be told)."""
        if not self.path.exists():
            return SetAside(str(self.path))
        self._ensure_dir()
        lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with self._locked_file() as fd:
                return self._set_aside_locked(fd)
        finally:
            os.close(lock)

    def _set_aside_locked(self, fd: int) -> SetAside:
        done = int(self._cursor()["seq"])
        size = os.fstat(fd).st_size
        data = os.pread(fd, size, 0) if size else b""
        lines = data.split(b"\n")
        tail = lines.pop()
        if tail:  # never acknowledged: kept aside the usual way
            self._set_aside_torn(fd, tail, size - len(tail))
        bad: list[tuple[int, bytes]] = []
        keep: list[tuple[SpoolRecord, bytes]] = []
        gap = False  # a jump in seq that no damaged line explains
        prev: int | None = None
        for n, raw in enumerate(lines, start=1):
            rec = _parse(raw)
            if rec is None:
                bad.append((n, raw))
                prev = None
                continue
            gap = gap or (prev is not None and rec.seq != prev + 1)
            prev = rec.seq
            if rec.seq > done:
                keep.append((rec, raw))
        if not bad and not gap:
            return SetAside(str(self.path))  # nothing damaged
        sidecar: Path | None = None
        if bad:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            sidecar = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
            sfd = os.open(sidecar, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                body = b"".join(raw + b"\n" for _, raw in bad)
                view = memoryview(body)
                while view:
                    view = view[os.write(sfd, view) :]
                os.fsync(sfd)
            finally:
                os.close(sfd)
        out: list[bytes] = []
        renumbered = 0
        for i, (rec, raw) in enumerate(keep, start=done + 1):
            if rec.seq == i:
                out.append(raw + b"\n")
                continue
            d = json.loads(raw)
            d["seq"] = i
            d["sum"] = checksum(d)
            out.append(canonical(d) + b"\n")
            renumbered += 1
        write_atomic(self.path, b"".join(out))  # fsyncs the directory (and the sidecar's)
        return SetAside(
            str(self.path),
            moved=len(bad),
            sidecar=str(sidecar) if sidecar else None,
            lines=tuple(n for n, _ in bad),
            renumbered=renumbered,
            gap=gap,
        )

    # ------------------------------------------------------------ replay

    def replay(self, handlers: Mapping[str, Handler], *, wait: bool = False) -> ReplayResult:
        """Hand every pending record to its handler, in order; move the cursor past each.

        Stops (without error) at the first record whose handler raises `Unavailable`.
        Any other error from a handler propagates, with the cursor before that record:
        nothing is skipped. `wait=False`: when another process is replaying, return at
        once (`busy`) instead of waiting for it.
        """
        if not self.path.exists():
            return ReplayResult()
        self._ensure_dir()
        lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return ReplayResult(remaining=len(self.pending()), busy=True)
            return self._replay_locked(handlers)
        finally:
            os.close(lock)

    def _replay_locked(self, handlers: Mapping[str, Handler]) -> ReplayResult:
        cur = self._cursor()
        pend = [r for r in self.records() if r.seq > int(cur["seq"])]
        missing = sorted({r.kind for r in pend} - set(handlers))
        if missing:
            raise SpoolError(
                f"the spool holds {', '.join(missing)} records this command cannot replay",
                hint="run `aisre memory sync`",
            )
        res = ReplayResult(remaining=len(pend))
        for r in pend:
            try:
                said = handlers[r.kind](r)
            except Unavailable as exc:
                res.stopped = str(exc) or "the team database went away"
                return res
            crashpoint("spool-replay:after-commit")
            cur = dict(cur, seq=r.seq)
            if r.kind == "audit":
                local = r.payload.get("record") or {}
                cur["audit"] = {"seq": local.get("seq"), "hash": local.get("hash")}
            self._write_cursor(cur)
            res.replayed += 1
            res.remaining -= 1
            if said:
                res.notes.append(said)
        self._truncate_if_drained(int(cur["seq"]))
        return res

    def _truncate_if_drained(self, through: int) -> None:
        with self._locked_file() as fd:
            last, torn, _ = _tail(fd, self.path)
            if last is not None and last.seq > through:
                return  # appended while we replayed: the next replay takes them
            if torn:
                return  # the next append sets the torn bytes aside first
            os.ftruncate(fd, 0)
            os.fsync(fd)


class StoreSpool(Spool):
    """The spool of one team store (`store_spool_dir`), in front of which the legacy
    machine-wide spool still counts: the records it holds for this store (named for it,
    or spooled before records were named) go first, so that order holds across the
    upgrade. Records it holds for another store are not waited for."""

    def __init__(self, directory: Path, key: str, legacy: Spool) -> None:
        super().__init__(directory)
        self.key = key
        self.legacy = legacy

    def _ensure_dir(self) -> None:
        if not self.dir.is_dir():
            top = self.dir.parent
            marker = top / STORE_MARKER
            if not marker.exists():
                top.mkdir(parents=True, exist_ok=True, mode=0o700)
                fsync_dir(top.parent)
                write_atomic(marker, self.key.encode() + b"\n")
        super()._ensure_dir()

    def _legacy_waits(self) -> bool:
        """Does the legacy spool hold a record this store must send before its own?"""
        if not self.legacy.has_pending():
            return False
        return any(other_store(r, self.key) is None for r in self.legacy.pending())

    def has_pending(self) -> bool:
        return super().has_pending() or self._legacy_waits()

    def append_with(
        self,
        kind: str,
        build: Callable[[SpoolRecord | None], dict[str, Any]],
        *,
        rid: str | None = None,
        intact: bool = False,
    ) -> SpoolRecord:
        """`Spool.append_with`; `intact` also refuses when the legacy spool is damaged
        while it holds writes this store sends first (its replay stops there too)."""
        if intact:
            self._legacy_waits()  # reads the legacy spool: SpoolDamaged when damaged
        return super().append_with(kind, build, rid=rid, intact=intact)

    def check_intact(self) -> None:
        """`Spool.check_intact`, and the legacy spool's records for this store too."""
        self._legacy_waits()
        super().check_intact()

    def replay(self, handlers: Mapping[str, Handler], *, wait: bool = False) -> ReplayResult:
        """The legacy spool's records for this store first (as it always replayed them),
        then this store's own, unless some of the former still wait."""
        done = ReplayResult()
        if self._legacy_waits():
            done = self.legacy.replay(handlers, wait=wait)
            if self._legacy_waits():  # unreachable, busy, or behind another store's record
                own = len(super().pending()) if super().has_pending() else 0
                mine = [r for r in self.legacy.pending() if other_store(r, self.key) is None]
                done.remaining = len(mine) + own
                return done
        res = super().replay(handlers, wait=wait)
        res.replayed += done.replayed
        res.notes = done.notes + res.notes
        return res

    def merged_into(self, ref: str) -> str | None:
        return super().merged_into(ref) or self.legacy.merged_into(ref)

    def holds_incident(self, ref: str) -> bool:
        return super().holds_incident(ref) or self.legacy.holds_incident(ref)


def _label(r: SpoolRecord) -> str:
    """`audit`, or the memory write's own kind (`incident.record`, `change.record`…)."""
    if r.kind == "memory":
        op = r.payload.get("op")
        if isinstance(op, dict) and isinstance(op.get("kind"), str):
            return str(op["kind"])
    return r.kind


# ---------------------------------------------------------------- the memory's writes


def store_key(location: Location) -> str | None:
    """Which team store a spooled record is for: `postgresql://HOST:PORT/DB` (the role
    and the options left out: the owner's and the tool's URL name the same store), or
    None for a local memory."""
    pg = location.pg
    if pg is None:
        return None
    return f"postgresql://{pg.host or ''}:{pg.port or 5432}/{pg.dbname}"


def other_store(rec: SpoolRecord, key: str | None) -> Unavailable | None:
    """The replay's stop when `rec` was spooled for another team store than `key` (a
    second team profile on this machine): it is never sent to this one; it waits, and
    so does what is behind it (the order holds), for a command of that store's profile.
    Records spooled before stores were named go to whichever store replays them."""
    want = rec.payload.get("store")
    if not isinstance(want, str) or key is None or want == key:
        return None
    return Unavailable(
        f"the next spooled write was recorded for the team store {want}, not {key}: it is"
        f" sent by a command of the profile whose memory_url names {want} (`aisre memory"
        " sync --profile NAME`)"
    )


def spool_op(spool: Spool, op: WriteOp, store: str | None = None) -> dict[str, Any]:
    """Keep one memory write in the spool (its `op_id` is the record's id, so a write
    whose commit was lost with the connection and then spooled is applied once);
    `store` (`store_key`) names the team store it is for."""
    payload: dict[str, Any] = {"op": op.to_json()}
    if store is not None:
        payload["store"] = store
    # refused (SpoolDamaged, exit 6) when any line is damaged, not only the last: a
    # write queued behind a line that cannot be replayed would never be sent
    spool.append("memory", payload, rid=op.op_id, intact=True)
    return {"spooled": True, "op_id": op.op_id}


def memory_handler(store: MemoryStore, spool: Spool | None = None) -> Handler:
    """Replays a spooled memory write through `store.apply` (exactly once per op_id).

    An incident recorded offline that is added to the open incident of the same alert
    episode (a teammate triaged the same page meanwhile) is remembered in `spool`
    (`Spool.remember_merge`), so the uid this engineer was given still finds it."""
    from aisre_cli.memory.backend import MemoryUnavailable
    from aisre_cli.memory.storage import WriteOp

    key = store_key(store.location)

    def handle(rec: SpoolRecord) -> str | None:
        elsewhere = other_store(rec, key)
        if elsewhere is not None:
            raise elsewhere
        op = WriteOp.from_json(rec.payload["op"])
        try:
            if op.kind == "incident.resolve" and spool is not None:
                _follow_merge(op, store, spool)
            res = store.apply(op)
            merged = None
            if op.kind == "incident.record" and res.get("reused") and spool is not None:
                merged = store.get(str(res["incident_id"]))
        except MemoryUnavailable as exc:
            raise Unavailable(exc.message) from None
        if merged is not None and spool is not None and merged.uid != op.data.get("uid"):
            spool.remember_merge(str(op.data["uid"]), merged.uid, merged.id)
            return (
                f"incident {op.data['uid']}, kept in the local spool until now, was added"
                f" to incident {merged.id} ({merged.uid}): the same alert episode,"
                " recorded by another triage meanwhile; either name finds it"
            )
        note = res.get("note")
        return str(note) if note else None

    return handle


def _follow_merge(op: WriteOp, store: MemoryStore, spool: Spool) -> None:
    """A spooled resolve naming an incident recorded offline and then merged names the
    incident it was merged into (the op's id, which makes it exactly-once, is kept)."""
    key = "ref" if "ref" in op.data else "uid"
    ref = str(op.data.get(key) or "")
    into = spool.merged_into(ref)
    if into is None:
        return
    try:
        store.get(ref)  # an incident of the team store answers to it as typed: keep it
    except UsageError:
        op.data[key] = into


def spooling_writer(
    store: MemoryStore, spool: Spool, drain: Callable[[], object] | None = None
) -> Callable[[WriteOp], dict[str, Any]]:
    """A `MemoryStore.writer` that keeps writes in the spool while the server is down,
    and behind older spooled writes (order is kept): `drain` (the full replay) runs
    first when the spool holds records."""
    from aisre_cli.memory.backend import MemoryUnavailable

    key = store_key(store.location)

    def write(op: WriteOp) -> dict[str, Any]:
        # A damaged spool raises SpoolDamaged (exit 6, the set-aside in its hint),
        # whichever line is damaged: the write is refused rather than queued behind a
        # line that cannot be replayed, where the user would be told it waits for the
        # server (and not sent past it either: the order of the writes holds).
        spool.check_intact()
        if spool.has_pending():
            if drain is not None:
                try:
                    drain()
                except SpoolDamaged:
                    raise
                except AisreError:
                    pass  # stays spooled; so does this write
            if spool.has_pending():
                return spool_op(spool, op, key)
        try:
            return store.apply(op)
        except MemoryUnavailable:
            return spool_op(spool, op, key)

    return write


def _tail(fd: int, where: Path) -> tuple[SpoolRecord | None, bytes, int]:
    """(the last complete record, torn bytes after it, offset where those start),
    reading backwards from the end. A last complete line that is not a valid record
    is damage: SpoolDamaged."""
    line, torn, torn_at = last_line(fd)
    if line is None:
        return None, torn, torn_at  # no complete line at all
    rec = _parse(line)
    if rec is None:
        raise SpoolDamaged(
            f"the local spool {where} is damaged (its last record: bad checksum); nothing"
            " can be added after it",
            hint=SET_ASIDE_HINT,
        )
    return rec, torn, torn_at


def _scan(
    fd: int, where: Path, *, waiting_after: int | None = None
) -> tuple[list[SpoolRecord], bytes, int]:
    """(checked records, torn bytes at the end, offset where those start).

    `waiting_after` (the cursor's seq): the scan is an append's, which damage refuses;
    the error then says how many writes wait in the spool (`_waiting`) and that the new
    one was not added behind them."""
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0) if size else b""
    lines = data.split(b"\n")
    tail = lines.pop()

    def then() -> str:
        if waiting_after is None:
            return "nothing past it is sent"
        n = _waiting(lines, waiting_after)
        return (
            f"{n} write(s) wait there and cannot be sent until it is repaired; this write"
            " is refused, not queued behind them"
        )

    recs: list[SpoolRecord] = []
    prev_seq: int | None = None
    for n, raw in enumerate(lines, start=1):
        rec = _parse(raw)
        if rec is None:
            raise SpoolDamaged(
                f"the local spool {where} is damaged (line {n}: bad checksum or not a"
                f" record); {then()}",
                hint=SET_ASIDE_HINT,
            )
        if prev_seq is not None and rec.seq != prev_seq + 1:
            raise SpoolDamaged(
                f"the local spool {where} is damaged (line {n}: sequence {rec.seq} follows"
                f" {prev_seq}: records missing or reordered); {then()}",
                hint=f"run `{SET_ASIDE}`: it renumbers the records after the gap and sends them",
            )
        prev_seq = rec.seq
        recs.append(rec)
    # A last line without its newline was never acknowledged (the write and its fsync
    # did not finish): it is torn even when it happens to parse.
    return recs, tail, size - len(tail)


def _waiting(lines: list[bytes], done: int) -> int:
    """Complete lines not yet stored on the server: the records past the cursor `done`,
    and every damaged line (what it held cannot be told, so it counts as waiting)."""
    n = 0
    for raw in lines:
        rec = _parse(raw)
        n += rec is None or rec.seq > done
    return n


def _parse(raw: bytes) -> SpoolRecord | None:
    try:
        d = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(d, dict) or d.get("sum") != checksum(d):
        return None
    try:
        return SpoolRecord(
            seq=int(d["seq"]),
            id=str(d["id"]),
            kind=str(d["kind"]),
            ts=str(d["ts"]),
            payload=dict(d["payload"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
