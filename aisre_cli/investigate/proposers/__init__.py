"""Hypothesis-kind proposers: one small rule per kind, in a registry.

Each proposer reads one `scene.ServiceView` (the shared per-service features) and
returns the candidates of its kind at that service, with the kind's own signal
(`kind_signal`) and evidence. Built-in proposers register through `register`, the
same path a third-party kind would use; `all_proposers()` returns them in a stable
order. Adding a kind means one new module here and its tests.
"""

from __future__ import annotations

from collections.abc import Callable

from aisre_cli.investigate.evidence import Candidate
from aisre_cli.investigate.scene import Scene, ServiceView

ProposeFn = Callable[[Scene, ServiceView], list[Candidate]]
_REGISTRY: dict[str, ProposeFn] = {}


def register(name: str) -> Callable[[ProposeFn], ProposeFn]:
    """Register a proposer under a unique name (a later registration replaces it)."""

    def deco(fn: ProposeFn) -> ProposeFn:
        _REGISTRY[name] = fn
        return fn

    return deco


def all_proposers() -> dict[str, ProposeFn]:
    _load_builtins()
    return dict(_REGISTRY)


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from aisre_cli.investigate.proposers import (  # noqa: F401 (registration side effect)
        certificate,
        changes,
        crash_loop,
        dependency,
        fallback,
        network,
        saturation,
        traffic,
    )
