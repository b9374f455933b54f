"""Schema migrations for the incident memory: Alembic on SQLAlchemy Core, both backends.

The migration scripts live in the package (`memory/alembic/versions/`) and are the
same for SQLite and PostgreSQL; Alembic is configured in code (no alembic.ini at run
time). Never edit a revision that has shipped; add a new one and bump `HEAD`
(tests/test_memory_backends.py checks `HEAD` against Alembic's own head).

Start-up cost: SQLAlchemy + Alembic take ~0.25 s to import, so `check` reads the
version with the raw driver (`SELECT version_num FROM alembic_version`) and the
store imports Alembic only when `check` says an upgrade is due (a new memory, an older
one, or `aisre memory migrate`). A current schema costs one query.

* A memory made by the hand-written runner this replaces (its `_migrations` table
  names `m001_incidents`..`m003_alert_events`, whose DDL revisions 0001..0003 repeat)
  is stamped at the matching revision, in place, then upgraded; `_migrations` is left
  as it was so an older aisre still opens the file.
* A schema newer than this aisre (a revision it does not know, written by a newer
  version on the same team store) is refused with one line and exit 2, and nothing
  is written.
* Concurrent upgraders are serialized in the migration transaction (env.py); the
  legacy stamp runs inside one write transaction of the store's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisre_cli.memory.backend import (
    Database,
    Location,
    MemoryStoreError,
    MemoryUnavailable,
    PostgresDatabase,
    password_for,
    scrub,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005")
"""Every revision this aisre ships, oldest first."""
HEAD = REVISIONS[-1]
LEGACY: dict[str, str] = {
    "m001_incidents": "0001",
    "m002_runbook_runs": "0002",
    "m003_alert_events": "0003",
}
"""The hand-written runner's migration names and the revision with the same schema."""
SCRIPTS = Path(__file__).resolve().parent / "alembic"


class SchemaTooNew(MemoryStoreError):
    """The memory was migrated by a newer aisre."""


class SchemaNeedsOwner(MemoryUnavailable):
    """The team store's schema is older than this aisre and the tool role may not
    upgrade it (docs/team-mode.md: only the owner runs migrations). Until the owner
    does, this behaves like an unreachable server: triage runs without the memory and
    writes wait in the local spool, to be sent once the schema is current."""


INSUFFICIENT_PRIVILEGE = "42501"
"""PostgreSQL's SQLSTATE for a statement the role may not run (`must be owner of …`)."""


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, also when SQLAlchemy wraps it (`.orig`)."""
    for e in (exc, getattr(exc, "orig", None)):
        code = getattr(e, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def current(db: Database) -> str | None:
    """The schema revision (raw driver): None for an empty database; `legacy:NAME` for
    one made by the hand-written runner (its last migration)."""
    rows = db.version_rows()
    if rows is not None:
        if len(rows) > 1:
            raise MemoryStoreError(
                f"{db.location}: the memory's schema has {len(rows)} heads"
                f" ({', '.join(sorted(str(r[0]) for r in rows))})",
                hint="it was migrated by a branch of aisre this one does not know; upgrade aisre",
            )
        if rows:
            return str(rows[0][0])
    if "_migrations" in db.tables():
        names = [str(r[0]) for r in db.query("SELECT name FROM _migrations")]
        known = [n for n in LEGACY if n in names]
        unknown = sorted(set(names) - set(LEGACY))
        if unknown:
            raise SchemaTooNew(
                f"{db.location}: the memory's schema ({unknown[-1]}) is newer than this aisre",
                hint="upgrade aisre; the memory was left untouched",
            )
        return f"legacy:{known[-1]}" if known else None
    return None


def check(db: Database) -> bool:
    """True when the schema is current; False when an upgrade is due. Raises
    `SchemaTooNew` for a revision this aisre does not know."""
    rev = current(db)
    if rev == HEAD:
        return True
    if rev is None or rev.startswith("legacy:") or rev in REVISIONS:
        return False
    raise SchemaTooNew(
        f"{db.location}: the memory's schema (revision {rev}) is newer than this aisre"
        f" (which knows up to {HEAD})",
        hint="upgrade aisre on this machine; the memory was left untouched",
    )


def _stamp_legacy(db: Database) -> None:
    """Convert a hand-written-runner memory: record its revision for Alembic (in place)."""
    if not (current(db) or "").startswith("legacy:"):
        return
    with db.transaction():
        rev = current(db)  # re-read under the write lock: another process may have done it
        if rev is None or not rev.startswith("legacy:"):
            return
        db.execute(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,"
            " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
        db.execute(
            "INSERT INTO alembic_version (version_num) VALUES (?)",
            (LEGACY[rev.removeprefix("legacy:")],),
        )


def _engine(loc: Location) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import URL

    if loc.pg is not None:
        t = loc.pg
        url = URL.create(
            "postgresql+psycopg",
            username=t.user,
            password=password_for(loc),
            host=t.host,
            port=t.port,
            database=t.dbname,
        )
        return create_engine(
            url,
            poolclass=_null_pool(),
            connect_args={"connect_timeout": 5, "application_name": "aisre-migrate"},
        )
    assert loc.path is not None
    eng = create_engine(f"sqlite:///{loc.path}", poolclass=_null_pool())

    @event.listens_for(eng, "connect")
    def _connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # let the begin hook issue BEGIN itself
        dbapi_conn.execute("PRAGMA busy_timeout = 30000")

    @event.listens_for(eng, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # transactional DDL, one upgrader at a time

    return eng


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


def upgrade(loc: Location, db: Database, upto: str | None = None) -> list[str]:
    """Bring the schema to `upto` (default: HEAD) with Alembic; returns the revisions
    applied. `db` is the store's own connection (for the legacy stamp and re-checks)."""
    target = upto or HEAD
    if target not in REVISIONS:
        raise ValueError(f"unknown revision {target!r}")
    check(db)  # refuses a newer schema before anything is written
    _stamp_legacy(db)
    before = current(db)
    if before == target:
        return []
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    eng = _engine(loc)
    try:
        with eng.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, target)
            conn.commit()
    except MemoryStoreError:
        raise
    except Exception as exc:  # a driver error: one line, password scrubbed
        secret = password_for(loc) if isinstance(db, PostgresDatabase) else None
        if isinstance(db, PostgresDatabase) and _sqlstate(exc) == INSUFFICIENT_PRIVILEGE:
            role = loc.pg.user if loc.pg is not None else None
            raise SchemaNeedsOwner(
                f"{loc.display}: the team memory's schema (revision {before or 'none'}) is"
                f" older than this aisre ({target}), and the role {role or '(this one)'}"
                " may not upgrade it",
                hint="the database owner runs `aisre memory migrate --to"
                " postgresql://OWNER@HOST/DB`, then re-grants steps 3 and 4 of"
                " docs/team-mode.md; until then writes wait in the local spool",
            ) from None
        raise MemoryStoreError(
            f"{loc.display}: migrating the incident memory failed"
            f" ({scrub(' '.join(str(exc).split()), secret)[:300]})",
            hint="nothing was changed past the last complete migration; see the error above",
        ) from None
    finally:
        eng.dispose()
    after = current(db)
    start = REVISIONS.index(before) + 1 if before in REVISIONS else 0
    end = REVISIONS.index(after) + 1 if after in REVISIONS else 0
    return list(REVISIONS[start:end])
