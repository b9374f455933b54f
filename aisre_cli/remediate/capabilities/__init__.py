"""The capability registry: the closed set of things a runbook step can do.

`default_registry()` returns the built-ins. A `Registry` is a plain mapping from
name to `Capability`; tests (and, later, plugins through a `register_capabilities`
hook) can build their own. Nothing else can act: the executor only ever calls
`registry.get(name).execute(...)`.
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
    Preview,
    Scope,
    UndoCall,
)

__all__ = [
    "SCOPES",
    "Action",
    "Capability",
    "CapabilityError",
    "ExecContext",
    "Preview",
    "Registry",
    "Scope",
    "UndoCall",
    "default_registry",
]


class Registry:
    """Capabilities by name."""

    def __init__(self, caps: Iterable[Capability] = ()) -> None:
        self._caps: dict[str, Capability] = {}
        for c in caps:
            self.add(c)

    def add(self, cap: Capability) -> None:
        if cap.name in self._caps:
            raise ValueError(f"capability {cap.name!r} registered twice")
        self._caps[cap.name] = cap

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


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    global _DEFAULT
    if _DEFAULT is None:
        from aisre_cli.remediate.capabilities import kubectl, local, web

        _DEFAULT = Registry(
            [
                kubectl.KubectlGet(),
                kubectl.KubectlRolloutStatus(),
                kubectl.KubectlWaitCondition(),
                kubectl.KubectlRolloutUndo(),
                kubectl.KubectlRolloutRestart(),
                kubectl.KubectlScale(),
                kubectl.KubectlCertRenew(),
                kubectl.KubectlPvcResize(),
                web.PrometheusQuery(),
                web.SilenceCreate(),
                web.SilenceExpire(),
                web.PdNote(),
                web.PdAcknowledge(),
                web.PdEscalate(),
                web.HttpRequest(),
                local.Exec(),
                local.Wait(),
                local.Notify(),
            ]
        )
    return _DEFAULT
