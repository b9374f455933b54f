"""Team mode, QA pass on the spool and the advisor: a damaged spool line that is not
the last one (A), the "last confirmed cause" of the memory evidence (B), and the
`--force` command a replayed conflicting cause suggests (C).

The CLI tests run `aisre` in a subprocess against a real PostgreSQL that they stop and
restart (tests/pg.py; this module owns its cluster, `cluster`/`url` of
tests/pg_fixtures.py: under CI=true a missing PostgreSQL fails). B runs on both
backends. Each test names the defect it pins; each failed before its fix.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aisre_cli.memory import storage
from aisre_cli.memory.advisor import Advisor
from aisre_cli.memory.backend import location_for
from aisre_cli.memory.spool import (
    SET_ASIDE,
    Spool,
    SpoolDamaged,
    legacy_memory_spool,
    memory_spool,
    spool_op,
    spooling_writer,
)
from aisre_cli.memory.storage import MemoryStore, WriteOp
from aisre_cli.model import Context, Window
from tests.test_memory_store import SIG, T0, alert, report
from tests.test_team_faults import _aisre, _config

if TYPE_CHECKING:
    from tests.pg import PgCluster


def _damage(sp: Spool, index: int) -> None:
    """Change a value inside one complete line: its checksum no longer matches."""
    lines = sp.path.read_bytes().splitlines(keepends=True)
    bad = lines[index].replace(b'"version":"x1"', b'"version":"x9"')
    bad = bad.replace(b'"version":"x2"', b'"version":"x9"')
    assert bad != lines[index]
    lines[index] = bad
    sp.path.write_bytes(b"".join(lines))


def _refused(p: Any) -> None:
    """Exit 6, the damage named, the set-aside as the hint, nothing said spooled."""
    assert p.returncode == 6, p.stdout + p.stderr
    err = p.stderr.strip().splitlines()
    assert err[-2].startswith("error: the local spool") and "is damaged" in err[-2], p.stderr
    assert err[-1].startswith(f"hint: run `{SET_ASIDE}`"), p.stderr
    assert "kept in the local spool" not in p.stderr + p.stdout
    assert "recorded deploy" not in p.stderr


# ------------------------------------------------------------------ A: damage anywhere


@pytest.mark.parametrize("server", ["down", "up"])
@pytest.mark.parametrize("damaged", [0, 1], ids=["first-line", "last-line"])
def test_a_damaged_spool_line_anywhere_refuses_team_writes(
    cluster: PgCluster, url: str, _aisre_home: Path, server: str, damaged: int
) -> None:
    """A: with the server down and the damaged line not the last, `change record` and
    `incident resolve` were queued behind it (exit 0, "1 earlier write(s) are waiting
    there too" for two): now exit 6 with the set-aside hint, the right count, and the
    spool left as it was, whichever line is damaged and whether the server is up."""
    home = _aisre_home
    _config(home, url)
    with MemoryStore(location=location_for(url)) as st:
        inc = st.record_report(report(), SIG)  # an incident `incident resolve` can find
    cluster.stop_server("fast")
    for v in ("x1", "x2"):
        p = _aisre(home, "change", "record", "-s", "inventory", "--version", v, "--id", f"d-{v}")
        assert p.returncode == 0 and "local spool" in p.stderr, p.stderr
    sp = memory_spool()
    _damage(sp, damaged)
    before = sp.path.read_bytes()
    if server == "up":
        cluster.start_again()

    st_ = _aisre(home, "memory", "status")
    assert st_.returncode == 6, st_.stdout + st_.stderr

    p = _aisre(home, "change", "record", "-s", "inventory", "--version", "x3", "--id", "d-x3")
    _refused(p)
    assert "2 write(s) wait there" in p.stderr, p.stderr  # both lines, the damaged one too
    assert "d-x3" not in p.stdout  # no id printed: nothing was recorded

    p = _aisre(
        home, "incident", "resolve", str(inc.id), "--kind", "deploy", "--service", "payments",
        "--force",
    )  # fmt: skip
    _refused(p)
    assert "2 write(s) wait there" in p.stderr, p.stderr
    assert "earlier write(s) are waiting there too" not in p.stderr

    assert sp.path.read_bytes() == before  # nothing added behind the damage
    if server == "up":
        assert _rows_changes(url) == []  # nor sent past it


def _rows_changes(url: str) -> list[str]:
    with MemoryStore(location=location_for(url)) as st:
        return [str(r[0]) for r in st.db.query("SELECT id FROM changes ORDER BY ts")]


def test_a_memory_write_is_not_spooled_behind_a_damaged_middle_line(tmp_path: Path) -> None:
    """A, without a server: `spool_op` (what every spooled memory write goes through)
    checked the last line only; the writer of a store that answers does not send past
    the damage either. Raw appends (the audit spool's) still read the last line only."""
    sp = Spool(tmp_path / "spool")
    for i in range(3):
        spool_op(sp, WriteOp("change.record", {"i": i}))
    lines = sp.path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"i":1', b'"i":7')
    sp.path.write_bytes(b"".join(lines))
    before = sp.path.read_bytes()
    with pytest.raises(SpoolDamaged) as err:
        spool_op(sp, WriteOp("change.record", {"i": 3}))
    assert err.value.exit_code == 6 and SET_ASIDE in (err.value.hint or "")
    assert "line 2" in err.value.message and "3 write(s) wait there" in err.value.message
    assert sp.path.read_bytes() == before

    applied: list[WriteOp] = []

    class Answers:  # a store whose server answers
        location = location_for(None, path=tmp_path / "unused.db")

        def apply(self, op: WriteOp) -> dict[str, Any]:
            applied.append(op)
            return {}

    write = spooling_writer(Answers(), sp)  # type: ignore[arg-type]
    with pytest.raises(SpoolDamaged, match="3 write\\(s\\) wait there"):
        write(WriteOp("change.record", {"i": 4}))
    assert applied == [] and sp.path.read_bytes() == before

    # once set aside, writes are kept again (seq continues after the renumbering)
    assert sp.set_aside_damaged().moved == 1
    assert spool_op(sp, WriteOp("change.record", {"i": 5}))["spooled"]
    assert [r.seq for r in sp.pending()] == [1, 2, 3]


def test_a_damaged_legacy_spool_holding_this_stores_writes_refuses_them_too() -> None:
    """A: a store's own spool waits for the legacy machine-wide spool's writes for it;
    damage there (not its last line) let new writes queue behind it."""
    key = "postgresql://db.internal:5432/aisre"
    legacy = legacy_memory_spool()
    for i in range(3):
        spool_op(legacy, WriteOp("change.record", {"i": i}), key)
    lines = legacy.path.read_bytes().splitlines(keepends=True)
    legacy.path.write_bytes(lines[0].replace(b'"i":0', b'"i":7') + b"".join(lines[1:]))
    own = memory_spool(key)
    with pytest.raises(SpoolDamaged, match="line 1"):
        spool_op(own, WriteOp("change.record", {"i": 3}), key)
    assert not own.path.exists() or own.path.read_bytes() == b""


def test_a_damaged_audit_spool_line_anywhere_refuses_the_action(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """A, the audit trail: its spool's appends checked only the last line, so with the
    first line damaged a third record was chained behind it (the action ran) though no
    replay could ever send it. Now the append is refused as the memory's writes are:
    exit 6, the set-aside in the hint, "nothing was run", the spool as it was."""
    from aisre_cli.govern.audit import AuditError
    from aisre_cli.govern.team import open_team_audit
    from aisre_cli.memory.spool import audit_spool
    from tests.test_team_faults import _profile

    cluster.stop_server("fast")
    log = open_team_audit(_profile(url))
    for i in range(2):
        log.append("intent", {"i": i})
    sp = audit_spool()
    lines = sp.path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2 and b'"i":0' in lines[0]
    sp.path.write_bytes(lines[0].replace(b'"i":0', b'"i":7') + lines[1])
    before = sp.path.read_bytes()
    with pytest.raises(AuditError) as err:
        log.append("intent", {"i": 2})
    assert int(err.value.exit_code) == 6
    assert "is damaged" in err.value.message
    assert (err.value.hint or "").startswith("nothing was run; run `" + SET_ASIDE)
    assert sp.path.read_bytes() == before


# ------------------------------------------------------------------ B: last confirmed


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryStore]:
    if request.param == "sqlite":
        st = MemoryStore(tmp_path / "memory.sqlite3")
    else:
        st = MemoryStore(location=location_for(request.getfixturevalue("url")))
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's "now", one minute later at each call: confirmation order without
    the wall clock."""
    ticks = iter(range(10_000))
    monkeypatch.setattr(storage, "_now", lambda: (T0 + timedelta(minutes=next(ticks))).isoformat())


def test_the_memory_evidence_cites_the_most_recently_confirmed_incident(
    store: MemoryStore, clock: None
) -> None:
    """B: "last confirmed cause" was the highest incident number's (#4, no note), not
    incident 1's, re-resolved last with what was learned."""
    incs = [store.record_report(report(alert(i, fid=f"fp000{i}")), SIG) for i in range(1, 5)]
    for inc in incs:
        store.resolve(str(inc.id), rank=1)
    first = incs[0]
    store.resolve(str(first.id), rank=1, note="LATEST: rollback to v2.41.9 fixed it", force=True)
    assert store.get(str(first.id)).resolved_at > store.get(str(incs[-1].id)).resolved_at  # type: ignore[operator]

    a = alert(9, fid="fp0009", start=T0 + timedelta(days=1))
    ctx = Context(alert=a, alerts=[a], window=Window(a.starts_at - timedelta(hours=1), a.starts_at))
    adv = Advisor(store)
    adv.observe(ctx, {k: list(v) for k, v in SIG.items()})
    _, evidence = adv.priors(ctx)
    mem = [e for e in evidence if e.kind == "memory" and e.subject != "noise"]
    assert len(mem) == 1, [e.summary for e in evidence]
    e = mem[0]
    assert e.summary.startswith("seen 4 times before (#1, #2, #3, #4"), e.summary
    assert "last confirmed cause: deploy on checkout (change c-1)" in e.summary
    assert e.summary.endswith('note: "LATEST: rollback to v2.41.9 fixed it"'), e.summary
    assert e.query == f"aisre incident show {first.id}" and e.ref == f"memory:{first.uid}"


# ------------------------------------------------------------------ C: the --force command


def test_a_replayed_conflicting_cause_suggests_a_force_command_with_its_note(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """C: bob's offline confirmation met alice's; the printed `--force` command left
    out bob's note (and a change id), so running it as printed lost them. Now both
    are in it, quoted for the shell, and running it as printed keeps them."""
    home = _aisre_home
    _config(home, url)
    with MemoryStore(location=location_for(url)) as st:
        inc = st.record_report(report(), SIG)
    cluster.stop_server("fast")
    bob = 'bob\'s offline: network; $(not run) "LB"'
    p = _aisre(
        home, "incident", "resolve", str(inc.id), "--kind", "network", "--service", "checkout",
        "--change", "net-7", "--note", bob,
    )  # fmt: skip
    assert p.returncode == 0 and "kept in the local spool" in p.stdout, p.stdout + p.stderr
    cluster.start_again()
    with MemoryStore(location=location_for(url)) as st:
        st.resolve(str(inc.id), kind="deploy", service="checkout", note="alice: deploy c-1")

    p = _aisre(home, "memory", "sync", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    notes = json.loads(p.stdout)["memory"]["notes"]
    said = next(n for n in notes if "to replace it: " in n)
    cmd = said.split("to replace it: ", 1)[1]
    args = shlex.split(cmd)
    assert args == [
        "aisre", "incident", "resolve", str(inc.id), "--kind", "network", "--service",
        "checkout", "--change", "net-7", "--note", bob, "--force",
    ], cmd  # fmt: skip
    with MemoryStore(location=location_for(url)) as st:
        assert st.get(str(inc.id)).note == "alice: deploy c-1"  # kept until forced

    p = _aisre(home, *args[1:])  # run as printed
    assert p.returncode == 0, p.stdout + p.stderr
    with MemoryStore(location=location_for(url)) as st:
        done = st.get(str(inc.id))
    assert done.cause_text() == "network on checkout (change net-7)" and done.note == bob
