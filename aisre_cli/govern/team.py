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
from aisre_cli.memory.spool import (
    Handler,
    ReplayResult,
    Spool,
    SpoolError,
    memory_handler,
    spooling_writer,
)

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


def open_memory(profile: Profile | None) -> tuple[MemoryStore, list[str]]:
    """The incident memory of this profile, and what to tell the user about it.

    Local profile: the SQLite memory. Team profile: the team store, whose writes go to
    the spool while it is down (and behind older spooled writes, to keep their order),
    after replaying the spool if it holds anything; or, when the server cannot be
    reached, an `OfflineStore` (writes spooled, reads empty) and a note saying so.
    Raises AisreError for a refused password or a schema this aisre cannot use."""
    from aisre_cli.memory.storage import open_store

    url = team_url(profile)
    pw = _password_name(profile)
    if url is None:
        return open_store(memory_url=getattr(profile, "memory_url", None), password_name=pw), []
    assert profile is not None
    sp = Spool()
    try:
        st = open_store(memory_url=url, password_name=pw)
    except MemoryUnavailable as exc:
        from aisre_cli.memory.backend import location_for
        from aisre_cli.memory.offline import OfflineStore

        waiting = sp.status().depth
        held = f"; {waiting} earlier write(s) are waiting there too" if waiting else ""
        return OfflineStore(location_for(url, pw), sp, exc.message), [
            f"team memory unreachable ({exc.message}): no past incidents this time; the"
            f" record of this one is kept in the local spool and sent when the server is"
            f" back{held}"
        ]
    notes: list[str] = []
    if sp.path.exists() and sp.pending():
        try:
            res = replay(profile, store=st, spool=sp)
        except AisreError as err:
            notes.append(f"local spool not replayed: {err.message}")
        else:
            if res.replayed:
                notes.append(
                    f"sent {res.replayed} write(s) kept in the local spool while the team"
                    " store was unreachable"
                )
            if res.remaining and not res.busy:
                notes.append(f"{res.remaining} write(s) still in the local spool")

    def drain() -> None:
        replay(profile, store=st, spool=sp)

    st.writer = spooling_writer(st, sp, drain)
    return st, notes


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
