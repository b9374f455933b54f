"""One spool per team store: a store that is down delays no other store's writes.

Two real PostgreSQL clusters (store X, which the tests stop, and store Y), two team
profiles on one machine:

* X down: its writes spool; Y's go straight through and Y's spool drains, X's records
  waiting in X's own spool do not hold it; X comes back and drains; nothing lost or
  duplicated, `aisre audit verify` passes against each;
* a legacy machine-wide spool (the layout before one spool per store) holding records
  for both stores, and one without a store: replayed, in order, to the store each
  names (the unnamed one to the store that reaches it), exactly once even with a
  `kill -9` of the replay after a commit;
* `aisre memory status` and `aisre doctor` show the depth per store, and the legacy
  spool while it holds records (`--json` too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aisre_cli.govern.audit_pg import PgAuditLog
from aisre_cli.govern.team import open_team_audit
from aisre_cli.memory.backend import location_for
from aisre_cli.memory.spool import (
    audit_spool,
    known_stores,
    legacy_audit_spool,
    legacy_memory_spool,
    memory_spool,
    spool_op,
    store_key,
    store_spool_dir,
)
from aisre_cli.memory.storage import MemoryStore, WriteOp
from aisre_cli.settings.config import Profile, Sources
from tests.conftest import DEMO, require_postgres
from tests.pg_fixtures import cluster  # noqa: F401 - the fixture (store Y)

if TYPE_CHECKING:
    from tests.pg import PgCluster

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster_x() -> Iterator[PgCluster]:
    """Store X's own cluster: stopping it leaves store Y up."""
    from tests.pg import PgCluster

    require_postgres()
    c = PgCluster.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def stores(
    cluster: PgCluster,  # noqa: F811
    cluster_x: PgCluster,
    monkeypatch: pytest.MonkeyPatch,
    _aisre_home: Path,
) -> Iterator[tuple[str, str]]:
    """(url of X, url of Y), each a fresh migrated database; profiles x and y."""
    for c in (cluster, cluster_x):
        if not c.is_running():
            c.start_again()
    monkeypatch.setenv("AISRE_MEMX_TOKEN", cluster_x.app_password)
    monkeypatch.setenv("AISRE_MEMY_TOKEN", cluster.app_password)
    ux, uy = cluster_x.create_database(), cluster.create_database()
    MemoryStore(location=location_for(ux, "memx")).close()
    MemoryStore(location=location_for(uy, "memy")).close()
    cfg = _aisre_home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    body = "version: 1\ndefault_profile: y\nprofiles:\n"
    for name, u in (("x", ux), ("y", uy)):
        body += (
            f"  {name}:\n    environment: demo\n"
            f"    sources:\n      bundle: {json.dumps(str(DEMO))}\n"
            f"    memory_url: {json.dumps(u)}\n    memory_password_name: mem{name}\n"
        )
    cfg.write_text(body)
    yield ux, uy
    for c in (cluster, cluster_x):
        if not c.is_running():
            c.start_again()


def _profile(url: str, name: str) -> Profile:
    return Profile(
        environment="demo",
        memory_url=url,
        memory_password_name=name,
        sources=Sources(bundle=str(DEMO)),
    )


def _key(url: str) -> str:
    key = store_key(location_for(url))
    assert key is not None
    return key


def _aisre(home: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args],
        cwd=REPO,
        env={**os.environ, "AISRE_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _rows(url: str, name: str, sql: str) -> list[Any]:
    with MemoryStore(location=location_for(url, name)) as st:
        return list(st.db.query(sql))


def _change_ids(url: str, name: str) -> list[str]:
    return sorted(str(r[0]) for r in _rows(url, name, "SELECT id FROM changes"))


def _verify(home: Path, profile: str) -> None:
    v = _aisre(home, "audit", "verify", "--profile", profile)
    if v.returncode == 2 and "No such option" in v.stderr:  # a root-only --profile
        v = _aisre(home, "--profile", profile, "audit", "verify")
    assert v.returncode == 0, v.stdout + v.stderr
    assert "chain intact" in v.stdout, v.stdout


def _record(home: Path, profile: str, cid: str) -> Any:
    return _aisre(home, "change", "record", "--profile", profile, "-s", "checkout", "--id", cid)


def test_a_store_that_is_down_does_not_hold_another(
    cluster: PgCluster,  # noqa: F811
    cluster_x: PgCluster,
    stores: tuple[str, str],
    _aisre_home: Path,
) -> None:
    ux, uy = stores
    kx, ky = _key(ux), _key(uy)
    assert kx != ky
    px, py = _profile(ux, "memx"), _profile(uy, "memy")

    # both down: X's write first, then Y's (in one shared spool, Y's would wait for X)
    cluster_x.stop_server("fast")
    cluster.stop_server("fast")
    assert _record(_aisre_home, "x", "x-1").returncode == 0
    log = open_team_audit(px)
    xa = log.append("intent", {"store": "x", "i": 1}, run="r-x")
    assert log.last_spooled
    log.close()
    assert _record(_aisre_home, "y", "y-1").returncode == 0
    log = open_team_audit(py)
    log.append("intent", {"store": "y", "i": 1}, run="r-y")
    assert log.last_spooled
    log.close()
    assert memory_spool(kx).status().depth == 1 and memory_spool(ky).status().depth == 1
    assert audit_spool(kx).status().depth == 1 and audit_spool(ky).status().depth == 1
    assert set(known_stores()) == {kx, ky}
    for k in (kx, ky):
        d = store_spool_dir(k)
        assert (d / "store").read_text().strip() == k and (d / "memory" / "spool.jsonl").exists()
    assert not legacy_memory_spool().path.exists() and not legacy_audit_spool().path.exists()

    # Y is back, X is not: Y's spool drains, Y's new writes go straight through
    cluster.start_again()
    p = _aisre(_aisre_home, "memory", "sync", "--profile", "y", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["memory"]["replayed"] == 1 and out["audit"]["replayed"] == 1
    assert out["remaining"] == 0
    p = _record(_aisre_home, "y", "y-2")
    assert p.returncode == 0 and "local spool" not in p.stderr, p.stderr
    log = open_team_audit(py)
    log.append("intent", {"store": "y", "i": 2}, run="r-y")
    assert not log.last_spooled  # straight to the team chain
    log.close()
    assert _change_ids(uy, "memy") == ["y-1", "y-2"]
    assert memory_spool(ky).status().depth == 0 and audit_spool(ky).status().depth == 0
    assert memory_spool(kx).status().depth == 1 and audit_spool(kx).status().depth == 1
    _verify(_aisre_home, "y")

    # status and doctor: the depth per store
    st = _aisre(_aisre_home, "memory", "status", "--profile", "y", "--json")
    assert st.returncode == 0, st.stdout + st.stderr
    sp = json.loads(st.stdout)["spool"]
    per = {e["store"]: e for e in sp["stores"]}
    assert per[kx]["depth"] == 2 and per[ky]["depth"] == 0 and sp["depth"] == 2
    assert per[kx]["memory"]["by_kind"] == {"change.record": 1}
    assert sp["legacy"] is None
    text = _aisre(_aisre_home, "memory", "status", "--profile", "y")
    assert f"store {kx}: 2 waiting" in text.stdout and f"store {ky}: 0 waiting" in text.stdout
    doc = _aisre(_aisre_home, "doctor", "--profile", "y", "--json")
    spd = json.loads(doc.stdout)["spool"]
    assert {e["store"]: e["depth"] for e in spd["stores"]} == {kx: 2, ky: 0}, doc.stdout
    doc = _aisre(_aisre_home, "doctor", "--profile", "y")
    assert f"store {kx}: 2 waiting" in doc.stdout, doc.stdout

    # X's sync while X is down: exit 3, nothing lost
    p = _aisre(_aisre_home, "memory", "sync", "--profile", "x")
    assert p.returncode == 3, p.stdout + p.stderr
    assert memory_spool(kx).status().depth == 1

    # X is back: it drains; nothing lost or duplicated anywhere
    cluster_x.start_again()
    p = _aisre(_aisre_home, "memory", "sync", "--profile", "x", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout)["remaining"] == 0
    assert _change_ids(ux, "memx") == ["x-1"]
    assert _change_ids(uy, "memy") == ["y-1", "y-2"]
    assert memory_spool(kx).status().depth == 0 and audit_spool(kx).status().depth == 0
    rx = PgAuditLog(ux, key=None, password_name="memx").verify(expect_head=xa.hash)
    assert rx.ok and rx.records == 1
    ry = PgAuditLog(uy, key=None, password_name="memy").verify()
    assert ry.ok and ry.records == 2
    _verify(_aisre_home, "x")
    _verify(_aisre_home, "y")


def _change_op(cid: str, i: int) -> WriteOp:
    """A change write as the old append path spooled it (`record_change`'s op)."""
    ts = (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=i)).isoformat()
    data = {
        "id": cid,
        "ts": ts,
        "service": "checkout",
        "kind": "deploy",
        "summary": f"deploy {cid}",
        "version": f"v{i}",
        "previous_version": None,
        "author": None,
        "url": None,
        "at": ts,
    }
    return WriteOp("change.record", data)


def test_a_legacy_shared_spool_is_replayed_to_the_store_each_record_names(
    cluster: PgCluster,  # noqa: F811
    cluster_x: PgCluster,
    stores: tuple[str, str],
    _aisre_home: Path,
) -> None:
    ux, uy = stores
    kx, ky = _key(ux), _key(uy)
    px, py = _profile(ux, "memx"), _profile(uy, "memy")
    # the old layout: one machine-wide spool, written by the old append path
    legacy = legacy_memory_spool()
    order = [("lx-1", kx), ("ly-1", ky), ("lx-2", kx), ("lu-1", None)]
    for i, (cid, k) in enumerate(order):
        spool_op(legacy, _change_op(cid, i), k)
    assert legacy.status().depth == 4
    cluster_x.stop_server("fast")
    cluster.stop_server("fast")
    for prof in (px, py, px):  # one local chain across both stores, as before
        log = PgAuditLog(
            str(prof.memory_url),
            spool=legacy_audit_spool(),
            password_name=prof.memory_password_name,
        )
        log.append("intent", {"legacy": True}, run="r-l")
        assert log.last_spooled
        log.close()
    assert legacy_audit_spool().status().depth == 3
    cluster_x.start_again()
    cluster.start_again()

    st = _aisre(_aisre_home, "memory", "status", "--json")
    sp = json.loads(st.stdout)["spool"]
    assert sp["legacy"] is not None and sp["legacy"]["depth"] == 7 and sp["depth"] == 7
    text = _aisre(_aisre_home, "memory", "status")
    assert "legacy spool (before one per store): 7 waiting" in text.stdout, text.stdout
    doc = _aisre(_aisre_home, "doctor", "--json")
    assert json.loads(doc.stdout)["spool"]["legacy"]["depth"] == 7

    # X's replay killed -9 after its first commit, before the cursor moved
    k = _aisre(
        _aisre_home,
        "memory",
        "sync",
        "--profile",
        "x",
        env={"AISRE_CRASHPOINT": "spool-replay:after-commit"},
    )
    assert k.returncode == -9, k.stdout + k.stderr
    # the records are sent in the legacy order: each profile takes its own in turn
    for _ in range(8):
        for name in ("x", "y"):
            _aisre(_aisre_home, "memory", "sync", "--profile", name)
        if not legacy.has_pending() and not legacy_audit_spool().has_pending():
            break
    assert legacy.status().depth == 0 and legacy_audit_spool().status().depth == 0
    assert _change_ids(ux, "memx") == ["lu-1", "lx-1", "lx-2"]  # exactly once each
    assert _change_ids(uy, "memy") == ["ly-1"]
    rx = PgAuditLog(ux, key=None, password_name="memx").verify()
    ry = PgAuditLog(uy, key=None, password_name="memy").verify()
    assert rx.ok and rx.records == 2 and ry.ok and ry.records == 1
    _verify(_aisre_home, "x")
    _verify(_aisre_home, "y")
    st = _aisre(_aisre_home, "memory", "status", "--json")
    assert json.loads(st.stdout)["spool"]["legacy"] is None  # shown only while non-empty


def test_a_store_waits_for_its_own_legacy_records_not_for_another_stores(
    cluster: PgCluster,  # noqa: F811
    cluster_x: PgCluster,
    stores: tuple[str, str],
    _aisre_home: Path,
) -> None:
    """Order across the upgrade: Y's new writes go after Y's legacy records; records
    the legacy spool holds only for X do not hold Y."""
    ux, uy = stores
    kx, ky = _key(ux), _key(uy)
    legacy = legacy_memory_spool()
    spool_op(legacy, _change_op("ly-1", 0), ky)
    spool_op(legacy, _change_op("lx-1", 1), kx)
    cluster_x.stop_server("fast")
    assert memory_spool(ky).has_pending()  # its legacy record comes first
    p = _record(_aisre_home, "y", "y-new")
    assert p.returncode == 0, p.stderr
    assert _change_ids(uy, "memy") == ["ly-1", "y-new"]
    assert memory_spool(ky).status().depth == 0 and not memory_spool(ky).has_pending()
    assert [r.id for r in legacy.pending()] and legacy.status().depth == 1  # X's
    cluster_x.start_again()
    assert _aisre(_aisre_home, "memory", "sync", "--profile", "x").returncode == 0
    assert _change_ids(ux, "memx") == ["lx-1"] and legacy.status().depth == 0
