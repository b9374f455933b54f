"""Team mode, composed: the team audit log with its spool, and replaying every spool.

A profile is in team mode when its `memory_url` is a `postgresql://` URL. Then:

* memory writes (incidents, confirmed causes, changes, runbook outcomes, alert
  episodes) go to the team store, or to the memory spool while it is down
  (memory/teamstore.py, which `open_store` returns for such a profile);
* audit records go to the team chain (`audit_pg.PgAuditLog`), or to the audit spool,
  where each is chained to the previous spooled one;
* each spool is replayed, oldest record first, by the next command that talks to that
  store (quietly: a failure leaves the spool as it is), and both by `aisre memory sync`.

Two spools, not one, because their records are independent (no audit record refers
to a memory row, or the other way round) and each is replayed by its own layer; the
order that matters (the audit chain; a confirmed cause after its incident) is the order
within one spool, which the replay keeps.

Each team store has its own pair of spools (`spool.store_spool_dir`): a profile's
commands write to and replay only its store's, so a store that is down delays no other.
The legacy machine-wide spools of older releases are replayed first, for the records
they hold for the store being replayed (`spool.StoreSpool`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aisre_cli.errors import AisreError
from aisre_cli.memory.spool import ReplayResult, Spool, audit_spool, memory_spool, store_key

if TYPE_CHECKING:
    from aisre_cli.govern.audit_pg import PgAuditLog
    from aisre_cli.settings.config import Profile


def team_url(profile: Profile | None) -> str | None:
    url = getattr(profile, "memory_url", None) if profile is not None else None
    if url and str(url).split(":", 1)[0] in ("postgresql", "postgres"):
        return str(url)
    return None


def profile_store(profile: Profile | None) -> str | None:
    """The `store_key` of a team-mode profile's store (which spools are its), or None."""
    url = team_url(profile)
    if url is None:
        return None
    from aisre_cli.memory.backend import location_for

    return store_key(location_for(url))


def _password_name(profile: Profile | None) -> str | None:
    name = getattr(profile, "memory_password_name", None) if profile is not None else None
    return str(name) if name else None


def open_team_audit(profile: Profile, *, spool: Spool | None = None) -> PgAuditLog:
    """The team audit log of a team-mode profile, spooling while the server is down."""
    from aisre_cli.govern.audit_pg import PgAuditLog

    url = team_url(profile)
    if url is None:
        raise ValueError("not a team-mode profile (memory_url is not postgresql://)")
    sp = spool or audit_spool(profile_store(profile))
    log = PgAuditLog(url, spool=sp, password_name=_password_name(profile))

    def drain() -> None:
        try:
            replay_audit(log)
        except AisreError:
            pass  # the records stay spooled, and so does this one (order is kept)

    log.before_append = drain
    return log


def replay_audit(log: PgAuditLog) -> ReplayResult:
    """Chain the spooled audit records into the team chain, oldest first."""
    sp = log.spool
    if sp is None or not sp.has_pending():
        return ReplayResult()
    return sp.replay({"audit": log.replay_handler})


def drain_audit(profile: Profile | None) -> str | None:
    """Replay the audit spool, quietly, when it holds records (the next command that
    talks to the team store after an outage); a note for the user, or None."""
    if team_url(profile) is None:
        return None
    assert profile is not None
    sp = audit_spool(profile_store(profile))
    if not sp.has_pending():
        return None
    log = open_team_audit(profile, spool=sp)
    try:
        res = replay_audit(log)
    except AisreError as err:
        return f"local audit spool not replayed: {err.message}"
    finally:
        log.close()
    if res.replayed:
        return (
            f"chained {res.replayed} audit record(s) kept in the local spool into the team"
            " audit trail"
        )
    return None


@dataclass
class SyncResult:
    memory: ReplayResult
    audit: ReplayResult

    def to_dict(self) -> dict[str, Any]:
        return {"memory": self.memory.to_dict(), "audit": self.audit.to_dict()}


def sync(profile: Profile, *, wait: bool = True) -> SyncResult:
    """Replay the profile's store's spools into it (`aisre memory sync`), the legacy
    machine-wide spools' records for it first. Raises AisreError for a damaged spool, a
    refused password or a schema this aisre cannot use."""
    from aisre_cli.memory.backend import MemoryUnavailable
    from aisre_cli.memory.storage import MemoryStore, open_store

    url = team_url(profile)
    if url is None:
        from aisre_cli.memory.spool import all_status

        depth = sum(s.depth for kinds in all_status().values() for s in kinds.values())
        if depth:
            from aisre_cli.memory.spool import SpoolError

            raise SpoolError(
                f"{depth} write(s) wait in the local spool for a team store, but this profile"
                " has no postgresql:// memory_url",
                hint="run `aisre memory sync --profile NAME` with the team profile",
            )
        return SyncResult(ReplayResult(), ReplayResult())
    key = profile_store(profile)
    msp, asp = memory_spool(key), audit_spool(key)
    mres = ReplayResult(remaining=_waiting(msp))
    try:  # always: a sync with nothing to send still says whether the store answers
        st = open_store(profile=profile, spool=False)
    except MemoryUnavailable as exc:
        mres.stopped = exc.message
    else:
        try:
            from aisre_cli.memory.spool import memory_handler

            assert isinstance(st, MemoryStore)
            if mres.remaining:
                mres = msp.replay({"memory": memory_handler(st, msp)}, wait=wait)
        finally:
            st.close()
    log = open_team_audit(profile, spool=asp)
    try:
        ares = asp.replay({"audit": log.replay_handler}, wait=wait)
    finally:
        log.close()
    return SyncResult(mres, ares)


def _waiting(sp: Spool) -> int:
    """The records `sp` will send (with a `StoreSpool`, the legacy spool's for it too)."""
    from aisre_cli.memory.spool import StoreSpool, other_store

    n = sp.status().depth
    if isinstance(sp, StoreSpool) and sp.legacy.has_pending():
        n += sum(other_store(r, sp.key) is None for r in sp.legacy.pending())
    return n
