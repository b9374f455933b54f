"""The incident memory's two database backends behind one small DB-API shim.

* **SQLite** (the default, zero set-up): one file under the data directory, WAL mode
  so readers never block the writer, every write one short `BEGIN IMMEDIATE`
  transaction with a busy timeout, so two aisre processes on one laptop never lose a
  record. Used by the demo and every README command.
* **PostgreSQL** (team mode): the profile's `memory_url: postgresql://user@host:port/db`.
  The password is never in the URL: it comes from the keyring entry named by
  `memory_password_name` (default `memory`, `aisre auth set memory`; CI: the
  `AISRE_MEMORY_TOKEN` variable), else libpq's own `~/.pgpass`/`PGPASSWORD`. Every
  write transaction first takes one transaction-level advisory lock, so writes from the
  whole rotation are serialized exactly as SQLite's `BEGIN IMMEDIATE` serializes them
  on one machine (a triage re-recorded twice at once still updates one incident).

Why raw DB-API at run time and not SQLAlchemy Core: importing SQLAlchemy costs about
0.15 s and Alembic another 0.1 s, against a 0.5 s budget for the demo triage (#10), and
the store's queries are a few dozen fixed, portable statements. So the run-time path
uses `sqlite3` / `psycopg` directly, with a two-line paramstyle shim (statements are
written with `?`; for psycopg `?` becomes `%s` and a literal `%` is doubled). The
schema version is checked with the same driver (`migrations.check`); SQLAlchemy and
Alembic are imported only when the schema must be created or upgraded, or by
`aisre memory migrate` (see migrations.py). The SQL used is the common subset of both
(`ON CONFLICT`, `RETURNING`, `IS NOT DISTINCT FROM`, text timestamps in ISO 8601 UTC
so ordering and comparisons are the same on both).

Nothing here prints a password: every message that could carry one (a driver error,
a URL) goes through `scrub`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from aisre_cli.errors import AisreError, ExitCode
from aisre_cli.runtime import heavy_import

if TYPE_CHECKING:  # imported where used: a team-store process never loads SQLite
    import sqlite3

BUSY_TIMEOUT_MS = 30_000
"""How long a command whose whole purpose is the memory (`incident resolve`, `incident
import`, `memory status`, a runbook run's track record) waits for another process's
lock on the local memory before it says so."""
TRIAGE_LOCK_WAIT_MS = 3_000
"""How long a triage waits for that lock (at open, for the priors, for the incident
write): on a page the ranked answer matters more than the memory, so a memory held by
another aisre process (a long `aisre incident import`, a stuck process inside a write)
costs a few seconds and a note, never the busy timeout."""
PG_CONNECT_TIMEOUT_S = 5
PG_SESSION_LIMITS = (
    "-c lock_timeout=5s -c statement_timeout=30s -c idle_in_transaction_session_timeout=60s"
)
"""No wait on the team store is open-ended: a teammate's stalled client holding the
write lock (a laptop suspended mid-transaction keeps it until TCP gives up, hours later)
must cost a triage seconds, not the page. A lock or statement timeout is
`MemoryUnavailable`, so the write goes to the local spool like any outage; the server
drops a transaction left idle by a dead client after a minute."""
PG_URL_OPTIONS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslnegotiation",
        "channel_binding",
        "gssencmode",
        "target_session_attrs",
        "load_balance_hosts",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
    }
)
"""libpq options a memory_url may carry (`?sslmode=verify-full`). Anything else is
refused: a password or passfile belongs in the keyring, and host/user/dbname/options
in the URL itself or not at all."""
PG_URL_CHOICES: dict[str, tuple[str, ...]] = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "sslnegotiation": ("postgres", "direct"),
    "channel_binding": ("disable", "prefer", "require"),
    "gssencmode": ("disable", "prefer", "require"),
    "target_session_attrs": (
        "any",
        "read-write",
        "read-only",
        "primary",
        "standby",
        "prefer-standby",
    ),
    "load_balance_hosts": ("disable", "random"),
}
PG_URL_INTEGERS = frozenset(
    {"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"}
)
"""Option values libpq checks before it connects: a typo there (`sslmode=requier`) is a
broken configuration, never an outage, so it is refused here (exit 2) instead of every
write waiting in the local spool for a connection that can never be made."""
PG_WRITE_LOCK = 0x41_49_53_52_45_4D_45_4D  # "AISREMEM": one lock id for the store's writes
DEFAULT_PASSWORD_NAME = "memory"

T = TypeVar("T")


class MemoryStoreError(AisreError):
    """The incident memory database cannot be read or written."""

    exit_code = ExitCode.USAGE


class MemoryLocked(MemoryStoreError):
    """The local memory stayed locked by another process for the whole wait (SQLite's
    busy timeout): the caller may go on without it (triage) or say so (the rest)."""


class MemoryUnavailable(MemoryStoreError):
    """The team store (PostgreSQL) cannot be reached right now: a transient condition a
    caller may spool around (the server is down, the network is gone), as opposed to a
    broken configuration (bad password, unknown database, a schema newer than aisre)."""

    exit_code = ExitCode.SOURCE


_URL_PW = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s]*@", re.IGNORECASE)
_KV_PW = re.compile(r"(?i)\b(password\s*=\s*)('[^']*'|\S+)")


def scrub(text: str, *secrets: str | None) -> str:
    """`text` without the given secrets, URL passwords or `password=` pairs."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    text = _URL_PW.sub(r"\1:***@", text)
    return _KV_PW.sub(r"\1***", text)


class PgRow(tuple[Any, ...]):
    """A psycopg row that reads like `sqlite3.Row`: by position, by name, `keys()`."""

    _names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database:
    """A connection and the few operations the store needs. Thread-safe (one lock)."""

    backend: str = ""
    location: str = ""
    """Where the data lives, for messages (a path, or `postgresql://user@host:port/db`)."""
    found_empty: bool = False
    """The memory's file was there but empty (0 bytes, no WAL beside it): it was opened as
    a new memory, and the incidents it held are gone (see `SqliteDatabase`)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    # subclasses: _exec, _exec_many, _begin, close, tables
    def _exec(self, sql: str, args: Sequence[Any]) -> Cursor:
        raise NotImplementedError

    def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def tables(self) -> set[str]:
        raise NotImplementedError

    def error(self, exc: Exception) -> MemoryStoreError:
        raise NotImplementedError

    def version_rows(self) -> list[Any] | None:
        """The rows of `alembic_version`, or None when there is no such table: one
        round trip in the common case (the start-up path of every command)."""
        raise NotImplementedError

    def _mapped(self, fn: Callable[[], T]) -> T:
        """Run one driver call under the lock; a driver error becomes the store's error."""
        with self._lock:
            try:
                return fn()
            except MemoryStoreError:
                raise
            except Exception as exc:
                if _is_driver_error(exc):
                    raise self.error(exc) from None
                raise

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        args = tuple(encodable(a) for a in args)
        return self._mapped(lambda: self._exec(sql, args))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for many rows; on PostgreSQL one round trip for all of them
        (pipeline mode), which matters when the team's database is a network hop away."""
        batch = [tuple(encodable(a) for a in r) for r in rows]
        if batch:
            self._mapped(lambda: self._exec_many(sql, batch))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return list(self.execute(sql, args).fetchall())

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One short write transaction, serialized against every other writer."""
        with self._lock:
            try:
                self._mapped(self._begin)
            except BaseException:
                # BEGIN went through and the lock wait timed out: the transaction is
                # open and aborted; close it so the connection stays usable
                with suppress(Exception):
                    self._exec("ROLLBACK", ())
                raise
            try:
                yield self
                self._exec("COMMIT", ())
            except BaseException as exc:
                try:
                    self._exec("ROLLBACK", ())
                except Exception:  # the connection itself is gone: nothing to roll back
                    pass
                if isinstance(exc, Exception) and _is_driver_error(exc):
                    raise self.error(exc) from None
                raise


_SURROGATE = re.compile("[\ud800-\udfff]")
_PG_BAD_OPTION = re.compile(r"invalid (\w+ )?value|invalid connection option|may not be used with")
"""libpq's messages for connection options it refuses before connecting."""


def _surrogate_escape(m: re.Match[str]) -> str:
    cp = ord(m.group())
    return f"\\x{cp - 0xDC00:02x}" if 0xDC80 <= cp <= 0xDCFF else f"\\u{cp:04x}"


def encodable(value: Any) -> Any:
    """`value`, with each lone surrogate in a string written as its escape (`\\x9b`),
    and each NUL character as `\\x00`.

    Python reads an undecodable byte of argv or of a file as a lone surrogate
    (surrogateescape): `aisre incident resolve 3 --note $'\\x9b…'` from a terminal not
    set to UTF-8. Neither driver can encode one (a UnicodeEncodeError, an internal
    error, and the note lost); its escape is what `visible()` would show anyway.
    PostgreSQL text cannot hold a NUL (`\\u0000` in a change feed line or an alert's
    JSON): the team store would refuse the write, and a spooled one would block the
    spool for good."""
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    if not value.isascii() and _SURROGATE.search(value):
        return _SURROGATE.sub(_surrogate_escape, value)
    return value


def _is_driver_error(exc: Exception) -> bool:
    mod = type(exc).__module__ or ""
    return mod == "sqlite3" or mod.startswith("psycopg")


# ---------------------------------------------------------------- SQLite


def _corrupt(path: Path, exc: Exception) -> MemoryStoreError:
    return MemoryStoreError(
        f"{path}: the incident memory database is unreadable ({_one_line(exc)})",
        hint=f"it was left untouched; move it aside (mv '{path}' '{path}.bad') to start a new"
        " memory, or restore a backup or a team export (aisre incident import FILE)",
    )


def _one_line(exc: Exception) -> str:
    """A driver message on one line (an integrity check lists one problem per line)."""
    return " ".join(str(exc).split())[:300]


def _unwritable(path: Path, exc: Exception) -> MemoryStoreError:
    return MemoryStoreError(
        f"{path}: the incident memory cannot be written here ({_one_line(exc)})",
        hint=f"aisre must be able to write {path} and its directory {path.parent} (the"
        " database and its -wal/-shm files): check their owner and permissions, or point"
        " AISRE_HOME (or XDG_DATA_HOME) at a writable directory; the file was left untouched",
    )


def _locked(path: Path, waited_ms: int) -> MemoryLocked:
    return MemoryLocked(
        f"{path}: the incident memory is locked by another aisre process"
        f" (waited {waited_ms / 1000:g}s)",
        hint="another process is writing to it: a long `aisre incident import`, or a stuck"
        " one; retry once it is done, or stop it",
    )


def _disk_error(path: Path, exc: Exception, full: bool) -> MemoryStoreError:
    what = "the disk is full" if full else "the disk answered with an I/O error"
    return MemoryStoreError(
        f"{path}: {what} ({_one_line(exc)}); nothing was written",
        hint=f"free space on the file system holding {path.parent} and retry"
        if full
        else f"check the disk and the file system holding {path.parent}, then retry",
    )


# SQLite's primary result codes (sqlite3.SQLITE_*, fixed by its C API), here so that a
# team-store process need not import sqlite3 for them
_SQLITE_LOCKED = (5, 6)  # BUSY, LOCKED
_SQLITE_UNWRITABLE = (8, 3, 14)  # READONLY, PERM, CANTOPEN
_SQLITE_FULL, _SQLITE_IOERR = 13, 10


def _switch_to_wal(conn: sqlite3.Connection, wait_ms: int) -> Any:
    """`PRAGMA journal_mode = WAL`, waiting out another process's lock. The switch needs
    the database to itself and SQLite answers "locked" at once instead of calling the
    busy handler (two aisre processes opening a new memory together hit it), so retry
    with a short backoff for the busy timeout (`wait_ms`)."""
    import sqlite3
    import time

    deadline = time.monotonic() + wait_ms / 1000
    pause = 0.005
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _is_emptied(path: Path) -> bool:
    """The file is there and empty, with no WAL beside it (which may hold the data):
    a memory truncated by a disk-full write, a bad copy or a sync tool. Never a new
    memory another aisre process is making: that appears whole (`_create`)."""
    try:
        return path.stat().st_size == 0 and not Path(f"{path}-wal").exists()
    except OSError:
        return False


def _create(path: Path) -> None:
    """Make the new memory `path` appear whole: a SQLite database already in WAL mode,
    made aside and hard-linked into place (which fails if the path exists meanwhile).
    A plain connect shows an empty file for a moment, and another aisre process opening
    it right then would take it for an emptied memory (`found_empty`). Where this cannot
    be done (no hard links on this file system, an unwritable directory), SQLite
    creates the file in place as before, and says itself what is wrong."""
    import os
    import secrets
    import sqlite3

    from aisre_cli.settings import paths

    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.new")
    try:
        # made empty first with the mode the memory keeps (SQLite gives its -wal and -shm
        # files the database file's mode): 0600 in the data folder, the reports it holds
        # quote logs
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, paths.private_file_mode(path)))
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()  # writes the header
        finally:
            conn.close()
        os.link(tmp, path)
    except (OSError, sqlite3.Error):  # made by another process meanwhile, or see above
        pass
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with suppress(OSError):
                os.unlink(f"{tmp}{suffix}")


class SqliteDatabase(Database):
    """The local memory. `busy_timeout_ms`: how long every statement waits for another
    process's lock (default `BUSY_TIMEOUT_MS`; a triage passes `TRIAGE_LOCK_WAIT_MS`)
    before `MemoryLocked`."""

    backend = "sqlite"

    def __init__(self, path: Path, *, busy_timeout_ms: int | None = None) -> None:
        import sqlite3

        super().__init__()
        self.path = path
        self.location = str(path)
        wait = BUSY_TIMEOUT_MS if busy_timeout_ms is None else int(busy_timeout_ms)
        self.busy_timeout_ms = wait
        from aisre_cli.settings import paths

        paths.private_parent(path)
        self.found_empty = _is_emptied(path)
        if not path.exists():
            _create(path)
        try:
            conn = sqlite3.connect(
                str(path),
                timeout=wait / 1000,
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
            conn.execute(f"PRAGMA busy_timeout = {wait}")
            # fetchall: the statement is finished and holds no read lock while the
            # journal mode changes below
            rows = conn.execute("PRAGMA quick_check(1)").fetchall()
            ok = rows[0] if rows else None
            if ok is None or ok[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {ok[0] if ok else 'no answer'}")
            mode = _switch_to_wal(conn, wait)
            if mode is None or str(mode[0]).lower() != "wal":
                raise sqlite3.DatabaseError(f"cannot switch to WAL (journal mode {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self.error(exc) from None
        self.conn = conn

    def error(self, exc: Exception) -> MemoryStoreError:
        """The store's error for a driver error, by SQLite's primary result code: only
        damage (and what cannot be told apart from it) says to move the file aside; a
        read-only file or directory, a full disk or an I/O error say what to fix."""
        import sqlite3

        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in _SQLITE_LOCKED or (
            primary is None
            and isinstance(exc, sqlite3.OperationalError)
            and ("locked" in str(exc) or "busy" in str(exc))
        ):
            return _locked(self.path, self.busy_timeout_ms)
        if primary in _SQLITE_UNWRITABLE:
            return _unwritable(self.path, exc)
        if primary in (_SQLITE_FULL, _SQLITE_IOERR):
            return _disk_error(self.path, exc, full=primary == _SQLITE_FULL)
        return _corrupt(self.path, exc)

    def _exec(self, sql: str, args: Sequence[Any]) -> Cursor:
        return self.conn.execute(sql, tuple(args))

    def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def _begin(self) -> None:
        import sqlite3

        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if isinstance(code, int) and code & 0xFF not in _SQLITE_LOCKED:
                raise self.error(exc) from None  # read-only, disk, damage: say which
            raise _locked(self.path, self.busy_timeout_ms) from None

    def close(self) -> None:
        self.conn.close()

    def tables(self) -> set[str]:
        rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(r[0]) for r in rows}

    def version_rows(self) -> list[Any] | None:
        import sqlite3

        with self._lock:
            try:
                return list(self.conn.execute("SELECT version_num FROM alembic_version"))
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return None
                raise self.error(exc) from None
            except sqlite3.DatabaseError as exc:
                raise self.error(exc) from None


# ---------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class PgTarget:
    """A parsed `memory_url` (never holding a password)."""

    url: str
    """`postgresql://user@host:port/db`, safe to print."""
    user: str | None
    host: str | None
    port: int | None
    dbname: str
    query: str


def parse_pg_url(url: str) -> PgTarget:
    """Validate a `memory_url`; a password inside it is refused (it belongs in the keyring)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise MemoryStoreError(
            f"memory_url {scrub(url)!r} is not a URL ({scrub(str(exc))})",
            hint="expected postgresql://USER@HOST:PORT/DATABASE",
        ) from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise MemoryStoreError(
            f"memory_url {scrub(url)!r}: only postgresql:// URLs are supported",
            hint="expected postgresql://USER@HOST:PORT/DATABASE, or remove memory_url to use"
            " the local SQLite memory",
        )
    if parts.password is not None:
        raise MemoryStoreError(
            f"memory_url {scrub(url)!r} contains a password",
            hint="remove it from the URL and store it in the keyring: aisre auth set memory",
        )
    db = unquote(parts.path.lstrip("/"))
    if not db:
        raise MemoryStoreError(
            f"memory_url {scrub(url)!r} names no database",
            hint="expected postgresql://USER@HOST:PORT/DATABASE",
        )
    opts = parse_qsl(parts.query, keep_blank_values=True)
    bad = sorted({k for k, _ in opts if k not in PG_URL_OPTIONS})
    if bad:
        secretish = any(k in ("password", "passfile", "sslpassword") for k in bad)
        raise MemoryStoreError(
            f"memory_url {scrub(url)!r}: option {', '.join(bad)} is not allowed in the URL",
            hint="store the password with `aisre auth set memory`"
            if secretish
            else f"allowed options: {', '.join(sorted(PG_URL_OPTIONS))}",
        )
    for k, v in opts:
        choices = PG_URL_CHOICES.get(k)
        if (choices is not None and v not in choices) or (
            k in PG_URL_INTEGERS and not v.strip().lstrip("-").isdigit()
        ):
            want = ", ".join(choices) if choices is not None else "an integer"
            raise MemoryStoreError(
                f"memory_url {scrub(url)!r}: {k}={v!r} is not a valid value",
                hint=f"{k} takes {want}",
            )
    user = unquote(parts.username) if parts.username else None
    host = parts.hostname
    shown = f"postgresql://{user + '@' if user else ''}{host or ''}"
    shown += f":{port}" if port else ""
    shown += f"/{db}"
    return PgTarget(shown, user, host, port, db, parts.query)


class PostgresDatabase(Database):
    backend = "postgresql"

    def __init__(
        self,
        target: PgTarget,
        password: str | None,
        origin: str | None = None,
        password_name: str = "memory",
    ) -> None:
        super().__init__()
        psycopg = heavy_import("psycopg")

        self.target = target
        self.location = target.url
        self._password = password
        self._origin = origin
        """Where the password came from: keyring, file, env; "" none configured; None
        not known (the caller looked it up itself)."""
        self._password_name = password_name
        kw: dict[str, Any] = {
            "dbname": target.dbname,
            "connect_timeout": PG_CONNECT_TIMEOUT_S,
            "application_name": "aisre",
            "autocommit": True,
        }
        if target.user:
            kw["user"] = target.user
        if target.host:
            kw["host"] = target.host
        if target.port:
            kw["port"] = target.port
        if password:
            kw["password"] = password
        kw.update(parse_qsl(target.query))  # only PG_URL_OPTIONS (parse_pg_url), decoded
        kw["options"] = PG_SESSION_LIMITS
        try:
            self.conn = psycopg.connect("", **kw)
        except psycopg.Error as exc:
            raise self.error(exc) from None
        self.conn.row_factory = _pg_row_factory

    def _password_hint(self) -> str:
        """Where the refused (or missing) password comes from, and how to fix it."""
        from aisre_cli.settings.secrets import env_var

        name, var = self._password_name, env_var(self._password_name)
        if self._origin == "env":
            return (
                f"{var} holds a password the server refuses: fix it, or unset it and store"
                f" the right one with `aisre auth set {name}`"
            )
        if self._origin != "":
            return f"store the right one with `aisre auth set {name}` ({var} in CI)"
        return (
            f"`aisre auth set {name}` stores one in the keyring ({var} in CI; the profile's"
            " memory_password_name names the entry)"
        )

    def error(self, exc: Exception) -> MemoryStoreError:
        import psycopg

        # libpq's lines ("…: Connection refused" / "Is the server running…?") as clauses
        lines = (" ".join(x.split()) for x in str(exc).splitlines())
        msg = scrub("; ".join(x for x in lines if x), self._password)[:300]
        where = self.target.url
        low = msg.lower()
        if "password authentication failed" in low or "no password supplied" in low:
            return MemoryStoreError(
                f"{where}: the team memory refused the password ({msg})"
                if self._origin != ""
                else f"{where}: no password is configured for the team memory ({msg})",
                hint=self._password_hint(),
                exit_code=ExitCode.AUTH,
            )
        if isinstance(exc, psycopg.OperationalError) and (
            "does not exist" in low or "permission denied" in low
        ):
            return MemoryStoreError(
                f"{where}: {msg}", hint="check memory_url and the role's grants"
            )
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            role = self.target.user or "this role"
            return MemoryStoreError(
                f"{where}: the role {role} may not do this ({msg})",
                hint="the database owner grants it what docs/team-mode.md steps 3 and 4 say"
                " (or memory_url names the wrong role)",
            )
        if isinstance(exc, psycopg.OperationalError) and _PG_BAD_OPTION.search(low):
            # libpq refused the connection options before connecting: never transient
            return MemoryStoreError(
                f"{where}: the connection options are invalid ({msg})",
                hint="fix the options of memory_url (`aisre config edit`)",
            )
        if isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
            return MemoryUnavailable(
                f"{where}: the team memory is busy ({msg})",
                hint="another client holds a lock on it; what this command writes is kept"
                " in the local spool and sent later (`aisre memory sync`)",
            )
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return MemoryUnavailable(
                f"{where}: the team memory is unreachable ({msg})",
                hint="check that the PostgreSQL server is up and reachable from here",
            )
        return MemoryStoreError(f"{where}: {msg}", hint="see the PostgreSQL server log")

    def _exec(self, sql: str, args: Sequence[Any]) -> Cursor:
        if args:
            sql = sql.replace("%", "%%").replace("?", "%s")
        return cast(Cursor, self.conn.execute(cast(Any, sql), tuple(args) if args else None))

    def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        sql = sql.replace("%", "%%").replace("?", "%s")
        with self.conn.cursor() as cur:
            cur.executemany(cast(Any, sql), rows)

    def _begin(self) -> None:
        # one round trip: no parameters, so both statements go as one simple query
        self.conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({int(PG_WRITE_LOCK)})")

    def close(self) -> None:
        self.conn.close()

    def tables(self) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {str(r[0]) for r in rows}

    def version_rows(self) -> list[Any] | None:
        import psycopg

        with self._lock:
            try:
                return list(self.conn.execute("SELECT version_num FROM alembic_version"))
            except psycopg.errors.UndefinedTable:
                return None
            except psycopg.Error as exc:
                raise self.error(exc) from None


def _pg_row_factory(cursor: Any) -> Any:
    desc = cursor.description
    if desc is None:
        return tuple
    names = tuple(d.name for d in desc)
    cls = type("Row", (PgRow,), {"_names": names, "__slots__": ()})

    def make(values: Sequence[Any]) -> PgRow:
        return cast(PgRow, cls(values))

    return make


# ---------------------------------------------------------------- opening


@dataclass(frozen=True)
class Location:
    """Which memory to open: a SQLite file, or a PostgreSQL target and its password."""

    path: Path | None = None
    pg: PgTarget | None = None
    password_name: str = DEFAULT_PASSWORD_NAME

    @property
    def display(self) -> str:
        return self.pg.url if self.pg is not None else str(self.path)

    @property
    def backend(self) -> str:
        return "postgresql" if self.pg is not None else "sqlite"


def location_for(
    memory_url: str | None, password_name: str | None = None, path: Path | None = None
) -> Location:
    """The memory a profile names: `memory_url` (PostgreSQL) or the local SQLite file."""
    if memory_url:
        if memory_url.startswith("sqlite:///"):
            return Location(path=Path(memory_url.removeprefix("sqlite:///")).expanduser())
        return Location(
            pg=parse_pg_url(memory_url), password_name=password_name or DEFAULT_PASSWORD_NAME
        )
    if path is None:
        from aisre_cli.settings import paths

        path = paths.memory_db_file()
    return Location(path=path)


def password_for(loc: Location) -> str | None:
    """The team store's password from the keyring / file store / environment, or None
    (then libpq's ~/.pgpass or PGPASSWORD apply)."""
    return password_and_origin(loc)[0]


def password_and_origin(loc: Location) -> tuple[str | None, str]:
    """`password_for` and where it came from (keyring, file, env; "" for none), so a
    refused password's hint names the place to fix."""
    from aisre_cli.settings import secrets

    hit = secrets.lookup(loc.password_name)
    return (hit[0].get_secret_value(), hit[1]) if hit else (None, "")


def connect(loc: Location, *, busy_timeout_ms: int | None = None) -> Database:
    """Open the memory `loc` names. `busy_timeout_ms`: how long the local memory waits
    for another process's lock (default `BUSY_TIMEOUT_MS`); the team store has its own
    limits (`PG_SESSION_LIMITS`)."""
    if loc.pg is not None:
        password, origin = password_and_origin(loc)
        return PostgresDatabase(loc.pg, password, origin, loc.password_name)
    assert loc.path is not None
    return SqliteDatabase(loc.path, busy_timeout_ms=busy_timeout_ms)
