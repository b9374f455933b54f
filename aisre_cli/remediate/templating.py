"""`{{ name }}` templates in runbook inputs.

Deliberately not Jinja: a template is a reference to a named, typed value and nothing
else (no filters, no expressions, no attribute access), so validation can list every
name a runbook uses and reject undefined ones before anything runs. When an input is
exactly one reference (`"{{ replicas }}"`) the typed value is substituted as is (an int
stays an int); otherwise the values are formatted into the string and the result is
validated again by the capability's input model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ANY_BRACES = re.compile(r"\{\{|\}\}")


class TemplateError(ValueError):
    pass


def references(value: Any) -> list[str]:
    """Every name referenced anywhere inside `value` (strings, lists, dicts)."""
    out: list[str] = []
    if isinstance(value, str):
        out.extend(TEMPLATE.findall(value))
    elif isinstance(value, list):
        for v in value:
            out.extend(references(v))
    elif isinstance(value, dict):
        for v in value.values():
            out.extend(references(v))
    return out


def malformed(value: str) -> bool:
    """True when braces remain after removing well-formed references."""
    return bool(_ANY_BRACES.search(TEMPLATE.sub("", value)))


def render(value: Any, values: Mapping[str, Any]) -> Any:
    """Substitute references in `value` (recursively). Unknown names raise TemplateError."""
    if isinstance(value, str):
        if malformed(value):
            raise TemplateError(f"malformed template {value!r}")
        whole = TEMPLATE.fullmatch(value.strip())
        if whole:
            name = whole.group(1)
            if name not in values:
                raise TemplateError(f"undefined name {name!r}")
            return values[name]

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in values:
                raise TemplateError(f"undefined name {name!r}")
            v = values[name]
            if v is None:
                raise TemplateError(f"{name!r} has no value")
            if isinstance(v, bool):
                return "true" if v else "false"
            return str(v)

        return TEMPLATE.sub(sub, value)
    if isinstance(value, list):
        return [render(v, values) for v in value]
    if isinstance(value, dict):
        return {k: render(v, values) for k, v in value.items()}
    return value
