"""The hash-chained audit log: append, verify, tampering at every position, torn tails."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from aisre_cli.govern.audit import GENESIS, AuditError, AuditLog, record_hash, verify
from tests.fakes.env import AISRE, make_env

N = 50


@pytest.fixture(scope="module")
def base_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("audit-base")
    log = AuditLog(d / "audit.jsonl")
    for i in range(N):
        log.append(
            "intent" if i % 2 else "result",
            {"step": f"s{i}", "i": i, "note": "ünïcode"},
            f"r-{i // 10}",
        )
    return log.path


def _copy(base: Path, tmp: Path) -> tuple[Path, list[bytes]]:
    p = tmp / "audit.jsonl"
    shutil.copy(base, p)
    shutil.copy(base.with_name(base.name + ".head"), tmp / "audit.jsonl.head")
    return p, p.read_bytes().splitlines(keepends=True)


def _write(p: Path, lines: list[bytes]) -> None:
    p.write_bytes(b"".join(lines))


def test_clean_log_verifies(base_log: Path) -> None:
    rep = verify(base_log)
    assert rep.ok and rep.records == N and rep.torn_tail is None
    recs = list(AuditLog(base_log).records())
    assert [r.seq for r in recs] == list(range(1, N + 1))
    assert recs[0].prev == GENESIS
    assert all(recs[i].prev == recs[i - 1].hash for i in range(1, N))
    assert AuditLog(base_log).head() == (N, recs[-1].hash)


def test_record_hash_covers_every_field(base_log: Path) -> None:
    rec = json.loads(base_log.read_bytes().splitlines()[3])
    h = record_hash(rec)
    for key in ("seq", "ts", "prev", "event", "run", "actor", "data", "v"):
        changed = dict(rec)
        changed[key] = "x"
        assert record_hash(changed) != h, key


FLIPS = [(k, random.Random(k).randrange(8)) for k in range(1, N + 1)]


@pytest.mark.parametrize(("k", "bit"), FLIPS, ids=[f"line{k}-bit{b}" for k, b in FLIPS])
def test_bit_flip_detected_at_its_line(base_log: Path, tmp_path: Path, k: int, bit: int) -> None:
    p, lines = _copy(base_log, tmp_path)
    line = bytearray(lines[k - 1])
    pos = random.Random(k * 7).randrange(len(line) - 1)  # never the newline itself
    line[pos] ^= 1 << bit
    lines[k - 1] = bytes(line)
    _write(p, lines)
    rep = verify(p)
    assert not rep.ok
    assert rep.problem is not None and rep.problem.line == k, rep.problem


@pytest.mark.parametrize("k", range(1, N + 1))
def test_delete_detected(base_log: Path, tmp_path: Path, k: int) -> None:
    p, lines = _copy(base_log, tmp_path)
    del lines[k - 1]
    _write(p, lines)
    rep = verify(p)
    assert rep.problem is not None and rep.problem.line == k, rep.problem


@pytest.mark.parametrize("k", range(1, N))
def test_swap_detected(base_log: Path, tmp_path: Path, k: int) -> None:
    p, lines = _copy(base_log, tmp_path)
    lines[k - 1], lines[k] = lines[k], lines[k - 1]
    _write(p, lines)
    rep = verify(p)
    assert rep.problem is not None and rep.problem.line == k, rep.problem


@pytest.mark.parametrize("k", range(1, N + 1))
def test_duplicate_detected(base_log: Path, tmp_path: Path, k: int) -> None:
    p, lines = _copy(base_log, tmp_path)
    lines.insert(k, lines[k - 1])
    _write(p, lines)
    rep = verify(p)
    assert rep.problem is not None and rep.problem.line == k + 1, rep.problem


INSERTS = [(k, src) for k in range(1, N + 2, 5) for src in (1, 25, N)]


@pytest.mark.parametrize(("k", "src"), INSERTS, ids=[f"at{k}-copy{s}" for k, s in INSERTS])
def test_insert_copy_detected(base_log: Path, tmp_path: Path, k: int, src: int) -> None:
    p, lines = _copy(base_log, tmp_path)
    lines.insert(k - 1, lines[src - 1])
    _write(p, lines)
    rep = verify(p)
    # a copy inserted right before its original is byte-identical to it: the first
    # record that cannot be right is then the original, one line later
    expected = k + 1 if src == k else k
    assert rep.problem is not None and rep.problem.line == expected, rep.problem


@pytest.mark.parametrize("k", [1, 10, 25, 49])
def test_insert_forged_record_detected(base_log: Path, tmp_path: Path, k: int) -> None:
    """A forged record that chains onto its predecessor still breaks its successor."""
    p, lines = _copy(base_log, tmp_path)
    prev = json.loads(lines[k - 2])["hash"] if k > 1 else GENESIS
    forged = {
        "v": 1,
        "seq": k,
        "ts": "2026-01-01T00:00:00Z",
        "prev": prev,
        "event": "intent",
        "run": "r-x",
        "actor": "mallory",
        "data": {},
    }
    forged["hash"] = record_hash(forged)
    lines.insert(k - 1, json.dumps(forged, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    _write(p, lines)
    rep = verify(p)
    assert rep.problem is not None and rep.problem.line == k + 1, rep.problem


REORDERS = [(a, b) for a in (1, 5, 20, 33) for b in (a + 2, a + 9, N) if b <= N]


@pytest.mark.parametrize(("a", "b"), REORDERS, ids=[f"{a}to{b}" for a, b in REORDERS])
def test_reorder_detected(base_log: Path, tmp_path: Path, a: int, b: int) -> None:
    p, lines = _copy(base_log, tmp_path)
    rec = lines.pop(a - 1)
    lines.insert(b - 1, rec)
    _write(p, lines)
    rep = verify(p)
    assert rep.problem is not None and rep.problem.line == a, rep.problem


def test_reverse_detected(base_log: Path, tmp_path: Path) -> None:
    p, lines = _copy(base_log, tmp_path)
    _write(p, lines[::-1])
    rep = verify(p)
    assert rep.problem is not None and rep.problem.line == 1


def test_truncated_tail_is_torn_not_tampered(base_log: Path, tmp_path: Path) -> None:
    p, lines = _copy(base_log, tmp_path)
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    _write(p, lines)
    # the head anchor still names record 50: the torn write is the head record being lost
    # mid-write only when the anchor lags; emulate the crash order (log first, anchor after)
    p.with_name("audit.jsonl.head").write_text(
        json.dumps({"seq": N - 1, "hash": json.loads(lines[-2])["hash"]})
    )
    rep = verify(p)
    assert rep.ok, rep.problem
    assert rep.torn_tail is not None and rep.torn_tail.line == N
    assert rep.records == N - 1
    # the next append sets the torn bytes aside, records that, and the chain is whole
    log = AuditLog(p)
    rec = log.append("resume", {}, "r-1")
    assert rec.seq == N + 1
    rep = verify(p)
    assert rep.ok and rep.torn_tail is None and rep.records == N + 1
    recovered = list(log.records())[N - 1]
    assert recovered.event == "torn_tail_recovered"
    assert (tmp_path / recovered.data["sidecar"]).read_bytes() == lines[-1]


def test_damaged_newline_is_not_mistaken_for_a_torn_tail(base_log: Path, tmp_path: Path) -> None:
    p, lines = _copy(base_log, tmp_path)
    lines[-1] = lines[-1][:-1] + b"\x0b"
    _write(p, lines)
    rep = verify(p)
    assert rep.problem is not None and rep.problem.line == N


def test_append_refuses_after_a_damaged_last_record(base_log: Path, tmp_path: Path) -> None:
    p, lines = _copy(base_log, tmp_path)
    lines[-1] = b"{garbage\n"
    _write(p, lines)
    with pytest.raises(AuditError):
        AuditLog(p).append("intent", {}, "r")


def test_unwritable_log_raises(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    p.mkdir()  # a directory where the log should be
    with pytest.raises(AuditError):
        AuditLog(p).append("intent", {}, "r")


def test_concurrent_appends_keep_the_chain(tmp_path: Path) -> None:
    import multiprocessing as mp

    p = tmp_path / "audit.jsonl"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_appender, args=(str(p), i)) for i in range(4)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(20)
        assert pr.exitcode == 0
    rep = verify(p)
    assert rep.ok and rep.records == 40


def _appender(path: str, i: int) -> None:
    log = AuditLog(Path(path))
    for j in range(10):
        log.append("x", {"p": i, "j": j}, None)


def test_cli_verify_and_show(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = make_env(home)
    log = AuditLog(home / "data" / "audit.jsonl")
    for i in range(5):
        log.append("intent", {"step": f"s{i}"}, "r-20260101T000000Z-aaaaaa")
    cp = subprocess.run(
        [*AISRE, "audit", "verify", "--json"], env=env, capture_output=True, timeout=30
    )
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout)["ok"] is True
    cp = subprocess.run(
        [*AISRE, "audit", "show", "--run", "r-20260101T000000Z-aaaaaa", "--json"],
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert [r["seq"] for r in json.loads(cp.stdout)["records"]] == [1, 2, 3, 4, 5]
    lines = log.path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"s2", b"s9")
    log.path.write_bytes(b"".join(lines))
    cp = subprocess.run(
        [*AISRE, "audit", "verify", "--json"], env=env, capture_output=True, timeout=30
    )
    assert cp.returncode == 6
    out = json.loads(cp.stdout)
    assert out["ok"] is False and out["first_bad"]["line"] == 3
