"""The capability registry: the closed set of things a runbook step can do.

`default_registry()` returns the built-ins and the capabilities of installed plugins,
both registered by a `register_capabilities(register)` hook (the built-ins' are in
kubectl.py, web.py and local.py; a plugin's is an entry point in the
`aisre.capabilities` group). A `Registry` is a plain mapping from name to
`Capability`; tests can build their own. Nothing else can act: the executor only ever calls
`registry.get(name).execute(...)`.

The registry also knows which capabilities a plugin provides (`Registry.plugin`): the
loader marks them when it registers them (`settings.plugins.plugin_of`), so nothing a
plugin declares about itself can make it pass for a built-in. Governance uses the mark
(a plugin's declared `read` or `handoff` counts only when the policy trusts it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aisre_cli.errors import UsageError
from aisre_cli.remediate.capabilities.base import (
    SCOPES,
    Action,
    Capability,
    CapabilityError,
    ExecContext,
    Permission,
    Preview,
    Scope,
    Target,
    UndoCall,
    target_of,
    unpinned_reason,
)
from aisre_cli.settings.plugins import CAPABILITIES_GROUP, PluginError, plugin_of, run_hooks

__all__ = [
    "SCOPES",
    "Action",
    "Capability",
    "CapabilityError",
    "ExecContext",
    "Permission",
    "Preview",
    "Registry",
    "Scope",
    "Target",
    "UndoCall",
    "target_of",
    "unpinned_reason",
    "default_registry",
    "plugin_errors",
]


class Registry:
    """Capabilities by name, and which of them come from a plugin."""

    def __init__(self, caps: Iterable[Capability] = ()) -> None:
        self._caps: dict[str, Capability] = {}
        self._plugins: dict[str, str] = {}
        for c in caps:
            self.add(c)

    def add(self, cap: Capability, *, plugin: str | None = None) -> None:
        """Register `cap`. It is a plugin's when `plugin` names the plugin, or when the
        plugin loader registered it (`plugin_of`); never because of anything it sets."""
        if cap.name in self._caps:
            raise ValueError(f"capability {cap.name!r} registered twice")
        self._caps[cap.name] = cap
        origin = plugin or plugin_of(cap)
        if origin:
            self._plugins[cap.name] = origin

    def plugin(self, name: str) -> str | None:
        """`plugin NAME = module:hook (package DIST)` for a capability a plugin
        provides, None for a built-in (or a name not registered)."""
        return self._plugins.get(name)

    def get(self, name: str) -> Capability:
        try:
            return self._caps[name]
        except KeyError:
            raise UsageError(
                f"unknown capability {name!r}", hint="`aisre runbook capabilities` lists them"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._caps

    def __iter__(self) -> Iterator[Capability]:
        return iter(sorted(self._caps.values(), key=lambda c: c.name))

    def names(self) -> list[str]:
        return sorted(self._caps)


BUILTIN: tuple[str, ...] = (
    "aisre_cli.remediate.capabilities.kubectl:register_capabilities",
    "aisre_cli.remediate.capabilities.web:register_capabilities",
    "aisre_cli.remediate.capabilities.local:register_capabilities",
)
"""Hooks of the built-in capabilities: loaded exactly like a plugin's entry point in
the `aisre.capabilities` group (settings/plugins.py)."""

_DEFAULT: Registry | None = None
_ERRORS: list[PluginError] = []


def default_registry() -> Registry:
    """The built-ins, then every installed plugin's capabilities (loaded once)."""
    global _DEFAULT, _ERRORS
    if _DEFAULT is None:
        reg = Registry()
        _ERRORS = run_hooks(CAPABILITIES_GROUP, BUILTIN, reg.add)
        _DEFAULT = reg
    return _DEFAULT


def plugin_errors() -> list[PluginError]:
    """Capability plugins that failed to load (their capabilities are unknown)."""
    default_registry()
    return list(_ERRORS)
