"""One registration path for built-ins and plugins (sources, capabilities).

A *hook* is a function that receives a `register` callable and calls it once per
thing it provides, the way simonw/llm's `register_models(register)` hookspec and
harlequin's adapter entry points work:

    def register_sources(register):
        register(SourceType(key="tempo", roles=("traces",), config=TempoSource, build=...))

Built-ins are listed as `"module:function"` references and loaded by exactly the same
code as a third-party package's entry point in the group (`aisre.sources`,
`aisre.capabilities`):

    [project.entry-points."aisre.sources"]
    tempo = "aisre_tempo:register_sources"

Hooks are imported only when their group is first needed (never for `--help`). A
built-in that fails to load is a bug and raises; a plugin that fails is recorded as a
`PluginError` (shown by the caller) so one broken package cannot stop a triage.
`AISRE_NO_PLUGINS=1` loads the built-ins only.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SOURCES_GROUP = "aisre.sources"
CAPABILITIES_GROUP = "aisre.capabilities"


@dataclass(frozen=True, slots=True)
class PluginError:
    group: str
    name: str
    error: str

    def render(self) -> str:
        return f"plugin {self.name} ({self.group}) failed to load: {self.error}"


def resolve(ref: str) -> Any:
    """`package.module:attr.sub` → the object."""
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def _entry_points(group: str) -> list[tuple[str, str]]:
    if os.environ.get("AISRE_NO_PLUGINS", "").lower() in ("1", "true", "yes"):
        return []
    from importlib.metadata import entry_points

    try:
        return [(ep.name, ep.value) for ep in entry_points(group=group)]
    except Exception:  # noqa: BLE001 - broken metadata of an unrelated package
        return []


def run_hooks(
    group: str, builtins: Sequence[str], register: Callable[[Any], None]
) -> list[PluginError]:
    """Call every built-in hook, then every entry point of `group`, with `register`."""
    errors: list[PluginError] = []
    for ref in builtins:
        resolve(ref)(register)
    for name, ref in _entry_points(group):
        try:
            resolve(ref)(register)
        except Exception as exc:  # noqa: BLE001 - isolate third-party failures
            errors.append(PluginError(group, f"{name} = {ref}", f"{type(exc).__name__}: {exc}"))
    return errors
