"""Connecting to the team database (PostgreSQL) and telling its failures apart.

The password is never in the profile: a `memory_url` such as
`postgresql://aisre@db.internal:5432/aisre` names the server, the role and the
database, and the password comes from the token store (`aisre auth set memory`, or
`AISRE_MEMORY_TOKEN` in CI). A password left in the URL still works but is never shown:
every message names the URL without its userinfo.

Failures fall in three classes, because the caller does something different for each:

* the server cannot be reached (refused, timed out, shutting down, connection lost):
  `Unavailable`, and writes go to the local spool (`memory/spool.py`);
* the server refused the credentials: `AuthError` (exit 4), one line with a hint;
* anything else (no such database, a permission denied): `TeamStoreError` (exit 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aisre_cli.errors import AisreError, AuthError, ExitCode
from aisre_cli.memory.spool import Unavailable
from aisre_cli.settings.secrets import get_token, redact, split_userinfo, strip_userinfo

if TYPE_CHECKING:
    import psycopg

TOKEN_NAME = "memory"
"""The token store entry holding the team database password."""
CONNECT_TIMEOUT_S = 5
"""A page does not wait longer than this for a server that does not answer."""

_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "timeout expired",
    "timed out",
    "no route to host",
    "network is unreachable",
    "server closed the connection",
    "terminating connection",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "consuming input failed",
    "connection is lost",
    "connection is closed",
    "could not receive data",
    "could not send data",
    "name or service not known",
    "temporary failure in name resolution",
    "no such file or directory",  # a unix socket that is gone
)
_UNREACHABLE_STATES = ("57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006")
_AUTH = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "pg_hba.conf rejects",
    "no pg_hba.conf entry",
)


class TeamStoreError(AisreError):
    """The team database answered, but not as the tool needs (schema, permissions)."""

    exit_code = ExitCode.USAGE


def is_team_url(url: str | None) -> bool:
    return bool(url) and str(url).split(":", 1)[0] in ("postgresql", "postgres")


def shown(url: str) -> str:
    """The URL as it may be printed (no userinfo)."""
    return strip_userinfo(url)


def classify(exc: BaseException, url: str) -> BaseException:
    """The exception to raise for a psycopg error (see the module docstring)."""
    import psycopg

    text = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = str(exc).lower()
    state = getattr(exc, "sqlstate", None)
    where = shown(url)
    if any(k in low for k in _AUTH) or state in ("28P01", "28000"):
        return AuthError(
            f"{where}: the team database refused the credentials",
            hint=f"store the password with `aisre auth set {TOKEN_NAME}` (CI:"
            f" AISRE_{TOKEN_NAME.upper()}_TOKEN) and check the role in memory_url",
        )
    if state in _UNREACHABLE_STATES or any(k in low for k in _UNREACHABLE):
        return Unavailable(f"{where}: {text}")
    if isinstance(exc, psycopg.OperationalError) and state is None:
        return Unavailable(f"{where}: {text}")
    return TeamStoreError(
        f"{where}: {text}",
        hint="check memory_url (database name, role) and the grants in docs/team-mode.md",
    )


def connect(
    url: str,
    *,
    timeout: float = CONNECT_TIMEOUT_S,
    autocommit: bool = True,
    password_name: str = TOKEN_NAME,
) -> Any:
    """A psycopg connection to the team database; raises as `classify` says."""
    import psycopg

    clean, creds = split_userinfo(url)
    kwargs: dict[str, Any] = {
        "connect_timeout": max(1, int(timeout)),
        "autocommit": autocommit,
        "application_name": "aisre",
    }
    if creds is not None:
        user, password = creds
        if user:
            kwargs["user"] = user
        if password:
            kwargs["password"] = password
    if "password" not in kwargs:
        tok = get_token(password_name)
        if tok is not None:
            kwargs["password"] = tok.get_secret_value()
    try:
        conn: psycopg.Connection[Any] = psycopg.connect(clean, **kwargs)
    except psycopg.Error as exc:
        raise classify(exc, url) from None
    return conn
