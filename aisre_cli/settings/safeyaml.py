"""The one YAML loader for every file aisre reads, and the one way to open input files.

YAML is read from config, policy, runbooks and incident bundles (bundle.yaml,
topology.yaml, metrics/queries.yaml, truth.yaml), and some of those come from outside:
a shared runbook folder, a bundle someone attached to a ticket. Plain `yaml.safe_load`
is not safe against them:

* an alias bomb (a 1 KB file whose anchors refer to anchors nine levels deep) expands
  to billions of nodes when constructed, costing minutes and gigabytes;
* deep nesting (`[[[[...` 50,000 levels) overflows the recursive composer;
* a file may be any size, or not a file at all (a FIFO hangs, /dev/zero never ends);
* a key given twice in one mapping is kept with its last value, silently: a reviewer
  reads the first, the second takes effect.

`load_yaml` therefore checks the event stream before anything is built: nesting depth,
the number of aliases, and the number of nodes the document expands to (an alias
counts as the whole subtree it names), each against `YamlLimits`; and, once composed,
that no mapping repeats a key. Errors keep the line number: `FILE:LINE: not valid
YAML: PROBLEM`, raised as the caller's `AisreError` subclass so the exit code stays 2.

`open_regular` opens a path for reading only if it is a regular file (never a FIFO,
device or directory), optionally only if it resolves inside a given root (so a bundle
cannot point at /etc/shadow through a symlink), and only if it is not larger than a cap.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from aisre_cli.errors import AisreError, ConfigError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlLimits:
    """Bounds checked on the event stream, before any node is built."""

    max_bytes: int = 2_000_000
    """Size of the file."""
    max_depth: int = 64
    """Nesting of sequences and mappings."""
    max_aliases: int = 100
    """`*name` references in the whole document."""
    max_nodes: int = 250_000
    """Nodes after expanding every alias (a document without aliases has as many nodes
    as scalars plus collections, so this only bites on huge files or alias bombs)."""
    max_entries: int | None = None
    """Entries in any one mapping or sequence (None: only max_nodes bounds them)."""
    entries_name: str = "entries"
    """What an entry is, for the message: `services (limits.max_topology_services)`."""


DEFAULT_LIMITS = YamlLimits()


class YamlProblem(Exception):
    """Why a YAML text was refused: where (a file name), the 1-based line, and what."""

    def __init__(self, where: str, line: int, problem: str, *, invalid: bool = True):
        prefix = "not valid YAML: " if invalid else ""
        super().__init__(f"{where}:{line}: {prefix}{problem}")
        self.where = where
        self.line = line
        self.problem = problem


def _line_of(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else 1


def _problem_of(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    if problem:
        return str(problem)
    first = str(exc).strip().splitlines()
    return first[0] if first else type(exc).__name__


def _check_events(text: str, where: str, limits: YamlLimits) -> None:
    """Walk the event stream once, refusing a document that breaks a limit.

    Every finished node adds its expanded size to its parent; an alias adds the size
    recorded for its anchor. So an alias bomb is refused after reading its few hundred
    events, long before the exponential structure would be built.
    """
    parser = _Loader(text)
    stack: list[list[Any]] = []  # [anchor, expanded size, children, max children]
    anchors: dict[str, int] = {}
    aliases = 0
    total = 0
    try:
        while parser.check_event():
            ev = parser.get_event()
            size = 0
            anchor: str | None = None
            line = ev.start_mark.line + 1 if ev.start_mark is not None else 1
            if isinstance(ev, yaml.ScalarEvent):
                size, anchor = 1, ev.anchor
            elif isinstance(ev, yaml.AliasEvent):
                aliases += 1
                if aliases > limits.max_aliases:
                    raise YamlProblem(
                        where,
                        line,
                        f"more than {limits.max_aliases} aliases (refused: an alias bomb"
                        " expands exponentially)",
                    )
                size = anchors.get(str(ev.anchor), 1)
            elif isinstance(ev, yaml.CollectionStartEvent):
                most = limits.max_entries
                if most is not None and isinstance(ev, yaml.MappingStartEvent):
                    most *= 2  # a key and a value per entry
                stack.append([ev.anchor, 1, 0, most])
                if len(stack) > limits.max_depth:
                    raise YamlProblem(
                        where,
                        line,
                        f"nested deeper than {limits.max_depth} levels",
                    )
                continue
            elif isinstance(ev, yaml.CollectionEndEvent):
                anchor, size, _, _ = stack.pop()
            else:
                continue
            if anchor is not None:
                anchors[str(anchor)] = size
            if stack:
                top = stack[-1]
                top[1] += size
                size = top[1]
                top[2] += 1
                if top[3] is not None and top[2] > top[3]:
                    raise YamlProblem(
                        where,
                        line,
                        f"more than {limits.max_entries:,} {limits.entries_name}",
                        invalid=False,
                    )
            else:
                total += size
                size = total
            if size > limits.max_nodes:
                raise YamlProblem(
                    where,
                    line,
                    f"expands to more than {limits.max_nodes:,} nodes (refused: aliases"
                    " that multiply, or a file too large to be configuration)",
                )
    except yaml.YAMLError as exc:
        raise YamlProblem(where, _line_of(exc), _problem_of(exc)) from None
    finally:
        parser.dispose()


def _check_duplicates(node: yaml.Node, where: str, loader: Any) -> None:
    """Refuse a mapping that names one key twice (the YAML spec requires unique keys).

    A plain loader keeps the last value silently: a reviewer reads the first, the
    second takes effect. Keys are compared as constructed (`1`, `0x1` and `true` are
    the same key in the resulting dict), except merge keys (`<<: *base`), whose merged
    entries may be overridden. Runs on the composed node graph, before construction.
    """
    seen_nodes: set[int] = set()
    todo: list[yaml.Node] = [node]
    while todo:
        n = todo.pop()
        if id(n) in seen_nodes:  # an alias shares its node: check it once
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            keys: dict[Any, int] = {}
            for k, v in n.value:
                todo.append(v)
                if not isinstance(k, yaml.ScalarNode):
                    todo.append(k)
                    continue
                if k.tag == "tag:yaml.org,2002:merge":
                    continue
                key = loader.construct_object(k)
                line = k.start_mark.line + 1
                try:
                    first = keys.get(key)
                except TypeError:  # unhashable: refused by the constructor itself
                    continue
                if first is not None:
                    shown = repr(key)
                    shown = shown if len(shown) <= 80 else shown[:77] + "..."
                    raise YamlProblem(where, line, f"duplicate key {shown} (first on line {first})")
                keys[key] = line
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(n.value)


LineMap = dict[tuple[Any, ...], int]


def _lines(node: yaml.Node) -> LineMap:
    """1-based line of every key path (`("steps", 0, "inputs")`) in a composed node."""
    lines: LineMap = {}
    todo: list[tuple[yaml.Node, tuple[Any, ...]]] = [(node, ())]
    while todo:
        n, path = todo.pop()
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
                lines[(*path, key)] = k.start_mark.line + 1
                todo.append((v, (*path, key)))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                todo.append((v, (*path, i)))
    return lines


def parse_yaml(
    text: str, where: str, limits: YamlLimits = DEFAULT_LIMITS, *, with_lines: bool = False
) -> tuple[Any, LineMap]:
    """Parse one YAML document within `limits`. Raises YamlProblem.

    Returns the data and, with `with_lines`, the line of each key path (for pointing
    validation errors at the right line).
    """
    if len(text) > limits.max_bytes:
        raise YamlProblem(where, 1, f"larger than {limits.max_bytes:,} bytes")
    _check_events(text, where, limits)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_duplicates(node, where, loader)
        lines = _lines(node) if with_lines else {}
        return loader.construct_document(node), lines
    except yaml.YAMLError as exc:
        raise YamlProblem(where, _line_of(exc), _problem_of(exc)) from None
    except RecursionError:  # not reachable within max_depth; kept as a last line
        raise YamlProblem(where, 1, "nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml(
    path: Path,
    *,
    error: type[AisreError] = ConfigError,
    limits: YamlLimits = DEFAULT_LIMITS,
    root: Path | None = None,
    display: str | None = None,
    hint: str | None = None,
) -> Any:
    """Read and parse a YAML file safely; any problem raises `error` with FILE:LINE."""
    return load_yaml_lines(path, error=error, limits=limits, root=root, display=display, hint=hint)[
        0
    ]


def load_yaml_lines(
    path: Path,
    *,
    error: type[AisreError] = ConfigError,
    limits: YamlLimits = DEFAULT_LIMITS,
    root: Path | None = None,
    display: str | None = None,
    hint: str | None = None,
) -> tuple[Any, LineMap]:
    """`load_yaml` that also returns the line of each key path. `hint` goes with every
    error about the file: one that cannot be read (a setting naming a path that is not
    there) as much as one that does not parse."""
    where = display or str(path)
    try:
        text = read_text(path, max_bytes=limits.max_bytes, error=error, root=root, display=where)
    except AisreError as exc:
        if exc.hint is None:
            exc.hint = hint
        raise
    try:
        return parse_yaml(text, where, limits, with_lines=True)
    except YamlProblem as exc:
        raise error(str(exc), hint=hint) from None


# ------------------------------------------------------------------ files


def open_regular(
    path: Path,
    *,
    max_bytes: int,
    error: type[AisreError] = ConfigError,
    root: Path | None = None,
    display: str | None = None,
    limit_name: str = "",
) -> IO[bytes]:
    """Open `path` for binary reading if it is a regular file of at most `max_bytes`.

    With `root`, the path (after following every symlink) must lie inside `root`.
    Opening never blocks (a FIFO is refused, not waited on). Every refusal raises
    `error` with one line naming the file.
    """
    where = display or str(path)
    if root is not None:
        try:
            real = Path(os.path.realpath(path))
            inside = real.is_relative_to(Path(os.path.realpath(root)))
        except (OSError, ValueError):
            inside = False
        if not inside:
            raise error(
                f"{where}: refused: a symlink that points outside the bundle ({real})",
                hint="copy the file into the bundle instead of linking to it",
            )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"{where}: cannot read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = (
                "a directory"
                if stat.S_ISDIR(st.st_mode)
                else "a FIFO"
                if stat.S_ISFIFO(st.st_mode)
                else "a device"
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket"
                if stat.S_ISSOCK(st.st_mode)
                else "not a regular file"
            )
            raise error(f"{where}: refused: {kind}, not a regular file")
        if st.st_size > max_bytes:
            setting = f" ({limit_name})" if limit_name else ""
            raise error(
                f"{where}: {st.st_size:,} bytes, above the limit of {max_bytes:,}{setting}",
                hint="raise the limit in the profile, or cut the file down",
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(
    path: Path,
    *,
    max_bytes: int,
    error: type[AisreError] = ConfigError,
    root: Path | None = None,
    display: str | None = None,
    limit_name: str = "",
) -> bytes:
    """The content of a regular file, refused when larger than `max_bytes`."""
    where = display or str(path)
    with open_regular(
        path, max_bytes=max_bytes, error=error, root=root, display=where, limit_name=limit_name
    ) as fh:
        try:
            # Read what fstat promised plus one byte: never preallocate `max_bytes`.
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(size + 1)
            while len(data) > size and len(data) <= max_bytes:  # still growing
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                data += chunk
        except OSError as exc:
            raise error(f"{where}: cannot read ({exc.strerror})") from None
    if len(data) > max_bytes:  # grew after the size check
        raise error(f"{where}: above the limit of {max_bytes:,} bytes")
    return data


def read_text(
    path: Path,
    *,
    max_bytes: int,
    error: type[AisreError] = ConfigError,
    root: Path | None = None,
    display: str | None = None,
) -> str:
    """`read_bytes` decoded as UTF-8 (a decoding error is refused with its position)."""
    where = display or str(path)
    data = read_bytes(path, max_bytes=max_bytes, error=error, root=root, display=where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"{where}:{line}: not UTF-8 text") from None
