"""Build the source objects of a profile.

`SourceSet` groups the configured sources by protocol. With `--bundle DIR` (or the
demo profile) a single `BundleSource` plays every role. Live connectors are created
here from the profile's `sources` section; their modules are imported only when
configured, so a bundle-only run never imports httpx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aisre_cli.errors import ConfigError
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS, InputLimits, Profile
from aisre_cli.sources import (
    AlertSource,
    ChangeSource,
    EventSource,
    LogSource,
    MetricSource,
    TopologySource,
    TraceSource,
)
from aisre_cli.sources.bundle import BundleSource
from aisre_cli.sources.catalog import Role

_PROTOCOLS: dict[Role, type] = {
    "alerts": AlertSource,
    "metrics": MetricSource,
    "logs": LogSource,
    "changes": ChangeSource,
    "topology": TopologySource,
    "traces": TraceSource,
    "events": EventSource,
}


@dataclass
class SourceSet:
    alerts: list[AlertSource] = field(default_factory=list)
    metrics: list[MetricSource] = field(default_factory=list)
    logs: list[LogSource] = field(default_factory=list)
    changes: list[ChangeSource] = field(default_factory=list)
    topology: list[TopologySource] = field(default_factory=list)
    traces: list[TraceSource] = field(default_factory=list)
    events: list[EventSource] = field(default_factory=list)
    bundle: BundleSource | None = None
    """Set when the whole set is one offline bundle."""

    def add(self, role: Role, source: object) -> None:
        """Put `source` in the list of `role`, checking it implements the protocol."""
        proto = _PROTOCOLS[role]
        if not isinstance(source, proto):
            # only a plugin's factory can get here: say which one, in one line
            cls = type(source)
            name = getattr(source, "name", None)
            what = f"source {name!r}" if isinstance(name, str) else "a source"
            wanted = [*getattr(proto, "__annotations__", {}), *vars(proto)]
            missing = [m for m in wanted if not m.startswith("_") and not hasattr(source, m)]
            lacks = f" (no {', '.join(dict.fromkeys(missing))})" if missing else ""
            raise ConfigError(
                f"{what} built by {cls.__module__}.{cls.__qualname__} serves {role}"
                f" but is no {proto.__name__}{lacks}",
                hint="remove its key from the profile's sources (`aisre config edit`)"
                " until the plugin that provides it is fixed (docs/adding-a-source.md)",
            )
        group: list[object] = getattr(self, role)
        group.append(source)

    def names(self) -> list[str]:
        seen: list[str] = []
        groups = (self.alerts, self.metrics, self.logs, self.changes, self.topology)
        for group in (*groups, self.traces, self.events):
            for s in group:
                if s.name not in seen:
                    seen.append(s.name)
        return seen


def bundle_set(
    path: Path | str, service_labels: list[str] | None = None, limits: InputLimits | None = None
) -> SourceSet:
    b = BundleSource(path, service_labels or list(DEFAULT_SERVICE_LABELS), limits)
    return SourceSet(
        alerts=[b],
        metrics=[b],
        logs=[b],
        changes=[b],
        topology=[b],
        traces=[b],
        events=[b],
        bundle=b,
    )


def build_sources(profile: Profile, bundle: Path | None = None) -> SourceSet:
    """The sources for one run. `bundle` (from --bundle) overrides the profile."""
    if bundle is not None:
        return bundle_set(bundle, profile.service_labels, profile.limits)
    if profile.sources.bundle:
        return bundle_set(
            Path(profile.sources.bundle).expanduser(), profile.service_labels, profile.limits
        )
    from aisre_cli.sources.live import live_sources

    return live_sources(profile)
