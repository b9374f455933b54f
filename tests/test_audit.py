"""The hash-chained audit log: append, verify, tampering at every position, torn tails."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from aisre_cli.errors import UsageError
from aisre_cli.govern.audit import (
    GENESIS,
    AuditError,
    AuditLog,
    record_hash,
    record_mac,
    verify,
)
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


# ------------------------------------------------------------------ issue 11, finding 8


def _rechain(lines: list[bytes], key: bytes | None = None) -> list[bytes]:
    """What an attacker with write access does: recompute every hash (and mac, if they
    had the key) so the chain is internally consistent again."""
    out: list[bytes] = []
    prev = GENESIS
    for raw in lines:
        rec = json.loads(raw)
        rec.pop("mac", None)
        rec["prev"] = prev
        rec["hash"] = record_hash(rec)
        if key is not None:
            rec["mac"] = record_mac(key, rec["hash"])
        prev = rec["hash"]
        out.append(json.dumps(rec, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    return out


def _write_head(p: Path, lines: list[bytes]) -> None:
    last = json.loads(lines[-1])
    p.with_name(p.name + ".head").write_text(json.dumps({"seq": last["seq"], "hash": last["hash"]}))


def test_truncated_log_without_its_head_anchor_fails(base_log: Path, tmp_path: Path) -> None:
    p, lines = _copy(base_log, tmp_path)
    _write(p, lines[:-5])
    (tmp_path / "audit.jsonl.head").unlink()
    rep = verify(p)
    assert not rep.ok and rep.unanchored and rep.problem is None
    assert rep.to_dict()["anchor_missing"] is True


def test_emptied_log_without_its_head_anchor_fails(base_log: Path, tmp_path: Path) -> None:
    p, _ = _copy(base_log, tmp_path)
    p.write_bytes(b"")
    (tmp_path / "audit.jsonl.head").unlink()
    rep = verify(p)
    assert not rep.ok and rep.unanchored


@pytest.mark.parametrize("anchor", ["MISSING", "UNREADABLE"])
def test_cli_verify_warns_loudly_when_the_anchor_is_gone(tmp_path: Path, anchor: str) -> None:
    """No head anchor, or one that exists but cannot be read (said as such, so nobody
    goes looking for a file that is there): either way the log is unanchored."""
    home = tmp_path / "home"
    env = make_env(home)
    log = AuditLog(home / "data" / "audit.jsonl", key=None)
    for i in range(4):
        log.append("intent", {"step": f"s{i}"}, "r")
    if anchor == "MISSING":
        log.head_path.unlink()
    else:
        log.head_path.write_text("not an anchor\n")
    cp = subprocess.run(
        [*AISRE, "audit", "verify"], env=env, capture_output=True, text=True, timeout=30
    )
    assert cp.returncode == 6, (cp.stdout, cp.stderr)
    assert "UNANCHORED" in cp.stdout and f"is {anchor}:" in cp.stdout
    assert "WARNING" in cp.stderr and "--expect-head" in cp.stderr
    assert "chain intact" not in cp.stdout


def test_expect_head_detects_a_truncation_with_a_rewritten_head(
    base_log: Path, tmp_path: Path
) -> None:
    p, lines = _copy(base_log, tmp_path)
    kept_elsewhere = json.loads(lines[-1])["hash"]  # printed at the end of the last run
    older = json.loads(lines[9])["hash"]
    rep = verify(p, expect_head=kept_elsewhere)
    assert rep.ok and rep.expected_head_seq == N
    rep = verify(p, expect_head=older[:12])  # a head from an earlier run: still in the log
    assert rep.ok and rep.expected_head_seq == 10
    # drop the last 3 records and rewrite the anchor to match: undetectable without
    # the hash kept elsewhere
    _write(p, lines[:-3])
    _write_head(p, lines[:-3])
    assert verify(p).ok
    rep = verify(p, expect_head=kept_elsewhere)
    assert not rep.ok and rep.problem is not None
    assert "not a record of this log" in rep.problem.reason
    with pytest.raises(UsageError, match="too short"):  # names no one record: not tampering
        verify(p, expect_head="abc")


def test_cli_expect_head(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = make_env(home)
    log = AuditLog(home / "data" / "audit.jsonl", key=None)
    recs = [log.append("intent", {"step": f"s{i}"}, "r") for i in range(3)]
    cp = subprocess.run(
        [*AISRE, "audit", "verify", "--expect-head", recs[-1].hash],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 0, cp.stderr
    assert "expected head is record #3" in cp.stdout
    cp = subprocess.run(
        [*AISRE, "audit", "verify", "--expect-head", "f" * 64, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 6
    assert "not a record of this log" in json.loads(cp.stdout)["first_bad"]["reason"]


KEY = b"audit-hmac-test-key-0123456789"


def test_hmac_detects_a_tail_rewritten_together_with_the_head(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    log = AuditLog(p, key=KEY)
    for i in range(10):
        log.append("intent", {"step": f"s{i}", "ok": True}, "r")
    rep = verify(p, key=KEY)
    assert rep.ok and rep.mac == "checked"
    lines = p.read_bytes().splitlines(keepends=True)
    # rewrite the tail without the key: change record 8, re-chain 8..10, fix the head
    forged = [lines[i].replace(b'"ok":true', b'"ok":false') for i in range(7, 10)]
    tail = _rechain(lines[:7] + forged)[7:]
    for i, raw in enumerate(tail):  # keep the (now wrong) macs an attacker cannot recompute
        rec = json.loads(raw)
        rec["mac"] = json.loads(lines[7 + i])["mac"]
        tail[i] = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    _write(p, lines[:7] + tail)
    _write_head(p, lines[:7] + tail)
    assert verify(p, key=None).ok  # without the key: indistinguishable, as documented
    rep = verify(p, key=KEY)
    assert not rep.ok and rep.problem is not None and rep.problem.line == 8
    assert "MAC does not match" in rep.problem.reason
    # stripping the macs from the rewritten tail does not help
    stripped = _rechain(lines[:7] + forged)
    _write(p, lines[:7] + stripped[7:])
    _write_head(p, lines[:7] + stripped[7:])
    rep = verify(p, key=KEY)
    assert rep.problem is not None and rep.problem.line == 8 and "no MAC" in rep.problem.reason
    # nor does rewriting the whole log without any macs
    _write(p, stripped)
    _write_head(p, stripped)
    rep = verify(p, key=KEY)
    assert rep.problem is not None and "carries no MAC" in rep.problem.reason
    # whoever holds the key can (as intended) produce a valid log
    _write(p, _rechain(lines, KEY))
    _write_head(p, _rechain(lines, KEY))
    assert verify(p, key=KEY).ok
    assert not verify(p, key=b"another key entirely").ok


def test_hmac_key_comes_from_the_keyring_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISRE_AUDIT_HMAC_TOKEN", KEY.decode())
    p = tmp_path / "audit.jsonl"
    AuditLog(p).append("intent", {}, "r")
    rec = json.loads(p.read_bytes())
    assert rec["mac"] == record_mac(KEY, rec["hash"])
    assert verify(p).mac == "checked"
    monkeypatch.delenv("AISRE_AUDIT_HMAC_TOKEN")
    rep = verify(p)
    assert rep.ok and rep.mac == "unchecked"


@pytest.mark.parametrize(
    ("value", "says"),
    [("7db3a3be", "too short"), ("abc", "too short"), ("zz" + "0" * 12, "not a record hash")],
)
def test_cli_expect_head_that_names_no_hash_is_a_usage_error(
    tmp_path: Path, value: str, says: str
) -> None:
    """A malformed or too short --expect-head is the caller's mistake (exit 2), never a
    tamper alarm (exit 6): a false alarm sends a team chasing an intrusion."""
    home = tmp_path / "home"
    env = make_env(home)
    log = AuditLog(home / "data" / "audit.jsonl", key=None)
    log.append("intent", {"step": "s"}, "r")
    cp = subprocess.run(
        [*AISRE, "audit", "verify", "--expect-head", value],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 2, (cp.stdout, cp.stderr)
    assert says in cp.stderr and "TAMPERED" not in cp.stdout


@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "blank"])
def test_cli_expect_head_given_empty_is_a_usage_error(tmp_path: Path, value: str) -> None:
    """`--expect-head "$HEAD"` with HEAD unset in CI compared nothing: exit 2 with the
    hint of a too short value, never "ok" (and never a tamper alarm)."""
    home = tmp_path / "home"
    env = make_env(home)
    AuditLog(home / "data" / "audit.jsonl", key=None).append("intent", {"step": "s"}, "r")
    cp = subprocess.run(
        [*AISRE, "audit", "verify", "--expect-head", value],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 2, (cp.stdout, cp.stderr)
    assert "is empty" in cp.stderr and "first 12 hex digits" in cp.stderr
    assert "ok:" not in cp.stdout and "TAMPERED" not in cp.stdout
    with pytest.raises(UsageError, match="is empty"):
        verify(home / "data" / "audit.jsonl", expect_head=value, key=None)
    assert verify(home / "data" / "audit.jsonl", expect_head=None, key=None).ok


def test_expect_head_of_an_empty_log_is_accepted_before_and_after_appends(tmp_path: Path) -> None:
    """`verify` prints GENESIS as the head of an empty log; kept and given back later it
    names the start of the chain, which every later log still has."""
    path = tmp_path / "audit.jsonl"
    assert verify(path, expect_head=GENESIS, key=None).ok
    AuditLog(path, key=None).append("intent", {"step": "s"}, "r")
    rep = verify(path, expect_head=GENESIS, key=None)
    assert rep.ok and rep.expected_head_seq == 0


def test_cli_show_warns_about_lines_that_are_not_records(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = make_env(home)
    log = AuditLog(home / "data" / "audit.jsonl", key=None)
    log.append("intent", {"step": "s1"}, "r")
    with open(log.path, "ab") as fh:
        fh.write(b"not json\n\xff\n")
    cp = subprocess.run(
        [*AISRE, "audit", "show", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    assert cp.returncode == 0, cp.stderr
    data = json.loads(cp.stdout)
    assert len(data["records"]) == 1 and data["unreadable"] == 2
    assert "2 line(s)" in cp.stderr and "aisre audit verify" in cp.stderr


def test_cli_show_limit_must_be_positive(tmp_path: Path) -> None:
    """`-n -1` (or 0) used to show every record; it is a usage error, and `-n 2` the last 2."""
    home = tmp_path / "home"
    env = make_env(home)
    log = AuditLog(home / "data" / "audit.jsonl", key=None)
    for i in range(3):
        log.append("intent", {"step": f"s{i}"}, "r")

    def show(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*AISRE, "audit", "show", "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    for bad in ("-1", "0"):
        cp = show("-n", bad)
        assert cp.returncode == 2, (bad, cp.stdout, cp.stderr)
        assert "--limit" in cp.stderr and cp.stdout == ""
    cp = show("-n", "2")
    assert cp.returncode == 0, cp.stderr
    assert [r["seq"] for r in json.loads(cp.stdout)["records"]] == [2, 3]
    cp = show()
    assert len(json.loads(cp.stdout)["records"]) == 3


def test_cli_show_reports_a_torn_tail_as_a_crash_not_tampering(tmp_path: Path) -> None:
    """QA 2026-12-03: `audit show` called the torn final line a crash leaves "not
    readable audit records (damaged or edited)", while `verify` (rightly) says it is
    an interrupted write. Both now say crash artefact; it is still reported."""
    home = tmp_path / "home"
    env = make_env(home)
    log = AuditLog(home / "data" / "audit.jsonl", key=None)
    for i in range(2):
        log.append("intent", {"step": f"s{i}"}, "r")
    with open(log.path, "ab") as fh:
        fh.write(b'{"actor":"x","data":{"st')
    recs = list(log.records())
    assert len(recs) == 2 and log.unreadable == 0 and log.torn == 24
    cp = subprocess.run(
        [*AISRE, "audit", "show"], env=env, capture_output=True, text=True, timeout=30
    )
    assert cp.returncode == 0, cp.stderr
    assert "damaged or edited" not in cp.stderr
    assert "torn record (24 bytes)" in cp.stderr and "not tampering" in cp.stderr
    cp = subprocess.run(
        [*AISRE, "audit", "show", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    data = json.loads(cp.stdout)
    assert data["unreadable"] == 0 and data["torn_tail_bytes"] == 24
    # a complete record without its terminator is damage, as `verify` says
    (home / "data" / "audit.jsonl").write_bytes(log.path.read_bytes().rsplit(b"\n", 1)[0])
    list(log.records())
    assert log.unreadable == 1 and log.torn == 0


def test_audit_show_and_the_console_summarize_a_record_alike(tmp_path: Path) -> None:
    """One summary of a record for both front ends: a failed step's error and a
    verification's detail are in `aisre audit show` as in the console's audit view."""
    from aisre_cli.ui.tui.backend import audit_summary

    home = tmp_path / "home"
    env = make_env(home)
    log = AuditLog(home / "data" / "audit.jsonl", key=None)
    log.append("result", {"step": "rollback", "ok": False, "error": "kubectl exited 1"}, "r-1")
    log.append(
        "verify", {"step": "rollback", "ok": True, "detail": "error ratio 0.01 < 0.05"}, "r-1"
    )
    cp = subprocess.run(
        [*AISRE, "audit", "show"], env=env, capture_output=True, text=True, timeout=30
    )
    assert cp.returncode == 0, cp.stderr
    for rec in log.records():
        line = audit_summary(rec)
        assert line and line in cp.stdout, (line, cp.stdout)
    assert "error=kubectl exited 1" in cp.stdout and "detail=error ratio 0.01" in cp.stdout
