"""All outside I/O. One module per system; each implements one or more protocols.

The protocols are deliberately small so a new system (or a plugin) is a class with
one or two methods. Every method raises `SourceError`/`AuthError` on failure; the
gather stage turns those into degradation notes, so one broken source never stops a
triage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from aisre_cli.model import (
    Alert,
    Change,
    Event,
    LogTable,
    Series,
    SourceNote,
    Span,
    Topology,
)


@runtime_checkable
class AlertSource(Protocol):
    name: str

    def list_alerts(self) -> list[Alert]:
        """Currently firing alerts (active, silenced and inhibited)."""
        ...


@runtime_checkable
class MetricSource(Protocol):
    name: str

    def fetch_series(
        self, start: datetime, end: datetime, services: set[str] | None
    ) -> tuple[list[Series], list[SourceNote]]:
        """Series for the services (None: all) in [start, end], plus partial-data notes."""
        ...


@runtime_checkable
class LogSource(Protocol):
    name: str

    def fetch_logs(self, start: datetime, end: datetime, services: set[str] | None) -> LogTable:
        """Log records for the services (None: all) in [start, end]."""
        ...


@runtime_checkable
class ChangeSource(Protocol):
    name: str

    def fetch_changes(self, start: datetime, end: datetime) -> list[Change]:
        """Change events (deploys, config, flags, infra, scaling) in [start, end]."""
        ...


@runtime_checkable
class TopologySource(Protocol):
    name: str

    def fetch_topology(self) -> Topology:
        """Who calls whom."""
        ...


@runtime_checkable
class TraceSource(Protocol):
    name: str

    def fetch_spans(
        self, start: datetime, end: datetime, services: set[str] | None = None
    ) -> list[Span]:
        """Spans in [start, end] of traces that involve `services` (None: any service).

        `services` is a hint for a backend that must sample (Tempo, Jaeger): the gather
        passes the alert's service and its topology neighbours. A source may return
        more (whole traces, or everything it holds, like a bundle). It was added after
        the protocol shipped: a plugin whose `fetch_spans(start, end)` takes no
        `services` still works (the gather only passes it to methods that accept it)."""
        ...


@runtime_checkable
class EventSource(Protocol):
    name: str

    def fetch_events(
        self, start: datetime, end: datetime, services: set[str] | None
    ) -> list[Event]:
        """Cluster events and pod-state observations for the services (None: all)."""
        ...


@runtime_checkable
class WireAlerts(Protocol):
    """An alert source that keeps its last listing in the Alertmanager v2 wire shape,
    so `aisre bundle capture` writes it as received."""

    last_wire: list[dict[str, Any]]
