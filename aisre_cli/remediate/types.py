"""Typed values that may flow from a runbook parameter into a capability input.

Parameters can come from text we do not control: alert labels, log lines, a model's
summary. The only thing standing between such a value and a `kubectl` argv is the type
it is validated against here. Every type is *narrow*: a Kubernetes name cannot contain
a space, a `;`, a `/` or start with `-`, so `x; rm -rf /` or `--all-namespaces` fails
validation instead of becoming a second argument or a flag. Values that are free
text (a PagerDuty note) only ever travel inside a JSON body, never in argv.

Runbook parameters name these types with the keys of `PARAM_TYPES`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, ValidationError

_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\Z")
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?\Z")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+:@-]{0,127}\Z")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _k8s_name(v: str) -> str:
    if not _K8S_NAME.fullmatch(v):
        raise ValueError(
            "must be a Kubernetes name (lower-case letters, digits, '-' and '.',"
            " starting and ending with a letter or digit)"
        )
    return v


def _label_name(v: str) -> str:
    if not _LABEL_NAME.fullmatch(v):
        raise ValueError("must be a label name ([A-Za-z_][A-Za-z0-9_]*)")
    return v


def _label_value(v: str) -> str:
    if not _LABEL_VALUE.fullmatch(v):
        raise ValueError("must be a plain label value (letters, digits, '-', '_', '.')")
    return v


def _version(v: str) -> str:
    if not _VERSION.fullmatch(v):
        raise ValueError("must be a version or change id (letters, digits, '.', '_', '+', '-')")
    return v


def _text(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("must not contain control characters")
    return v


def parse_duration(v: str) -> float:
    """`30s`, `5m`, `2h`, `1d`, `250ms` -> seconds."""
    m = _DURATION.fullmatch(v.strip())
    if not m:
        raise ValueError("must be a duration like 30s, 5m, 2h or 1d")
    return int(m.group(1)) * _UNITS[m.group(2)]


MAX_DURATION_S = 30 * 86400.0
"""Upper bound of any duration value (a silence is further limited to 7 days)."""
MAX_WAIT_S = 3600.0
"""Upper bound of a duration a step *blocks* for (a wait, a verification timeout or
interval, a kubectl --timeout): one hour. Longer belongs in a job, not in a page."""


def _bounded(v: Any, limit: float) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        v = f"{int(v)}s"
    if not isinstance(v, str):
        raise ValueError("must be a duration like 30s, 5m, 2h or 1d")
    if parse_duration(v) > limit:
        most = f"{limit / 86400:.0f}d" if limit >= 86400 else f"{limit / 60:.0f}m"
        raise ValueError(f"must be at most {most} (got {v.strip()})")
    return v.strip()


def _duration(v: Any) -> str:
    return _bounded(v, MAX_DURATION_S)


def wait_duration(v: Any) -> str:
    """A duration a step blocks for: at most MAX_WAIT_S."""
    return _bounded(v, MAX_WAIT_S)


def _strict_str(v: Any) -> Any:
    # Refuse silent coercion of numbers/bools into names.
    if not isinstance(v, str):
        raise ValueError("must be a string")
    return v


K8sName = Annotated[str, BeforeValidator(_strict_str), AfterValidator(_k8s_name)]
"""A DNS-1123 name: deployment, namespace, pod, secret, certificate."""
LabelName = Annotated[str, BeforeValidator(_strict_str), AfterValidator(_label_name)]
LabelValue = Annotated[str, BeforeValidator(_strict_str), AfterValidator(_label_value)]
Version = Annotated[str, BeforeValidator(_strict_str), AfterValidator(_version)]
"""A version string, image tag or change id."""
Text = Annotated[str, BeforeValidator(_strict_str), AfterValidator(_text), Field(max_length=8000)]
"""Free text for humans (notes, comments). Only ever sent inside a JSON body."""
Duration = Annotated[str, BeforeValidator(_duration)]
WaitDuration = Annotated[str, BeforeValidator(wait_duration)]
"""A duration a step blocks for (wait, kubectl --timeout): at most one hour."""
Quantity = Annotated[
    str, BeforeValidator(_strict_str), Field(pattern=r"^[1-9][0-9]{0,5}(Mi|Gi|Ti)$")
]
"""A storage size: 20Gi, 500Mi, 1Ti."""
Replicas = Annotated[int, Field(ge=0, le=1000)]
Revision = Annotated[int, Field(ge=1)]

PARAM_TYPES: dict[str, Any] = {
    "name": K8sName,
    "label_name": LabelName,
    "label_value": LabelValue,
    "version": Version,
    "text": Text,
    "duration": Duration,
    "int": Annotated[int, Field(ge=-(2**31), le=2**31)],
    "replicas": Replicas,
    "quantity": Quantity,
    "bool": bool,
}
"""Runbook parameter types. Each maps to a validator above."""

QUERY_SAFE_TYPES = frozenset(
    {"name", "label_name", "label_value", "version", "duration", "int", "replicas"}
)
"""Types that may be interpolated into a PromQL query (no quotes, braces or spaces)."""

SAMPLE_VALUES: dict[str, Any] = {
    "name": "example",
    "label_name": "example",
    "label_value": "example",
    "version": "v1",
    "text": "example",
    "duration": "5m",
    "int": 1,
    "replicas": 1,
    "quantity": "10Gi",
    "bool": True,
}
"""Stand-in values used by `runbook validate` to check inputs against capability schemas."""

_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def validate_param(type_name: str, value: Any) -> Any:
    """Validate (and coerce from CLI text) one parameter value; raise ValueError."""
    if type_name not in PARAM_TYPES:
        raise ValueError(f"unknown parameter type {type_name!r}")
    if type_name in ("int", "replicas") and isinstance(value, str):
        if not re.fullmatch(r"-?\d{1,10}", value.strip()):
            raise ValueError("must be an integer")
        value = int(value.strip())
    if type_name == "bool" and isinstance(value, str):
        low = value.strip().lower()
        if low not in ("true", "false"):
            raise ValueError("must be true or false")
        value = low == "true"
    adapter = _ADAPTERS.get(type_name)
    if adapter is None:
        adapter = _ADAPTERS[type_name] = TypeAdapter(PARAM_TYPES[type_name])
    try:
        return adapter.validate_python(value, strict=type_name in ("bool",))
    except ValidationError as exc:
        raise ValueError(first_error(exc)) from None


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")
