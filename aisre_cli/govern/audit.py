"""The audit log: append-only, hash-chained JSON lines, fsynced before the action.

File: `settings.paths.audit_log_file()` (`$XDG_DATA_HOME/aisre/audit.jsonl`). Each line
is one record in canonical JSON (sorted keys, no spaces):

    {"actor":..,"data":{..},"event":"intent","hash":H,"prev":P,"run":..,"seq":N,"ts":..,"v":1}

`hash` is the sha256 of the canonical record without `hash`; `prev` is the previous
record's hash (64 zeros for the first); `seq` counts from 1 and equals the line number.
So a bit flip breaks a hash, an inserted, deleted, duplicated or reordered record
breaks `seq`/`prev`, and `verify()` reports the first bad line.

Deleting records *at the end* leaves a valid shorter chain, so every append also
replaces `audit.jsonl.head` (seq and hash of the newest record, written atomically);
verify compares the log against it, and a log with records but no head anchor fails
verification (someone deleted the anchor to hide a truncation). The head hash is also
printed at the end of every run, so an operator can anchor it elsewhere (a ticket, the
PagerDuty note) and check it later with `aisre audit verify --expect-head HASH`.

Whoever can write the log can also rewrite its tail *and* the head file. Against that,
optional HMAC chaining: when a key named `audit-hmac` is stored (`aisre auth set
audit-hmac`: the OS keyring; `AISRE_AUDIT_HMAC_TOKEN` in CI), every record gets a
`mac`, HMAC-SHA256 of its hash under that key. The hash covers `prev`, so the macs
chain too. With the key, verify requires a valid mac on every record from the first
one that carries one, and on the newest record: a tail rewritten without the key
fails. Without the key, macs are kept but not checked (verify says so).

Durability: `append()` takes an exclusive `flock`, writes the line with one `write()`
on an `O_APPEND` descriptor and `fsync`s before returning. Callers write the intent
record and only then run the action; if the append raises, the action does not run.
A crash can still leave a *torn* final line (a prefix of a record, no newline);
`verify()` reports it as such, and the next `append()` moves the torn bytes to a
sidecar file (`audit.jsonl.torn-<offset>`) and records that it did, so the chain stays
verifiable and nothing is silently dropped.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aisre_cli.errors import AisreError, ExitCode, UsageError, crashpoint
from aisre_cli.settings import paths
from aisre_cli.settings.durable import last_line, set_aside_torn, write_atomic

if TYPE_CHECKING:
    from aisre_cli.settings.config import Profile

GENESIS = "0" * 64
VERSION = 1
HMAC_KEY_NAME = "audit-hmac"
"""The token name of the audit HMAC key (keyring entry, or AISRE_AUDIT_HMAC_TOKEN)."""
_UNSET: Any = object()


class AuditError(AisreError):
    """The audit log cannot be written (or is damaged); nothing runs."""

    exit_code = ExitCode.REFUSED


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(rec: dict[str, Any]) -> str:
    body = {k: v for k, v in rec.items() if k not in ("hash", "mac")}
    return hashlib.sha256(canonical(body)).hexdigest()


def record_mac(key: bytes, record_hash_hex: str) -> str:
    """HMAC-SHA256 of a record's hash (which covers `prev`, so macs chain as well)."""
    return hmac.new(key, record_hash_hex.encode(), hashlib.sha256).hexdigest()


def hmac_key() -> bytes | None:
    """The audit HMAC key from the keyring (or environment), or None when not set."""
    from aisre_cli.settings.secrets import get_token

    tok = get_token(HMAC_KEY_NAME)
    return tok.get_secret_value().encode() if tok is not None else None


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return str(os.getuid())


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    hash: str
    prev: str
    event: str
    run: str | None
    ts: str
    actor: str
    data: dict[str, Any]

    SUMMARY_KEYS = ("step", "attempt", "ok", "reason", "status", "runbook", "action", "error")
    """What a record's one-line summary shows, in this order (then a verification's
    `detail` and the decision's kind)."""

    def summary(self, limit: int | None = None) -> str:
        """The record's data as one line (`aisre audit show` and the console's audit
        view print the same): plain text, still outside text to whoever displays it."""
        d = self.data
        bits = [
            f"{key}={str(d[key])[:120]}"
            for key in (*self.SUMMARY_KEYS, "detail")
            if d.get(key) not in (None, "")
        ]
        if isinstance(d.get("decision"), dict):
            bits.append(f"decision={d['decision'].get('kind')}")
        line = " ".join(bits)
        return line if limit is None else line[:limit]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AuditRecord:
        """A record from its JSON; TypeError when a field has the wrong type (an edited
        line: `"seq": 1e400`, `"run": {...}`, `"data": "..."`)."""
        seq, run, data = d["seq"], d.get("run"), d.get("data") or {}
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise TypeError(f"seq {seq!r} is not an integer")
        if not isinstance(data, dict):
            raise TypeError("data is not an object")
        return cls(
            seq=seq,
            hash=str(d["hash"]),
            prev=str(d["prev"]),
            event=str(d["event"]),
            run=None if run is None else str(run),
            ts=str(d.get("ts", "")),
            actor=str(d.get("actor", "")),
            data=data,
        )


class AuditLog:
    """Append records; read them back."""

    def __init__(self, path: Path | None = None, *, key: bytes | None = _UNSET) -> None:
        self.path = path or paths.audit_log_file()
        self._key = key
        """HMAC key; looked up (`hmac_key()`) on the first append unless given."""
        self.unreadable = 0
        """Lines the last `records()` pass skipped as not a record (damaged or edited)."""
        self.torn = 0
        """Bytes of a torn final line (an interrupted write, e.g. a crash) the last
        `records()` pass did not return: a crash artefact, not tampering; `append()`
        sets it aside in a sidecar file."""

    @property
    def key(self) -> bytes | None:
        if self._key is _UNSET:
            self._key = hmac_key()
        k: bytes | None = self._key
        return k

    @property
    def head_path(self) -> Path:
        return self.path.with_name(self.path.name + ".head")

    def append(
        self, event: str, data: dict[str, Any], run: str | None = None, *, tag: str = ""
    ) -> AuditRecord:
        """Append one record and fsync it. Raises AuditError when that is not possible."""
        try:
            paths.private_parent(self.path)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise AuditError(
                f"cannot open the audit log {self.path}: {exc.strerror}",
                hint="nothing was run; fix the data directory's permissions",
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last, torn, torn_at = last_line(fd)
            if torn:
                set_aside_torn(self.path, fd, torn, torn_at)
                last, _, _ = last_line(fd)
            seq, prev = 0, GENESIS
            if last is not None:
                try:
                    d = _load(last)
                    seq, prev = int(d["seq"]), str(d["hash"])
                except (ValueError, KeyError, TypeError, OverflowError):
                    raise AuditError(
                        f"the last record of {self.path} is damaged",
                        hint="nothing was run; inspect it with `aisre audit verify`",
                    ) from None
            if torn:
                rec = self._write(
                    fd,
                    seq + 1,
                    prev,
                    "torn_tail_recovered",
                    None,
                    {
                        "bytes": len(torn),
                        "sha256": hashlib.sha256(torn).hexdigest(),
                        "offset": torn_at,
                        "sidecar": self.path.name + f".torn-{torn_at}",
                    },
                )
                seq, prev = rec.seq, rec.hash
            rec = self._write(fd, seq + 1, prev, event, run, data, tag)
            self._write_head(rec)
            return rec
        except OSError as exc:
            raise AuditError(
                f"cannot write the audit log {self.path}: {exc.strerror}",
                hint="nothing was run; free disk space or fix permissions",
            ) from None
        finally:
            os.close(fd)

    def _write(
        self,
        fd: int,
        seq: int,
        prev: str,
        event: str,
        run: str | None,
        data: dict[str, Any],
        tag: str = "",
    ) -> AuditRecord:
        rec: dict[str, Any] = {
            "v": VERSION,
            "seq": seq,
            "ts": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "prev": prev,
            "event": event,
            "run": run,
            "actor": _actor(),
            "data": data,
        }
        rec["hash"] = record_hash(rec)
        if self.key is not None:
            rec["mac"] = record_mac(self.key, rec["hash"])
        line = canonical(rec) + b"\n"
        point = f"torn:{event}@{tag}" if tag else f"torn:{event}"
        if os.environ.get("AISRE_CRASHPOINT") == point:
            os.write(fd, line[: len(line) // 2])
            os.fsync(fd)
            crashpoint(point)
        view = memoryview(line)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
        return AuditRecord.from_dict(rec)

    def _write_head(self, rec: AuditRecord) -> None:
        write_atomic(self.head_path, canonical({"seq": rec.seq, "hash": rec.hash}) + b"\n")

    def records(self) -> Iterator[AuditRecord]:
        """Every complete, parseable record (use `verify()` to check the chain); the
        lines skipped are counted in `unreadable`."""
        self.unreadable = 0
        self.torn = 0
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    # a complete record without its terminator is damage (as `verify`
                    # says), a prefix of one is what a crash mid-write leaves
                    if _is_json_object(raw):
                        self.unreadable += 1
                    else:
                        self.torn = len(raw)
                    return
                try:
                    yield AuditRecord.from_dict(_load(raw))
                except (ValueError, KeyError, TypeError):
                    self.unreadable += 1
                    continue

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest complete record; (0, GENESIS) when empty."""
        if not self.path.exists():
            return 0, GENESIS
        fd = os.open(self.path, os.O_RDONLY)
        try:
            last, _, _ = last_line(fd)
        finally:
            os.close(fd)
        if last is None:
            return 0, GENESIS
        d = json.loads(last)
        return int(d["seq"]), str(d["hash"])


class AuditSink(Protocol):
    """What governance writes audit records to: the local log (`AuditLog`) or the team
    log on PostgreSQL (`audit_pg.PgAuditLog`)."""

    @property
    def path(self) -> Path: ...

    def append(
        self, event: str, data: dict[str, Any], run: str | None = None, *, tag: str = ""
    ) -> AuditRecord: ...

    def records(self) -> Iterator[AuditRecord]: ...

    def head(self) -> tuple[int, str]: ...


def open_audit_log(profile: Profile | None = None) -> AuditSink:
    """The audit log of this profile: the team chain on PostgreSQL when the profile has a
    `memory_url: postgresql://…` (`audit_pg`), else the local JSONL log.

    `profile=None`: the profile this run resolves to (--profile, AISRE_PROFILE, the
    default); a config that does not load means the local log (single-user)."""
    if profile is None:
        from aisre_cli.settings.config import resolve_profile

        try:
            profile = resolve_profile().profile
        except AisreError:
            return AuditLog()
    url = getattr(profile, "memory_url", None)
    if url and str(url).split(":", 1)[0] in ("postgresql", "postgres"):
        from aisre_cli.govern.team import open_team_audit

        return open_team_audit(profile)
    return AuditLog()


@dataclass(frozen=True)
class Problem:
    line: int
    """1-based line (= expected seq) of the first bad record."""
    reason: str


@dataclass(frozen=True)
class TornTail:
    line: int
    bytes: int


@dataclass(frozen=True)
class VerifyReport:
    path: str
    records: int
    head: str
    problem: Problem | None
    torn_tail: TornTail | None
    unanchored: bool = False
    """Records exist (or the file does) but the head anchor file is missing: a
    truncation cannot be ruled out. Not ok."""
    mac: str = "off"
    """`off` (no key, no macs), `checked` (key given, macs valid), `unchecked` (macs
    present, no key to check them)."""
    expected_head_seq: int | None = None
    """With `expect_head`: the seq of the record carrying that hash."""

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.unanchored

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "records": self.records,
            "head": self.head,
            "first_bad": None
            if self.problem is None
            else {"line": self.problem.line, "reason": self.problem.reason},
            "torn_tail": None
            if self.torn_tail is None
            else {"line": self.torn_tail.line, "bytes": self.torn_tail.bytes},
            "anchor_missing": self.unanchored,
            "mac": self.mac,
            "expected_head_seq": self.expected_head_seq,
        }


MIN_HEAD_PREFIX = 12
"""`--expect-head` takes the full hash or a prefix of at least this many hex digits."""


def expected_head(value: str | None) -> str:
    """`--expect-head` as given, checked: lower-case hex, at least `MIN_HEAD_PREFIX`
    digits ("" when not given). A malformed value is a usage error, never tampering.

    An empty value given explicitly is malformed too: `--expect-head "$HEAD"` with HEAD
    unset must not pass a CI check that compared nothing."""
    if value is None:
        return ""
    want = value.strip().lower()
    if len(want) > 64 or any(c not in "0123456789abcdef" for c in want):
        raise UsageError(
            f"--expect-head {value!r} is not a record hash (64 hex digits)",
            hint="pass the head printed by `aisre audit verify` or at the end of a run",
        )
    if len(want) < MIN_HEAD_PREFIX:
        what = "is empty (an unset variable?)" if not want else "is too short to name one record"
        raise UsageError(
            f"--expect-head {value!r} {what}",
            hint=f"give the full hash or at least its first {MIN_HEAD_PREFIX} hex digits",
        )
    return want


def verify(
    path: Path | None = None, *, expect_head: str | None = None, key: bytes | None = _UNSET
) -> VerifyReport:
    """Check the whole chain; report the first bad line and any torn final record.

    `expect_head`: a record hash kept elsewhere (printed at the end of a run); it must
    be the hash of a record in the log, or records were removed or rewritten. `key`:
    the HMAC key (default: looked up in the keyring / environment).
    """
    expect_head = expected_head(expect_head)
    log = AuditLog(path, key=key)
    p = log.path
    k = log.key
    anchor = read_anchor(log.head_path)
    if not p.exists():
        if anchor is not None and anchor[0] > 0:
            return VerifyReport(
                str(p),
                0,
                GENESIS,
                Problem(1, f"the log is missing but its head says {anchor[0]} record(s) existed"),
                None,
            )
        if expect_head and not GENESIS.startswith(expect_head):
            # the head of an empty log is GENESIS: `verify` printed it, so it is accepted
            return VerifyReport(
                str(p), 0, GENESIS, Problem(1, "the log is missing; expected head not found"), None
            )
        return VerifyReport(str(p), 0, GENESIS, None, None)
    data = p.read_bytes()
    parts = data.split(b"\n")
    tail = parts.pop()  # b"" when the file ends with a newline
    prev = GENESIS
    n = 0
    torn: TornTail | None = None
    mac_from: int | None = None
    hashes: dict[str, int] = {}
    for i, raw in enumerate(parts, start=1):
        h, why = _check_line(raw, i, prev)
        if h is None:
            return VerifyReport(str(p), n, prev, Problem(i, why), None)
        if k is not None:
            why = _check_mac(_load(raw), h, k, mac_from)
            if why:
                return VerifyReport(str(p), n, prev, Problem(i, why), None, mac="checked")
            if mac_from is None and b'"mac":' in raw:
                mac_from = i
        elif mac_from is None and b'"mac":' in raw:
            mac_from = i
        hashes[h] = i
        prev = h
        n = i
    mac_state = "off" if mac_from is None and k is None else ("checked" if k else "unchecked")
    if k is not None and n >= 1 and mac_from is None:
        return VerifyReport(
            str(p),
            n,
            prev,
            Problem(
                n,
                "the newest record carries no MAC although an audit HMAC key is set (rewritten"
                " without the key, or the key was set after the last run: the next append"
                " anchors it)",
            ),
            None,
            mac="checked",
        )
    if tail:
        line_no = len(parts) + 1
        if _is_json_object(tail):
            return VerifyReport(
                str(p),
                n,
                prev,
                Problem(
                    line_no, "a complete record without its line terminator (damaged, not torn)"
                ),
                None,
            )
        torn = TornTail(line_no, len(tail))
    expected_seq: int | None = None
    if expect_head:
        want = expect_head
        hits = [seq for h, seq in hashes.items() if h.startswith(want)]
        if GENESIS.startswith(want):
            hits = [0]  # the head before the first record: every chain starts there
        if len(hits) != 1:
            return VerifyReport(
                str(p),
                n,
                prev,
                Problem(
                    n + 1,
                    f"the expected head {want[:16]}… is not a record of this log (records"
                    " removed or the chain rewritten)"
                    if not hits
                    else f"the expected head {want} is ambiguous: give the full hash",
                ),
                torn,
                mac=mac_state,
            )
        expected_seq = hits[0]
    if anchor is not None:
        a_seq, a_hash = anchor
        if a_seq > n:
            return VerifyReport(
                str(p),
                n,
                prev,
                Problem(
                    n + 1,
                    f"record(s) {n + 1}..{a_seq} missing: the log ends at {n} but its head"
                    f" says {a_seq}",
                ),
                torn,
                mac=mac_state,
            )
        if a_seq >= 1:
            rec = json.loads(parts[a_seq - 1])
            if rec.get("hash") != a_hash:
                return VerifyReport(
                    str(p),
                    n,
                    prev,
                    Problem(a_seq, "does not match the recorded head hash (chain rewritten)"),
                    torn,
                    mac=mac_state,
                )
    # Records (or an emptied file) without the anchor: deleting the anchor is how a
    # truncation would be hidden. A crash can lose the anchor only of the very first
    # record (torn), which is not a complete record.
    unanchored = anchor is None and (n > 0 or (not data))
    return VerifyReport(
        str(p), n, prev, None, torn, unanchored, mac_state, expected_head_seq=expected_seq
    )


def _check_mac(rec: dict[str, Any], h: str, key: bytes, mac_from: int | None) -> str:
    mac = rec.get("mac")
    if mac is None:
        return (
            "record carries no MAC while the records before it do (rewritten without the key)"
            if mac_from is not None
            else ""
        )
    if not isinstance(mac, str) or not hmac.compare_digest(mac, record_mac(key, h)):
        return "MAC does not match (rewritten without the audit HMAC key, or a different key)"
    return ""


def _is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(_load(raw), dict)
    except ValueError:
        return False


def _check_line(raw: bytes, line: int, prev: str) -> tuple[str | None, str]:
    """(the record's hash, "") when it is good, else (None, reason)."""
    try:
        rec = _load(raw)
    except ValueError:
        return None, "not a JSON record (corrupted)"
    if not isinstance(rec, dict):
        return None, "not a JSON object (corrupted)"
    if rec.get("seq") != line:
        return None, (
            f"sequence {rec.get('seq')!r}, expected {line} (inserted, deleted,"
            " duplicated or reordered record)"
        )
    if rec.get("prev") != prev:
        return None, "prev hash does not match the record before it (chain broken)"
    h = rec.get("hash")
    if not isinstance(h, str) or record_hash(rec) != h:
        return None, "content does not match its hash (modified)"
    if canonical(rec) != raw:
        return None, "not in canonical form (modified)"
    return h, ""


def read_anchor(p: Path) -> tuple[int, str] | None:
    """(seq, hash) of a head anchor file; None when it is missing or unreadable."""
    try:
        d = _load(p.read_bytes())
        return int(d["seq"]), str(d["hash"])
    except (OSError, ValueError, KeyError, TypeError, OverflowError):
        return None


def _load(raw: bytes) -> Any:
    """`json.loads` of one line of a file anyone with write access can edit: nesting too
    deep for the parser is damage like any other (ValueError), not a crash."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
