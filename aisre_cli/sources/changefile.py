"""A file change source: JSON lines written by `aisre change record`, and topology.yaml.

Deploy pipelines without a GitHub integration append one line per change:

    aisre change record --service checkout --version v1.5.0 --kind deploy

Each line is one change event in the bundle's `changes.json` shape (`id`, `ts`,
`service`, `kind`, `summary`, `version`, `previous_version`, `author`, `url`).
Appends are a single `write` on a file opened with `O_APPEND`, so concurrent
pipelines cannot interleave half lines. An append after a torn last line (the disk
filled up, a writer was killed) starts a line of its own, so the torn line costs only
itself; a short write is an error, never "recorded". A malformed line (a hand edit
gone wrong) is skipped and reported as a partial note with its line number; it never
hides the other changes (a change that an older aisre glued to a torn line is read
back). A UTF-8 byte order mark before the first line and bytes that are not UTF-8
(read as U+FFFD) cost nothing; a change id written twice (a retried pipeline step) is
one change, the later line's, with a note. What `record` writes is checked first:
bytes that are not UTF-8, control characters (a summary may hold them: every reader
shows them escaped), white space in a service name and oversized values are usage
errors, and an empty optional value is an option not given.

A change id given by the pipeline (`record --id DEPLOY_ID`, `make_change(change_id=…)`)
makes a re-run step idempotent: `record_once` checks the feed for the id under an
exclusive lock on the file (`flock`, held by every `--id` writer while it reads and
appends) and appends nothing when it is there with the same service, version and time
(`Recorded.new` is False); the same id with other values is a `ChangeConflict` (exit
2). Appends without an id take no lock: their random ids cannot meet.

`TopologyFile` reads the profile's `topology_file` (the bundle's topology.yaml
format) as a `TopologySource`.
"""

from __future__ import annotations

import getpass
import os
import secrets as _random
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict, Unpack
from urllib.parse import urlsplit

import orjson
from pydantic import ValidationError

from aisre_cli.errors import BundleError, ConfigError, SourceError, UsageError
from aisre_cli.model import Change, ChangeKind, SourceNote, Topology, utcnow
from aisre_cli.settings import paths
from aisre_cli.settings.safeyaml import load_yaml, open_regular
from aisre_cli.sources.bundle import TOPOLOGY_YAML_LIMITS, ChangeIn, parse_topology
from aisre_cli.sources.catalog import SourceType
from aisre_cli.sources.timeparse import TimestampError, iso, to_datetime

KINDS: tuple[str, ...] = ("deploy", "config", "flag", "infra", "scale")


@dataclass(frozen=True)
class Recorded:
    """What `record_once` did (the file feed, or a team store's `StoreChangeFeed`)."""

    change: Change
    """The change as recorded: the new one, or the one already recorded under its id."""
    new: bool = True
    """False: the id was recorded before (a re-run pipeline step); nothing was written."""
    spooled: bool = False
    """The change is in this machine's local spool, not yet in the team store."""


class ChangeConflict(UsageError):
    """`--id` names a change already recorded with another service, version or time:
    a different change under the same id (exit 2, like a confirmed cause that meets a
    teammate's). Nothing is recorded."""


CHANGE_FILE_MAX_BYTES = 256_000_000
"""A change feed larger than this is refused rather than read into memory."""

SERVICE_MAX = 253
"""Characters of a service name at most (a DNS name, the longest Kubernetes name)."""
VERSION_MAX = 200
"""Characters of a version, previous version or author at most."""
SUMMARY_MAX = 1000
"""Characters of a summary at most: one line, not a commit message body or a log."""
URL_MAX = 2048
"""Characters of a URL at most."""
CHANGE_ID_MAX = 128
"""Characters of a change id given with `--id` at most (a deploy id, a pipeline run id,
a UUID with a prefix: never a sentence)."""

_LINE_START = b'{"id":'
"""How every line `record` writes begins (the id is its first key)."""


class ChangeFields(TypedDict, total=False):
    """The optional fields of a change to record (`record`'s keywords besides
    `service`), shared by the file feed and the team store's feed."""

    kind: str
    version: str | None
    summary: str
    previous_version: str | None
    author: str | None
    url: str | None
    ts: datetime | None
    change_id: str | None


class ChangeFile:
    """A JSON-lines change feed. Implements `ChangeSource`."""

    def __init__(self, path: Path, name: str = "changes") -> None:
        self.path = path
        self.name = name
        self._notes: list[SourceNote] = []

    def drain_notes(self) -> list[SourceNote]:
        out, self._notes = self._notes, []
        return out

    def read_all(self) -> list[Change]:
        if not self.path.exists():
            return []
        out: dict[str, Change] = {}
        bad: list[str] = []
        repeated: list[str] = []
        try:
            fh = open_regular(self.path, max_bytes=CHANGE_FILE_MAX_BYTES, error=SourceError)
        except SourceError as exc:
            hint = exc.hint
            if "above the limit" in exc.message:  # no setting raises it: rotate the feed
                hint = (
                    f"move it aside (mv {self.path} {self.path}.1): aisre reads and records"
                    " into the current file only"
                )
            raise SourceError(f"{self.name}: {exc.message}", hint=hint) from None
        with fh:
            for lineno, raw in enumerate(fh, 1):
                if lineno == 1:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
                if not raw.strip():
                    continue
                try:
                    c = self._parse(raw, lineno)
                except ValueError as exc:
                    bad.append(f"line {lineno}: {exc}")
                    glued = self._glued(raw, lineno)
                    if glued is None:
                        continue
                    c = glued
                if c.id in out:
                    repeated.append(f"{c.id} again on line {lineno}")
                out[c.id] = c
        if bad:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"{self.path}: skipped {len(bad)} malformed line{'s' if len(bad) > 1 else ''}"
                    f" ({bad[0]})",
                )
            )
        if repeated:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"{self.path}: {len(repeated)} change id(s) recorded more than once, the"
                    f" later line kept ({repeated[0]})",
                )
            )
        return list(out.values())

    def _glued(self, raw: bytes, lineno: int) -> Change | None:
        """The whole change at the end of a malformed line: an older `record` appended
        to a torn last line without starting a new one, which lost both."""
        at = raw.find(_LINE_START, 1)
        while at > 0:
            try:
                return self._parse(raw[at:], lineno)
            except ValueError:
                at = raw.find(_LINE_START, at + 1)
        return None

    def _recorded(self, change_id: str) -> Change | None:
        """The change recorded under `change_id`, if any. A feed that cannot be read
        (too big, not readable) does not stop the record: it is appended unchecked, with
        a note (a second line with the id is read back as one change)."""
        before = len(self._notes)
        said = {n.detail for n in self._notes}
        try:
            changes = self.read_all()
        except SourceError as exc:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"change {change_id} recorded without checking the feed for that id"
                    f" (not read: {exc.message})",
                )
            )
            return None
        # a damaged line is said once, though the feed was read twice
        fresh = [n for n in self._notes[before:] if n.detail not in said]
        self._notes = self._notes[:before] + fresh
        return next((c for c in changes if c.id == change_id), None)

    def _parse(self, raw: bytes, lineno: int) -> Change:
        try:
            obj: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            try:
                # bytes that are not UTF-8 (a pipeline in a Latin-1 locale): read as U+FFFD
                obj = orjson.loads(raw.decode("utf-8", "replace"))
            except orjson.JSONDecodeError:
                raise ValueError(f"invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        try:
            c = ChangeIn.model_validate(obj)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ValueError(f"{'.'.join(map(str, err['loc']))}: {err['msg'].lower()}") from None
        kind = c.kind.lower()
        if kind not in KINDS:
            raise ValueError(f"kind {c.kind!r} is not one of {', '.join(KINDS)}")
        try:
            ts = to_datetime(c.ts)
        except TimestampError as exc:
            raise ValueError(f"ts: {exc}") from None
        return Change(
            id=c.id,
            ts=ts,
            service=c.service,
            kind=_kind(kind),
            summary=c.summary,
            version=c.version,
            previous_version=c.previous_version,
            author=c.author,
            url=c.url,
            source=self.name,
            ref=f"{self.path}:{lineno}",
        )

    def fetch_changes(self, start: datetime, end: datetime) -> list[Change]:
        return [c for c in self.read_all() if start <= c.ts <= end]

    def last_version(self, service: str, before: datetime | None = None) -> str | None:
        """The service's version as of `before` (default: the latest recorded): a
        back-filled change must not take its previous version from a later one."""
        versions = [
            c
            for c in self.read_all()
            if c.service == service and c.version and (before is None or c.ts <= before)
        ]
        if not versions:
            return None
        return max(versions, key=lambda c: c.ts).version

    def record(self, *, service: str, **fields: Unpack[ChangeFields]) -> Change:
        """Append one change event and return it (see `record_once`)."""
        return self.record_once(service=service, **fields).change

    def record_once(
        self,
        *,
        service: str,
        kind: str = "deploy",
        version: str | None = None,
        summary: str = "",
        previous_version: str | None = None,
        author: str | None = None,
        url: str | None = None,
        ts: datetime | None = None,
        change_id: str | None = None,
        spool: bool = True,
    ) -> Recorded:
        """Append one change event, unless `change_id` (the pipeline's own id) is in the
        feed already: then nothing is written and the recorded change is returned
        (`new` False), or `ChangeConflict` is raised when its service, version or time
        (`ts`, when given) differ. `spool` is the team feed's (`StoreChangeFeed`): a
        local file has none, and is written or the call fails."""

        def last_version(svc: str, before: datetime | None) -> str | None:
            # the previous version is a courtesy: a feed that cannot be read (too big,
            # damaged) must not stop a pipeline from recording its deploy
            try:
                return self.last_version(svc, before)
            except SourceError as exc:
                self._notes.append(
                    SourceNote(
                        self.name,
                        "partial",
                        f"previous version unknown, the feed was not read: {exc.message}",
                    )
                )
                return None

        change = make_change(
            last_version,
            source=self.name,
            service=service,
            kind=kind,
            version=version,
            summary=summary,
            previous_version=previous_version,
            author=author,
            url=url,
            ts=ts,
            change_id=change_id,
        )
        row = {
            "id": change.id,
            "ts": iso(change.ts),
            "service": change.service,
            "kind": change.kind,
            "summary": change.summary,
            "version": change.version,
            "previous_version": change.previous_version,
            "author": change.author,
            "url": change.url,
        }
        line = orjson.dumps({k: v for k, v in row.items() if v is not None}) + b"\n"
        if change_id is None:
            self._append(line)
            return Recorded(change)
        found: list[Change] = []

        def absent() -> bool:  # under the file's lock: no other `--id` writer between
            old = self._recorded(change.id)
            if old is not None:
                found.append(old)
            return old is None

        if self._append(line, absent):
            return Recorded(change)
        check_same(found[0], change, at_given=ts is not None)
        return Recorded(found[0], new=False)

    def _append(self, line: bytes, absent: Callable[[], bool] | None = None) -> bool:
        """Append `line` with one `write`, starting a new line when the file ends in a
        torn one (else the two would be one malformed line and both changes lost).

        With `absent`: take an exclusive `flock` on the file first and append only if
        `absent()` (run under the lock) is true; False when nothing was appended."""
        folder = self.path.parent
        try:
            paths.private_parent(self.path)
        except OSError as exc:
            why = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
            raise ConfigError(
                f"cannot append to {self.path}: cannot create {exc.filename or folder}: {why}"
            ) from None
        # O_NONBLOCK: a FIFO in the file's place is refused (ENXIO), not waited on forever
        flags = os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        mode = paths.private_file_mode(self.path)  # 0600 in the data folder
        try:
            try:
                fd = os.open(self.path, os.O_RDWR | flags, mode)
                readable = True
            except PermissionError:  # may be written, not read: no torn-line check
                fd = os.open(self.path, os.O_WRONLY | flags, mode)
                readable = False
        except OSError as exc:
            raise ConfigError(f"cannot append to {self.path}: {exc.strerror}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ConfigError(
                    f"cannot append to {self.path}: not a regular file",
                    hint="move it aside: the change feed is a JSON-lines file",
                )
            os.set_blocking(fd, True)
            import fcntl

            # every append under the file's lock (released when it is closed): the check
            # of the last byte below saw another process's append half copied (a page
            # at a time) and took it for a torn line, adding a blank line
            fcntl.flock(fd, fcntl.LOCK_EX)
            if absent is not None and not absent():
                return False
            st = os.fstat(fd)  # another writer may have appended while we waited
            if readable and st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
                line = b"\n" + line  # the file ends in a torn line: start a new one
            written = os.write(fd, line)
        except OSError as exc:
            raise ConfigError(f"cannot append to {self.path}: {exc.strerror}") from None
        finally:
            os.close(fd)
        if written != len(line):  # the disk filled up, or a file size limit (ulimit -f)
            raise ConfigError(
                f"cannot append to {self.path}: only {written} of {len(line)} bytes written;"
                " the change is not recorded",
                hint="free space and record it again (the torn line is skipped when read)",
            )
        return True


def make_change(
    last_version: Callable[[str, datetime | None], str | None],
    *,
    source: str,
    service: str,
    kind: str = "deploy",
    version: str | None = None,
    summary: str = "",
    previous_version: str | None = None,
    author: str | None = None,
    url: str | None = None,
    ts: datetime | None = None,
    change_id: str | None = None,
) -> Change:
    """A validated change event for a feed (`aisre change record`): its id (`change_id`,
    the pipeline's own, else a generated one), time, author and, unless given, the
    previous version from the feed (`last_version`)."""
    if change_id is not None:
        check_change_id(change_id)
    if not service.strip():
        raise UsageError("--service must not be empty")
    _check("--service", service, SERVICE_MAX, spaces=False)
    version = _check("--version", version, VERSION_MAX)
    previous_version = _check("--previous-version", previous_version, VERSION_MAX)
    author = _check("--author", author, VERSION_MAX)
    url = _check("--url", url, URL_MAX, spaces=False)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise UsageError(
                f"--url {_quote(url)} is not an http(s) URL",
                hint="link the pipeline run or PR, e.g. --url https://ci.example.com/run/42",
            )
    summary = _check("--summary", summary, SUMMARY_MAX, controls=True) or ""
    kind = kind.lower()
    if kind not in KINDS:
        raise UsageError(
            f"--kind {kind!r} is not a change kind",
            hint=f"use one of {', '.join(KINDS)}, e.g. --kind config",
        )
    when = ts or utcnow()
    prev = previous_version if previous_version is not None else last_version(service, when)
    if prev is not None and prev == version:
        prev = None
    who: str | None
    try:
        who = author or os.environ.get("AISRE_AUTHOR") or getpass.getuser()
    except (KeyError, OSError):
        who = author
    if who is not author:  # from the environment: a user name it cannot store is none
        try:
            who = _check("--author", who, VERSION_MAX)
        except UsageError:
            who = None
    return Change(
        id=change_id or f"chg-{when.strftime('%Y%m%dT%H%M%S')}-{_random.token_hex(3)}",
        ts=when,
        service=service,
        kind=_kind(kind),
        summary=summary or _default_summary(kind, service, version, prev),
        version=version,
        previous_version=prev,
        author=who,
        url=url,
        source=source,
    )


def check_change_id(value: str) -> str:
    """`--id`: one word of printable characters, at most `CHANGE_ID_MAX` of them; a
    UsageError otherwise. Empty is an error, not an option left out: `--id "$DEPLOY_ID"`
    with the variable unset would lose the idempotence the pipeline asked for."""
    example = 'e.g. --id "deploy-$CI_PIPELINE_ID"'
    if value == "":
        raise UsageError(
            "--id must not be empty",
            hint=f"pass the pipeline's own id ({example}), or leave --id out for a generated one",
        )
    try:
        _check("--id", value, CHANGE_ID_MAX, spaces=False)
    except UsageError as exc:
        raise UsageError(
            exc.message,
            hint=f"an id is one word of printable characters, {CHANGE_ID_MAX} at most: {example}",
        ) from None
    return value


def differences(old: Change, new: Change, *, at_given: bool) -> list[str]:
    """What makes `new` another change than `old`, recorded under the same id: its
    service, its version, or its time when it was given (`--at`; without it a re-run
    step is "now", later than the first run). Empty: the same change. Each item names
    the recorded value, as the option that would repeat it."""
    out: list[str] = []
    if new.service != old.service:
        out.append(f"--service {_quote(old.service)}")
    if (new.version or None) != (old.version or None):
        out.append(f"--version {_quote(old.version)}" if old.version else "no --version")
    if at_given and new.ts != old.ts:
        out.append(f"--at {iso(old.ts)}")
    return out


def conflict_error(change_id: str, diff: list[str]) -> ChangeConflict:
    """The one-line refusal of a change id recorded as another change (`differences`)."""
    return ChangeConflict(
        f"change {_quote(change_id)} is already recorded with {', '.join(diff)}:"
        " another change under the same id; nothing recorded",
        hint="give this change an id of its own, or repeat the recorded values to re-run"
        " the step that recorded it",
    )


def check_same(old: Change, new: Change, *, at_given: bool) -> None:
    """Raise `ChangeConflict` when `new`, recorded again under `old`'s id, is another
    change (`differences`)."""
    diff = differences(old, new, at_given=at_given)
    if diff:
        raise conflict_error(old.id, diff)


def _check(
    option: str, value: str | None, limit: int, *, spaces: bool = True, controls: bool = False
) -> str | None:
    """`value` of `option` if a feed can keep it, None when empty (a pipeline variable
    that was not set is an option not given). Bytes that are not UTF-8, more than
    `limit` characters, a control character (allowed with `controls`: a summary is
    shown with them made visible) or white space other than a plain space (none
    without `spaces`) are a UsageError."""
    if value is None or value == "":
        return None
    for ch in value:
        if "\udc80" <= ch <= "\udcff":  # how Python reads an argument byte that is not UTF-8
            raise UsageError(
                f"{option} is not valid UTF-8 (byte 0x{ord(ch) - 0xDC00:02x})",
                hint="pass UTF-8 text, e.g. through iconv -f latin1 -t utf-8",
            )
    if len(value) > limit:
        raise UsageError(
            f"{option} is {len(value):,} characters long, above the limit of {limit:,}",
            hint="shorten it, and link the details with --url"
            if option == "--summary"
            else f"give the {option.removeprefix('--')} itself",
        )
    for ch in value:
        cat = unicodedata.category(ch)
        if cat == "Cs" or (not controls and (cat[0] == "C" or cat in ("Zl", "Zp"))):
            what = "a control character"
        elif not controls and ch.isspace() and not (spaces and ch == " "):
            what = "white space"
        else:
            continue
        raise UsageError(
            f"{option} {_quote(value)} contains {what} ({ascii(ch)})",
            hint="give one line of printable text"
            if spaces
            else f"a {option.removeprefix('--')} is one word: no spaces or control characters",
        )
    return value


def _quote(value: str) -> str:
    """`value` for an error line: quoted, controls escaped, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(kind: str) -> ChangeKind:
    if kind == "deploy":
        return "deploy"
    if kind == "config":
        return "config"
    if kind == "flag":
        return "flag"
    if kind == "infra":
        return "infra"
    return "scale"


def _default_summary(kind: str, service: str, version: str | None, prev: str | None) -> str:
    if version and prev:
        return f"{kind} {service} {prev} -> {version}"
    if version:
        return f"{kind} {service} {version}"
    return f"{kind} {service}"


class TopologyFile:
    """A topology.yaml (bundle format). Implements `TopologySource`."""

    def __init__(self, path: Path, name: str = "topology") -> None:
        self.path = path
        self.name = name

    def fetch_topology(self) -> Topology:
        if not self.path.exists():
            raise SourceError(
                f"{self.name}: {self.path} does not exist",
                hint="fix sources.topology_file in the profile",
            )
        try:
            data = load_yaml(self.path, error=SourceError, limits=TOPOLOGY_YAML_LIMITS)
        except SourceError as exc:
            raise SourceError(f"{self.name}: {exc.message}") from None
        try:
            return parse_topology(data, self.path)
        except BundleError as exc:
            raise SourceError(exc.message) from None


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """`changes_file` (default: the feed `aisre change record` writes) and
    `topology_file` (sources/catalog.py)."""
    from aisre_cli.settings import paths

    register(
        SourceType(
            "changes_file",
            ("changes",),
            lambda value, env: ChangeFile(Path(str(value)).expanduser()),
            default=lambda env: ChangeFile(paths.changes_file()),
            summary="a JSON-lines change feed",
        )
    )
    register(
        SourceType(
            "topology_file",
            ("topology",),
            lambda value, env: TopologyFile(Path(str(value)).expanduser()),
            summary="a topology.yaml: who calls whom",
        )
    )
