"""Team mode, composed: the team audit log, the spool, and the replay of the spool.

A profile is in team mode when its `memory_url` is a `postgresql://` URL. Then:

* audit records go to the team chain (`audit_pg.PgAuditLog`), or to the spool while the
  server cannot be reached;
* memory writes (incidents, changes, runbook outcomes) go to the team store, or to the
  spool likewise (the memory layer's `storage` decides, and says so in a note);
* the spool is replayed, oldest record first, by the next command that talks to the
  store (`replay(profile)`, quietly: a failure leaves the spool as it is) and by `aisre
  memory sync` (which reports).

The replay handlers of every record kind are assembled here, because this is the lowest
layer that sees both the memory store (incidents, changes) and the audit chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aisre_cli.errors import AisreError
from aisre_cli.memory.backend import MemoryUnavailable
from aisre_cli.memory.spool import Handler, ReplayResult, Spool, SpoolError, memory_handler

if TYPE_CHECKING:
    from aisre_cli.govern.audit_pg import PgAuditLog
    from aisre_cli.memory.storage import MemoryStore
    from aisre_cli.settings.config import Profile


def team_url(profile: Profile | None) -> str | None:
    url = getattr(profile, "memory_url", None) if profile is not None else None
    if url and str(url).split(":", 1)[0] in ("postgresql", "postgres"):
        return str(url)
    return None


def _password_name(profile: Profile | None) -> str | None:
    name = getattr(profile, "memory_password_name", None) if profile is not None else None
    return str(name) if name else None


def open_team_audit(profile: Profile, *, spool: Spool | None = None) -> PgAuditLog:
    """The team audit log of a team-mode profile, spooling while the server is down."""
    from aisre_cli.govern.audit_pg import PgAuditLog

    url = team_url(profile)
    if url is None:
        raise ValueError("not a team-mode profile (memory_url is not postgresql://)")
    sp = spool or Spool()
    log = PgAuditLog(url, spool=sp, password_name=_password_name(profile))

    def drain() -> None:
        try:
            replay(profile, audit=log, spool=sp)
        except AisreError:
            pass  # the records stay spooled, and so does this one (order is kept)

    log.before_append = drain
    return log


def handlers(audit: PgAuditLog, store: MemoryStore | None) -> dict[str, Handler]:
    """The replay handler of every record kind the spool may hold."""
    out: dict[str, Handler] = {"audit": audit.replay_handler}
    if store is not None:
        out["memory"] = memory_handler(store)
    return out


def replay(
    profile: Profile,
    *,
    audit: PgAuditLog | None = None,
    store: MemoryStore | None = None,
    spool: Spool | None = None,
    wait: bool = False,
) -> ReplayResult:
    """Replay the spool into the team store, oldest first; stops quietly (`stopped`)
    when the server goes away again. Raises AisreError for a damaged spool, a refused
    password or a schema this aisre cannot use."""
    sp = spool or Spool()
    if not sp.path.exists() or not sp.pending():
        return ReplayResult()
    url = team_url(profile)
    if url is None:
        raise SpoolError(
            f"{sp.path} holds {len(sp.pending())} write(s) for a team store, but this"
            " profile has no postgresql:// memory_url",
            hint="run `aisre memory sync` with the team profile (--profile NAME)",
        )
    own_log = audit is None
    log = audit if audit is not None else open_team_audit(profile, spool=sp)
    own_store = store is None
    st = store
    try:
        if st is None:
            from aisre_cli.memory.storage import open_store

            try:
                st = open_store(memory_url=url, password_name=_password_name(profile))
            except MemoryUnavailable as exc:
                return ReplayResult(remaining=len(sp.pending()), stopped=exc.message)
        return sp.replay(handlers(log, st), wait=wait)
    finally:
        if own_store and st is not None:
            st.close()
        if own_log:
            log.close()
