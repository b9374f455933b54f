"""`aisre change record --id ID` (a re-run pipeline step records nothing twice) and
`--spool/--no-spool` (a change recorded by a throwaway CI runner must not vanish in
that runner's local spool): on the local change file, and on a real PostgreSQL team
store (tests/pg.py) that the tests stop and restart, or a closed loopback port.

Every CLI run below sets or removes `CI` itself: the suite runs under CI=true, and the
default of `--spool` depends on it. No wall-clock assertions; generous timeouts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aisre_cli.memory.backend import location_for
from aisre_cli.memory.spool import Spool
from aisre_cli.memory.storage import MemoryStore
from aisre_cli.settings import paths
from aisre_cli.sources.changefile import CHANGE_ID_MAX, ChangeFile
from tests.conftest import DEMO
from tests.contract_servers.cli import Result, run_cli

if TYPE_CHECKING:
    from tests.pg import PgCluster

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 600
NOT_RECORDED = "the change was NOT recorded"
ON_THIS_MACHINE = "on this machine only until `aisre memory sync`"
DOWN = {"AISRE_MEMORY_TOKEN": "x"}
"""A password for the closed port's store (never asked: nobody answers)."""


def aisre(
    home: Path, *args: str, ci: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aisre args` in a subprocess with AISRE_HOME `home`; `CI` is `ci`, or unset."""
    full = {k: v for k, v in os.environ.items() if k != "CI"}
    full.update({"AISRE_HOME": str(home), "AISRE_RAISE_ERRORS": "0", **(env or {})})
    if ci is not None:
        full["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def checkout(
    home: Path, *args: str, ci: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aisre change record -s checkout args` in a subprocess (see `aisre`)."""
    return aisre(home, "change", "record", "-s", "checkout", *args, ci=ci, env=env)


def record(*args: str) -> Result:
    return run_cli(["change", "record", *args])


def one_error_line(err: str, *words: str) -> None:
    """One `error:` line (and its hint), no traceback."""
    lines = err.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, err
    assert all(ln.startswith(("error: ", "hint: ")) for ln in lines[lines.index(errors[0]) :]), err
    assert "Traceback" not in err and "internal error" not in err
    for w in words:
        assert w in errors[0], err


def file_rows() -> list[dict[str, Any]]:
    p = paths.changes_file()
    return [json.loads(ln) for ln in p.read_bytes().splitlines()] if p.exists() else []


def configure(home: Path, memory_url: str) -> None:
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        "version: 1\ndefault_profile: team\nprofiles:\n  team:\n    environment: demo\n"
        f"    sources:\n      bundle: {json.dumps(str(DEMO))}\n"
        f"    memory_url: {json.dumps(memory_url)}\n"
    )


def spool_of(home: Path) -> Spool:
    """The memory spool of the one team store these tests use (a spool per store: its
    directory is `spool/<hash>-<slug>/`), or the machine-wide one when none was made."""
    root = home / "data" / "spool"
    stores = sorted(root.glob("*-*/memory"))
    assert len(stores) <= 1, stores
    return Spool(stores[0] if stores else root / "memory")


def rows(url: str, sql: str) -> list[Any]:
    with MemoryStore(location=location_for(url)) as st:
        return list(st.db.query(sql))


def closed_port_url() -> str:
    """A team store nobody listens on (connection refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return f"postgresql://aisre@127.0.0.1:{port}/aisre"


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


# ---------------------------------------------------------------- the local change file


@pytest.mark.usefixtures("no_ci")
def test_an_id_recorded_again_on_the_change_file_records_nothing() -> None:
    r = record("-s", "checkout", "--version", "v1", "--id", "deploy-42")
    assert r.code == 0, r.err
    assert r.out.strip() == "deploy-42"
    assert "recorded deploy of checkout" in r.err
    again = record("-s", "checkout", "--version", "v1", "--id", "deploy-42", "-m", "retry")
    assert again.code == 0, again.err
    assert again.out.strip() == "deploy-42"
    assert "change deploy-42 already recorded" in again.err
    assert "nothing new recorded" in again.err
    js = record("-s", "checkout", "--version", "v1", "--id", "deploy-42", "--json")
    assert js.code == 0, js.err
    out = json.loads(js.out)
    assert out["id"] == "deploy-42" and out["already_recorded"] is True
    assert out["summary"] == "deploy checkout v1"  # the first record stands
    assert "already recorded" in js.err
    assert [r["id"] for r in file_rows()] == ["deploy-42"]
    assert [c.id for c in ChangeFile(paths.changes_file()).read_all()] == ["deploy-42"]


@pytest.mark.usefixtures("no_ci")
def test_json_shows_the_given_id_and_without_id_each_record_is_new() -> None:
    r = record("-s", "checkout", "--version", "v1", "--id", "gl-pipeline/1234#deploy", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["id"] == "gl-pipeline/1234#deploy"
    assert out["already_recorded"] is False and out["spooled"] is False
    for _ in range(2):  # no --id: a generated id each time, as before
        assert record("-s", "checkout", "--version", "v1").code == 0
    ids = [r["id"] for r in file_rows()]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert all(i.startswith("chg-") for i in ids[1:])


@pytest.mark.usefixtures("no_ci")
def test_the_same_id_with_other_values_is_a_conflict_on_the_change_file() -> None:
    at = "2026-03-11T13:30:00Z"
    base = ["-s", "checkout", "--version", "v1", "--at", at, "--id", "run-7"]
    assert record(*base).code == 0
    for args, said in (
        (["-s", "checkout", "--version", "v2", "--at", at], "--version 'v1'"),
        (["-s", "payments", "--version", "v1", "--at", at], "--service 'checkout'"),
        (["-s", "checkout", "--version", "v1", "--at", "2026-03-11T13:31:00Z"], "--at"),
        (["-s", "checkout", "--at", at], "--version 'v1'"),
    ):
        r = record(*args, "--id", "run-7")
        assert r.code == 2, (args, r.err)
        assert r.out == ""
        one_error_line(r.err, "run-7", "already recorded", said)
    # the same instant in another zone, or no --at (a re-run is "now"): the same change
    for at_again in ("2026-03-11T14:30:00+01:00", None):
        args = ["-s", "checkout", "--version", "v1", "--id", "run-7"]
        r = record(*args, *(["--at", at_again] if at_again else []))
        assert r.code == 0 and "already recorded" in r.err, r.err
    assert len(file_rows()) == 1 and file_rows()[0]["version"] == "v1"


@pytest.mark.parametrize(
    ("change_id", "said"),
    [
        ("", "must not be empty"),
        ("deploy 42", "white space"),
        (" deploy-42", "white space"),
        ("deploy-42\n", "control character"),
        ("a\tb", "control character"),
        ("x\x1b[31m", "control character"),
        ("a\u202eb", "control character"),
        ("a\u00a0b", "white space"),
        ("caf\udce9", "not valid UTF-8"),
        ("x" * (CHANGE_ID_MAX + 1), "above the limit"),
    ],
)
@pytest.mark.usefixtures("no_ci")
def test_a_bad_id_is_a_one_line_usage_error(change_id: str, said: str) -> None:
    r = record("-s", "checkout", "--version", "v1", "--id", change_id)
    assert r.code == 2, r.err
    assert r.out == ""
    one_error_line(r.err, "--id", said)
    assert "\x1b" not in r.err and "\n" not in r.err.strip().splitlines()[0]
    assert not paths.changes_file().exists()


@pytest.mark.usefixtures("no_ci")
def test_an_id_at_the_length_limit_is_taken() -> None:
    r = record("-s", "checkout", "--id", "x" * CHANGE_ID_MAX)
    assert r.code == 0, r.err
    assert file_rows()[0]["id"] == "x" * CHANGE_ID_MAX


def test_concurrent_records_of_one_id_write_one_line(_aisre_home: Path) -> None:
    """Parallel retries of one step (a pipeline that re-ran before the first finished):
    the check and the append are one step under the file's lock."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update({"AISRE_HOME": str(_aisre_home), "AISRE_RAISE_ERRORS": "0"})
    argv = [sys.executable, "-m", "aisre_cli", "change", "record", "-s", "checkout"]
    procs = [
        subprocess.Popen(
            [*argv, "--version", "v1", "--id", "deploy-9"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    said = []
    for p in procs:
        out, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, err
        assert out.strip() == "deploy-9"
        said.append("already recorded" in err)
    assert said.count(False) == 1  # one recorded it, five were told it was there
    assert [r["id"] for r in file_rows()] == ["deploy-9"]


# ---------------------------------------------------------------- a real team store


def test_an_id_recorded_again_on_the_team_store_records_nothing(
    url: str, _aisre_home: Path
) -> None:
    configure(_aisre_home, url)
    for ci in (None, "true"):  # with and without the spool: the same answer
        p = checkout(_aisre_home, "--version", "v1", "--id", "deploy-42", ci=ci)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "deploy-42"
    assert "change deploy-42 already recorded in postgresql://" in p.stderr, p.stderr
    js = checkout(_aisre_home, "--version", "v1", "--id", "deploy-42", "--json")
    assert js.returncode == 0, js.stderr
    out = json.loads(js.stdout)
    assert out["id"] == "deploy-42" and out["already_recorded"] is True
    assert out["spooled"] is False
    assert rows(url, "SELECT id, version FROM changes") == [("deploy-42", "v1")]
    assert spool_of(_aisre_home).status().depth == 0

    bad = checkout(_aisre_home, "--version", "v2", "--id", "deploy-42")
    assert bad.returncode == 2, bad.stderr
    assert bad.stdout == ""
    one_error_line(bad.stderr, "deploy-42", "already recorded", "--version 'v1'")
    assert rows(url, "SELECT id, version FROM changes") == [("deploy-42", "v1")]

    plain = checkout(_aisre_home, "--version", "v2")
    assert plain.returncode == 0, plain.stderr  # no --id: a generated one, as before
    assert plain.stdout.startswith("chg-")
    assert len(rows(url, "SELECT id FROM changes")) == 2


def test_a_spooled_id_is_recorded_once_when_the_spool_is_replayed(
    cluster: PgCluster, url: str, _aisre_home: Path, tmp_path: Path
) -> None:
    """Offline, on a workstation: the change waits in the spool, a re-run adds nothing to
    it, a different change under the id is refused; the replay stores it once, and a
    replay that meets the id recorded meanwhile (by another machine) adds no row."""
    laptop, runner = _aisre_home, tmp_path / "runner"
    runner.mkdir()
    for home in (laptop, runner):
        configure(home, url)
    cluster.stop_server("fast")
    args = ("change", "record", "-s", "checkout", "--version", "v1")
    first = aisre(laptop, *args, "--id", "deploy-1")
    assert first.returncode == 0, first.stderr
    assert "in the local spool, for postgresql://" in first.stderr
    assert ON_THIS_MACHINE in first.stderr
    again = aisre(laptop, *args, "--id", "deploy-1", "--json")
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["already_recorded"] is True and out["spooled"] is True
    assert "change deploy-1 already recorded in the local spool" in again.stderr
    bad = checkout(laptop, "--version", "v9", "--id", "deploy-1")
    assert bad.returncode == 2, bad.stderr
    one_error_line(bad.stderr, "deploy-1", "--version 'v1'")
    assert aisre(laptop, *args, "--id", "deploy-2").returncode == 0
    assert aisre(laptop, *args, "--id", "deploy-3").returncode == 0
    assert checkout(laptop, "--version", "v7", "--id", "deploy-4").returncode == 0
    assert spool_of(laptop).status().depth == 4

    cluster.start_again()
    # meanwhile another machine recorded deploy-2 (the same) and deploy-4 (another change)
    for v, cid in (("v1", "deploy-2"), ("v8", "deploy-4")):
        p = checkout(runner, "--version", v, "--id", cid)
        assert p.returncode == 0 and "recorded deploy" in p.stderr, p.stderr
    sync = aisre(laptop, "memory", "sync")
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert "sent 4 memory write(s)" in sync.stdout, sync.stdout
    said = sync.stdout + sync.stderr
    assert "change deploy-4 of checkout was not recorded" in said, said
    assert "--version 'v8'" in said
    assert "deploy-2" not in said  # the same change: nothing to say
    got = sorted(rows(url, "SELECT id, version FROM changes"))
    assert got == [("deploy-1", "v1"), ("deploy-2", "v1"), ("deploy-3", "v1"), ("deploy-4", "v8")]
    assert spool_of(laptop).status().depth == 0

    rerun = aisre(laptop, *args, "--id", "deploy-1")  # the pipeline step once more
    assert rerun.returncode == 0 and "already recorded in postgresql://" in rerun.stderr
    assert len(rows(url, "SELECT id FROM changes")) == 4


def test_a_replayed_spool_skips_an_id_the_next_command_finds_sent(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """The next `change record` replays the spool first (as every team command does),
    then finds the id there: one row."""
    configure(_aisre_home, url)
    cluster.stop_server("fast")
    args = ("change", "record", "-s", "checkout", "--version", "v1", "--id", "deploy-5")
    assert aisre(_aisre_home, *args).returncode == 0
    cluster.start_again()
    p = aisre(_aisre_home, *args)
    assert p.returncode == 0, p.stderr
    assert "sent 1 write(s) kept in the local spool" in p.stderr
    assert "change deploy-5 already recorded in postgresql://" in p.stderr
    assert rows(url, "SELECT id FROM changes") == [("deploy-5",)]
    assert spool_of(_aisre_home).status().depth == 0


# ---------------------------------------------------------------- --spool / --no-spool


@pytest.mark.parametrize("ci", ["true", "1", "yes", "TRUE", "Yes"])
def test_under_ci_an_unreachable_team_store_fails_and_spools_nothing(
    _aisre_home: Path, ci: str
) -> None:
    configure(_aisre_home, closed_port_url())
    p = checkout(_aisre_home, "--version", "v1", "--id", "deploy-1", ci=ci, env=DOWN)
    assert p.returncode == 3, (p.returncode, p.stderr)  # ExitCode.SOURCE
    assert p.stdout == ""
    one_error_line(p.stderr, "team store is unreachable", NOT_RECORDED, "--spool")
    assert "kept in the local spool" not in p.stderr  # the offline note would be a lie
    sp = spool_of(_aisre_home)
    assert not sp.path.exists() or sp.status().depth == 0
    assert not paths.changes_file().exists()


def test_no_spool_on_a_workstation_fails_too(_aisre_home: Path) -> None:
    configure(_aisre_home, closed_port_url())
    p = checkout(_aisre_home, "--no-spool", "--json", env=DOWN)
    assert p.returncode == 3, p.stderr
    assert p.stdout == ""
    one_error_line(p.stderr, NOT_RECORDED)
    assert spool_of(_aisre_home).status().depth == 0


def test_spool_under_ci_keeps_the_change_and_says_where(_aisre_home: Path) -> None:
    configure(_aisre_home, closed_port_url())
    p = checkout(_aisre_home, "--version", "v1", "--id", "deploy-1", "--spool", ci="true", env=DOWN)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "deploy-1"
    assert "in the local spool, for postgresql://" in p.stderr
    assert ON_THIS_MACHINE in p.stderr
    st = spool_of(_aisre_home).status()
    assert st.depth == 1 and st.by_kind == {"change.record": 1}
    js = checkout(_aisre_home, "--version", "v2", "--spool", "--json", ci="true", env=DOWN)
    assert js.returncode == 0, js.stderr
    assert json.loads(js.stdout)["spooled"] is True
    assert ON_THIS_MACHINE in js.stderr  # said even with --json: it is a warning


@pytest.mark.parametrize("ci", [None, "", "false", "0", "no"])
def test_a_workstation_spools_by_default(_aisre_home: Path, ci: str | None) -> None:
    configure(_aisre_home, closed_port_url())
    p = checkout(_aisre_home, "--version", "v1", ci=ci, env=DOWN)
    assert p.returncode == 0, p.stderr
    assert "in the local spool, for postgresql://" in p.stderr
    assert ON_THIS_MACHINE in p.stderr
    assert spool_of(_aisre_home).status().depth == 1


def test_under_ci_a_live_team_store_is_written_and_nothing_spooled(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    configure(_aisre_home, url)
    p = checkout(_aisre_home, "--version", "v3", "--id", "deploy-3", ci="true")
    assert p.returncode == 0, p.stderr
    assert "recorded deploy of checkout in postgresql://" in p.stderr
    assert rows(url, "SELECT id, version FROM changes") == [("deploy-3", "v3")]
    assert not spool_of(_aisre_home).path.exists()

    cluster.stop_server("fast")  # the real server, stopped: the same refusal
    down = checkout(_aisre_home, "--version", "v4", ci="true")
    assert down.returncode == 3, down.stderr
    one_error_line(down.stderr, "team store is unreachable", NOT_RECORDED)
    assert spool_of(_aisre_home).status().depth == 0
    cluster.start_again()
    assert rows(url, "SELECT id FROM changes") == [("deploy-3",)]


def test_under_ci_a_busy_team_store_fails_and_the_retry_records_once(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """A teammate's client holds the store's write lock (a laptop suspended in a
    transaction): under CI the write is refused after the lock wait, not spooled; the
    retried step records the change once."""
    import psycopg

    from aisre_cli.memory.backend import PG_WRITE_LOCK

    configure(_aisre_home, url)
    with psycopg.connect(cluster.dsn(url.rsplit("/", 1)[1])) as holder:
        holder.execute(f"SELECT pg_advisory_lock({int(PG_WRITE_LOCK)})")
        p = checkout(_aisre_home, "--version", "v1", "--id", "deploy-7", ci="true")
        assert p.returncode == 3, p.stderr
        one_error_line(p.stderr, "team store is busy", NOT_RECORDED, "--spool")
        assert spool_of(_aisre_home).status().depth == 0
    for _ in range(2):
        p = checkout(_aisre_home, "--version", "v1", "--id", "deploy-7", ci="true")
        assert p.returncode == 0, p.stderr
    assert "already recorded" in p.stderr
    assert rows(url, "SELECT id FROM changes") == [("deploy-7",)]
    assert not spool_of(_aisre_home).path.exists()
