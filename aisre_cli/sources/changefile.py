"""A file change source: JSON lines written by `aisre change record`, and topology.yaml.

Deploy pipelines without a GitHub integration append one line per change:

    aisre change record --service checkout --version v1.5.0 --kind deploy

Each line is one change event in the bundle's `changes.json` shape (`id`, `ts`,
`service`, `kind`, `summary`, `version`, `previous_version`, `author`, `url`).
Appends are a single `write` on a file opened with `O_APPEND`, so concurrent
pipelines cannot interleave half lines. A malformed line (a hand edit gone wrong) is
skipped and reported as a partial note with its line number; it never hides the
other changes. A UTF-8 byte order mark before the first line and bytes that are not
UTF-8 (read as U+FFFD) cost nothing; a change id written twice (a retried pipeline
step) is one change, the later line's, with a note.

`TopologyFile` reads the profile's `topology_file` (the bundle's topology.yaml
format) as a `TopologySource`.
"""

from __future__ import annotations

import getpass
import os
import secrets as _random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from aisre_cli.errors import BundleError, ConfigError, SourceError, UsageError
from aisre_cli.model import Change, ChangeKind, SourceNote, Topology, utcnow
from aisre_cli.settings.safeyaml import load_yaml, open_regular
from aisre_cli.sources.bundle import TOPOLOGY_YAML_LIMITS, ChangeIn, parse_topology
from aisre_cli.sources.catalog import SourceType
from aisre_cli.sources.timeparse import TimestampError, iso, to_datetime

KINDS: tuple[str, ...] = ("deploy", "config", "flag", "infra", "scale")


CHANGE_FILE_MAX_BYTES = 256_000_000
"""A change feed larger than this is refused rather than read into memory."""


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
            raise SourceError(f"{self.name}: {exc.message}", hint=exc.hint) from None
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
                    continue
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

    def record(
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
    ) -> Change:
        """Append one change event and return it."""
        change = make_change(
            self.last_version,
            source=self.name,
            service=service,
            kind=kind,
            version=version,
            summary=summary,
            previous_version=previous_version,
            author=author,
            url=url,
            ts=ts,
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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            raise ConfigError(f"cannot append to {self.path}: {exc.strerror}") from None
        return change


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
) -> Change:
    """A validated change event for a feed (`aisre change record`): its id, time,
    author and, unless given, the previous version from the feed (`last_version`)."""
    if not service.strip():
        raise UsageError("--service must not be empty")
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
    return Change(
        id=f"chg-{when.strftime('%Y%m%dT%H%M%S')}-{_random.token_hex(3)}",
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
