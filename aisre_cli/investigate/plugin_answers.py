"""What a plugin's source answers, checked before the gather uses it.

A plugin's source is third-party code: what it answers is checked against the domain
models (aisre_cli/model.py) in its gather thread, before it reaches the merge and the
analyzers. Garbage fails that source alone, with one line naming the plugin and what
was wrong, in words of ours (never the plugin's text, which could hold escapes). The
built-in sources build these models from validated wire data and are not re-checked.
"""

from __future__ import annotations

import dataclasses
import math
import re
from array import array
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BaseModel, ValidationError

from aisre_cli.errors import AisreError, SourceError
from aisre_cli.model import Alert, Change, Event, LogTable, Series, SourceNote, Span, Topology
from aisre_cli.settings.plugins import describe, one_line, plugin_of

if TYPE_CHECKING:
    from pydantic import TypeAdapter

M = TypeVar("M", bound=BaseModel)

_ANSWERS: dict[str, tuple[str, str]] = {
    # role: (the method that answers, what it must answer)
    "alerts": ("list_alerts", "a list of Alert"),
    "metrics": ("fetch_series", "a (list of Series, list of SourceNote) pair"),
    "logs": ("fetch_logs", "a LogTable"),
    "changes": ("fetch_changes", "a list of Change"),
    "topology": ("fetch_topology", "a Topology"),
    "traces": ("fetch_spans", "a list of Span"),
    "events": ("fetch_events", "a list of Event"),
}


class _Garbage(Exception):
    """Why an answer cannot be used, in words of ours."""


def guarded(src: object, role: str, fn: Callable[[], Any]) -> Callable[[], Any]:
    """`fn` (a call of `src` answering for `role`), its answer checked when a plugin
    built `src`; whatever the plugin's code raises becomes one `SourceError` line."""
    label = plugin_of(src)
    if label is None:
        return fn
    method, wanted = _ANSWERS[role]

    def run() -> Any:
        try:
            value = fn()
        except AisreError as exc:
            text = exc.message if isinstance(exc.message, str) else describe(exc)
            raise SourceError(one_line(f"{label}: {text}")) from None
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: one failed source
            raise SourceError(f"{label}: {describe(exc)}") from None
        try:
            return _admit(role, value, wanted)
        except _Garbage as exc:
            why = str(exc)
        except Exception as exc:  # noqa: BLE001 - a hostile attribute, __len__, __iter__
            why = f"unreadable ({_what(exc)} raised while reading it)"
        raise SourceError(one_line(f"{label}: {method} answered garbage: {why}", 500))

    return run


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


def _what(obj: object) -> str:
    """`a dict`, `an int`, `a Change`: the kind of `obj`. A plugin names its own
    classes: a name that is not a plain identifier is shown as `an object`."""
    if obj is None:
        return "None"
    name = type(obj).__name__
    if not (isinstance(name, str) and name.isascii() and _NAME.fullmatch(name)):
        name = "object"
    return ("an " if name[0] in "aeiouAEIOU" else "a ") + name


def _invalid(exc: ValidationError, where: str) -> _Garbage:
    """The first problem pydantic found, at its place (`item [2].labels.team`); a key
    that is not a plain name (the plugin's text) shows as `[…]`."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    path = where
    for part in first["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and _NAME.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += "[…]"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return _Garbage(f"{path or 'it'}: {first['msg']}{more}")


def _items(value: Any, cls: type, wanted: str) -> list[Any]:
    """`value` as a list of `cls` instances, or why not."""
    if not isinstance(value, list | tuple):
        raise _Garbage(f"{_what(value)}, not {wanted}")
    for i, item in enumerate(value):
        if not isinstance(item, cls):
            raise _Garbage(f"item [{i}] is {_what(item)}, not a {cls.__name__}")
    return list(value)


def _fields(obj: object, names: Iterable[str]) -> dict[str, Any]:
    """The attributes of `obj` named `names` (one it lacks is left out: the model says
    whether it was required)."""
    out: dict[str, Any] = {}
    for name in names:
        try:
            out[name] = getattr(obj, name)
        except AttributeError:
            continue
    return out


def _utc(model: M) -> M:
    """Naive datetimes read as UTC (as `live_window` reads an alert's start): a naive
    and an aware one cannot be compared, and the engine compares them."""
    for name, value in list(model.__dict__.items()):
        if isinstance(value, datetime) and value.tzinfo is None:
            setattr(model, name, value.replace(tzinfo=UTC))
    return model


def _models(cls: type[M], value: Any, wanted: str) -> list[M]:
    """A list of `cls` (a pydantic model), each validated again from its fields: an
    instance made with `model_construct`, or changed after it was built, is unchecked."""
    out: list[M] = []
    for i, item in enumerate(_items(value, cls, wanted)):
        try:
            out.append(_utc(cls.model_validate(_fields(item, cls.model_fields))))
        except ValidationError as exc:
            raise _invalid(exc, f"item [{i}]") from None
    return out


@cache
def _adapter(kind: str) -> TypeAdapter[Any]:
    """Validators of model.py's dataclasses and of a LogTable's columns, built on first
    use (only a plugin's answers need them)."""
    from pydantic import ConfigDict, Field, TypeAdapter

    finite = ConfigDict(allow_inf_nan=False)
    types: dict[str, Any] = {
        # a sample may be NaN or ±Inf (Prometheus answers them; the analysis reads gaps)
        "series": (list[Series], None),
        "spans": (list[Span], finite),
        "events": (list[Event], finite),
        "floats": (list[Annotated[float, Field(allow_inf_nan=False)]], None),
        "ints": (list[Annotated[int, Field(ge=0, lt=2**31)]], None),
        "strs": (list[str], None),
        "query": (dict[str, str], None),
    }
    tp, config = types[kind]
    return TypeAdapter(tp, config=config)


def _dataclasses(kind: str, cls: type, value: Any, wanted: str) -> list[Any]:
    """A list of `cls` (a dataclass of model.py) validated from its fields."""
    items = _items(value, cls, wanted)
    raw = [_fields(x, (f.name for f in dataclasses.fields(cls))) for x in items]
    try:
        out: list[Any] = _adapter(kind).validate_python(raw)
    except ValidationError as exc:
        raise _invalid(exc, "item ") from None
    return out


def _series(value: Any, wanted: str) -> tuple[list[Series], list[SourceNote]]:
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], list)):
        raise _Garbage(f"{_what(value)}, not {wanted}")
    series: list[Series] = _dataclasses("series", Series, value[0], "a list of Series")
    for i, s in enumerate(series):
        if len(s.timestamps) != len(s.values):
            raise _Garbage(f"item [{i}]: {len(s.timestamps)} timestamps for {len(s.values)} values")
        if not all(map(math.isfinite, s.timestamps)):
            raise _Garbage(f"item [{i}].timestamps: Input should be a finite number")
    return series, value[1]


def _logs(value: Any, wanted: str) -> LogTable:
    if not isinstance(value, LogTable):
        raise _Garbage(f"{_what(value)}, not {wanted}")

    def column(name: str, kind: str) -> Any:
        raw = getattr(value, name)
        try:
            return _adapter(kind).validate_python(raw)
        except ValidationError as exc:
            raise _invalid(exc, name) from None

    ts, file_idx, line = column("ts", "floats"), column("file_idx", "ints"), column("line", "ints")
    service, level, msg = column("service", "strs"), column("level", "strs"), column("msg", "strs")
    files, query = column("files", "strs"), column("query", "query")
    n = len(msg)
    for name, col in (
        ("ts", ts),
        ("service", service),
        ("level", level),
        ("file_idx", file_idx),
        ("line", line),
    ):
        if len(col) != n:
            raise _Garbage(f"{len(col)} {name} for {n} messages (columns of unequal length)")
    if any(i >= len(files) for i in file_idx):
        raise _Garbage(f"a file_idx beyond its {len(files)} files")
    return LogTable(
        ts=array("d", ts),
        service=service,
        level=level,
        msg=msg,
        file_idx=array("i", file_idx),
        line=array("i", line),
        files=files,
        query=query,
    )


def _topology(value: Any, wanted: str) -> Topology:
    if not isinstance(value, Topology):
        raise _Garbage(f"{_what(value)}, not {wanted}")
    try:
        return Topology.model_validate(_fields(value, Topology.model_fields))
    except ValidationError as exc:
        raise _invalid(exc, "") from None


def _admit(role: str, value: Any, wanted: str) -> Any:
    """`value`, a plugin's answer for `role`, checked (and rebuilt from what was
    checked), or `_Garbage` saying why it cannot be used."""
    if role == "alerts":
        return _models(Alert, value, wanted)
    if role == "changes":
        return _models(Change, value, wanted)
    if role == "metrics":
        return _series(value, wanted)
    if role == "logs":
        return _logs(value, wanted)
    if role == "topology":
        return _topology(value, wanted)
    if role == "traces":
        return _dataclasses("spans", Span, value, wanted)
    return _dataclasses("events", Event, value, wanted)
