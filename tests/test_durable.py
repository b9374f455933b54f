"""settings/durable.py: the last complete line is found from the end, whatever the line
lengths around the 64 KiB read steps; a torn tail is kept beside the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aisre_cli.settings import durable
from aisre_cli.settings.durable import last_line, set_aside_torn, write_atomic


def _naive(data: bytes) -> tuple[bytes | None, bytes, int]:
    nl = data.rfind(b"\n")
    if nl == -1:
        return None, data, 0
    prev = data.rfind(b"\n", 0, nl)
    return data[prev + 1 : nl], data[nl + 1 :], nl + 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"no newline at all",
        b"one\n",
        b"one\ntwo\n",
        b"one\ntwo\ntorn",
        b"x" * 70_000 + b"\n",
        b"a\n" + b"y" * 140_000 + b"\n" + b"z" * 5,
        b"a\n" * 40_000 + b"b" * 65_535 + b"\n",
        b"\n" + b"c" * 65_536 + b"\n" + b"t" * 65_537,
    ],
)
def test_last_line_matches_a_whole_file_read(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "f.jsonl"
    p.write_bytes(data)
    fd = os.open(p, os.O_RDONLY)
    try:
        got = last_line(fd)
    finally:
        os.close(fd)
    if data:
        assert got == _naive(data)
    else:
        assert got == (None, b"", 0)


def test_a_torn_tail_is_set_aside_and_cut(tmp_path: Path) -> None:
    p = tmp_path / "log.jsonl"
    p.write_bytes(b'{"a": 1}\n{"b": 2')
    fd = os.open(p, os.O_RDWR)
    try:
        line, torn, at = last_line(fd)
        side = set_aside_torn(p, fd, torn, at)
    finally:
        os.close(fd)
    assert line == b'{"a": 1}' and p.read_bytes() == b'{"a": 1}\n'
    assert side.name == "log.jsonl.torn-9" and side.read_bytes() == b'{"b": 2'
    assert side.stat().st_mode & 0o777 == 0o600  # private like the log (it was 0644)


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    (tmp_path / "d").mkdir()
    target = tmp_path / "d" / "weights.json"
    write_atomic(target, b"old")

    def fail(fd: int) -> None:
        raise failure

    monkeypatch.setattr(durable.os, "fsync", fail)
    with pytest.raises(type(failure)):
        write_atomic(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["weights.json"]


def test_an_atomic_write_finishes_a_short_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    monkeypatch.setattr(durable.os, "write", lambda fd, b: real_write(fd, bytes(b)[:7]))
    data = bytes(range(256)) * 40
    write_atomic(tmp_path / "f", data)
    assert (tmp_path / "f").read_bytes() == data
