"""Append-only files that survive a crash: the audit log and the team-store spool.

Both append one JSON line per record, fsync the file (and the directory on create), and
on the next append read only the last line back. A line cut short by a crash ("torn")
is set aside to a side file, never silently dropped, and the file is cut back to its
last complete line.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_CHUNK = 65536


def fsync_dir(path: Path) -> None:
    """Make a create or rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new content,
    never a mix: write a private temp file, fsync it, rename it over, fsync the folder.
    A failed or interrupted write (disk full, Ctrl-C) removes its temp file."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked (a large file, a signal)
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def last_line(fd: int) -> tuple[bytes | None, bytes, int]:
    """(last complete line or None, torn bytes after it, offset where the torn part
    starts), reading backwards from the end in 64 KiB steps."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, b"", 0
    buf = b""
    # find the final newline
    pos = size
    while pos > 0:
        start = max(0, pos - _CHUNK)
        buf = os.pread(fd, pos - start, start) + buf
        pos = start
        if buf.rfind(b"\n") != -1:
            break
    nl_abs = buf.rfind(b"\n")
    if nl_abs == -1:
        return None, buf, 0
    last_nl = pos + nl_abs
    torn = os.pread(fd, size - last_nl - 1, last_nl + 1) if size - last_nl - 1 > 0 else b""
    # find the newline before it
    prev_nl = buf.rfind(b"\n", 0, nl_abs)
    while prev_nl == -1 and pos > 0:
        start = max(0, pos - _CHUNK)
        buf = os.pread(fd, pos - start, start) + buf
        nl_abs += pos - start
        pos = start
        prev_nl = buf.rfind(b"\n", 0, nl_abs)
    return buf[prev_nl + 1 : nl_abs], torn, last_nl + 1


def set_aside_torn(path: Path, fd: int, torn: bytes, torn_at: int) -> Path:
    """Keep a torn tail in `<path>.torn-<offset>` and cut `fd` back to `torn_at`."""
    side = path.with_name(path.name + f".torn-{torn_at}")
    # private like the log it came from (an audit or spool record may name hosts, runs)
    sfd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with open(sfd, "ab") as fh:
        fh.write(torn)
        fh.flush()
        os.fsync(fh.fileno())
    os.ftruncate(fd, torn_at)
    os.fsync(fd)
    return side
