"""The source types aisre knows, as a table: config model, factory and roles.

Each source module declares its type next to its class and registers it with a hook
(`register_sources(register)`); `live_sources` (sources/live.py) loops over the
table. Built-ins go through the same path as a plugin's `aisre.sources` entry point
(settings/plugins.py), so adding a source type is: its module (class, config model,
`register_sources`), its contract server, its tests, and one line in `BUILTIN` below.
See docs/adding-a-source.md.

A type's configuration is the profile's `sources.<key>`. The built-ins have typed
fields on `settings.config.Sources`; any other key is validated here with the type's
own `config` model, so a plugin needs no change to aisre's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aisre_cli.errors import ConfigError
from aisre_cli.settings.plugins import SOURCES_GROUP, PluginError, run_hooks

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel, SecretStr

Role = Literal["alerts", "metrics", "logs", "changes", "topology", "traces", "events"]
ROLES: tuple[Role, ...] = (
    "alerts",
    "metrics",
    "logs",
    "changes",
    "topology",
    "traces",
    "events",
)

BUILTIN: tuple[str, ...] = (
    # order matters: in `alerts`, Alertmanager before PagerDuty (gather.dedupe_alerts
    # keeps the first source's id when the same incident is seen through both)
    "aisre_cli.sources.alertmanager:register_sources",
    "aisre_cli.sources.pagerduty:register_sources",
    "aisre_cli.sources.prometheus:register_sources",
    "aisre_cli.sources.loki:register_sources",
    "aisre_cli.sources.github:register_sources",
    "aisre_cli.sources.changefile:register_sources",
    "aisre_cli.sources.tempo:register_sources",
    "aisre_cli.sources.jaeger:register_sources",
    "aisre_cli.sources.kubernetes:register_sources",
)


@dataclass(frozen=True, slots=True)
class SourceEnv:
    """What every factory gets besides its own config."""

    service_labels: tuple[str, ...]
    budget_s: float
    client: httpx.Client | None = None
    token: Callable[[str | None], SecretStr | None] = field(default=lambda _name: None)
    include_defaults: bool = True
    """Build the types that have a `default` when they are not configured."""
    kube_context: str | None = None
    """The profile's kubeconfig context (`kube_context`), for Kubernetes-aware types."""
    namespace: str | None = None
    """The profile's Kubernetes namespace."""


@dataclass(frozen=True, slots=True)
class SourceType:
    key: str
    """The key under a profile's `sources:` (`prometheus`)."""
    roles: tuple[Role, ...]
    """The SourceSet lists the built object joins, in this order."""
    build: Callable[[Any, SourceEnv], object]
    """(validated config, env) → the connector; no I/O."""
    config: type[BaseModel] | None = None
    """Validates `sources.<key>` when `Sources` has no typed field for it."""
    default: Callable[[SourceEnv], object | None] | None = None
    """Builds the source when the profile does not configure it (the change feed)."""
    summary: str = ""


@dataclass
class Catalog:
    types: dict[str, SourceType] = field(default_factory=dict)
    errors: list[PluginError] = field(default_factory=list)

    def add(self, t: SourceType) -> None:
        if t.key in self.types:
            raise ValueError(f"source type {t.key!r} registered twice")
        unknown = [r for r in t.roles if r not in ROLES]
        if unknown or not t.roles:
            raise ValueError(f"source type {t.key!r}: roles {t.roles!r} (known: {ROLES})")
        self.types[t.key] = t


_CATALOG: Catalog | None = None


def catalog() -> Catalog:
    """Every registered source type (loaded once, on first use)."""
    global _CATALOG
    if _CATALOG is None:
        cat = Catalog()
        cat.errors = run_hooks(SOURCES_GROUP, BUILTIN, cat.add)
        _CATALOG = cat
    return _CATALOG


def reset_catalog() -> None:
    """Forget the loaded table (tests that install a plugin)."""
    global _CATALOG
    _CATALOG = None


def configured(sources: Any, t: SourceType) -> Any:
    """The profile's config for type `t`, validated; None when absent."""
    if t.key in type(sources).model_fields:  # a built-in with a typed field
        return getattr(sources, t.key, None)
    value = (getattr(sources, "model_extra", None) or {}).get(t.key)
    if value is not None and t.config is not None:
        from pydantic import ValidationError

        from aisre_cli.settings.config import validation_message

        try:
            value = t.config.model_validate(value)
        except ValidationError as exc:
            raise ConfigError(
                f"sources.{t.key}.{validation_message(exc)}",
                hint="see the source type's documentation for its fields",
            ) from None
    return value


def check_keys(sources: Any) -> None:
    """Refuse a `sources.<key>` that no registered type reads (a typo, or a plugin
    that is not installed or failed to load)."""
    cat = catalog()
    extra = getattr(sources, "model_extra", None) or {}
    unknown = [k for k in extra if k not in cat.types]
    if unknown:
        hint = "; ".join(e.render() for e in cat.errors) or (
            "a plugin source needs its package installed (entry point group aisre.sources)"
        )
        known = ", ".join(sorted({*cat.types, "bundle"}))
        raise ConfigError(f"sources.{unknown[0]}: no such source type (known: {known})", hint=hint)
