"""Hostile source plugins (tests/test_plugin_hardening.py): what an `aisre.sources`
entry point of a badly written package could hand aisre.

- `hardalerts`: well behaved; one firing alert (`ALERT`), so a triage has one to work on;
- `hardhang`: its `fetch_logs` and its `check` wait forever (`threading.Event().wait()`:
  nothing ever sets it), optionally with a `timeout_s` of its own for `aisre doctor`;
- `hardjunk`: plays every role; the method named by `method` answers the garbage named
  by `shape` (`GARBAGE`), every other one a valid empty answer.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from aisre_cli.model import Alert, Change, Event, LogTable, Series, SourceNote, Span, Topology
from aisre_cli.sources.catalog import Role, SourceEnv, SourceType

ALERT = "HardeningAlert"
ALERT_ID = "feedc0ffee000001"


def _now() -> datetime:
    return datetime.now(UTC)


def _alert(**fields: Any) -> Alert:
    """An alert built without validation, as careless plugin code might build one."""
    base: dict[str, Any] = {
        "id": "junk0000000000001",
        "name": "JunkAlert",
        "service": "api",
        "severity": "warning",
        "state": "active",
        "labels": {},
        "annotations": {},
        "starts_at": _now() - timedelta(minutes=3),
        "source": "hardjunk",
    }
    return Alert.model_construct(**{**base, **fields})


def _change() -> Change:
    return Change(id="c1", ts=_now() - timedelta(minutes=4), service="api", kind="deploy")


def _ragged_logs() -> LogTable:
    table = LogTable(files=["x.log"])
    table.msg.extend(["one", "two"])  # two messages, no timestamp, service or level
    return table


def _hostile_class() -> list[object]:
    kind = type("\x1b[31mEvil\nClass", (), {})
    return [kind()]


GARBAGE: dict[str, tuple[str, Callable[[], Any]]] = {
    # shape: (the method that answers it, the answer)
    "dict-for-list": ("fetch_changes", lambda: {"id": "c1", "service": "api"}),
    "strings": ("fetch_logs", lambda: ["line one", "line two"]),
    "ints": ("fetch_events", lambda: [1, 2, 3]),
    "none": ("fetch_topology", lambda: None),
    "wrong-class": ("fetch_spans", lambda: [_change()]),
    "hostile-class": ("fetch_changes", _hostile_class),
    "nan-alert": ("list_alerts", lambda: [_alert(starts_at=math.nan)]),
    "inf-alert": ("list_alerts", lambda: [_alert(starts_at=math.inf)]),
    "label-not-str": ("list_alerts", lambda: [_alert(labels={"team": 7})]),
    "hostile-label": ("list_alerts", lambda: [_alert(labels={"\x1b[2J\nteam": 7})]),
    "nan-span": (
        "fetch_spans",
        lambda: [Span("t1", "s1", None, "api", "GET /", math.nan, 5.0, False)],
    ),
    "inf-series-time": (
        "fetch_series",
        lambda: ([Series("up", "api", {}, [math.inf], [1.0])], []),
    ),
    "series-not-pair": ("fetch_series", lambda: [Series("up", "api", {}, [1.0], [1.0])]),
    "ragged-logs": ("fetch_logs", _ragged_logs),
    "event-count": (
        "fetch_events",
        lambda: [Event(ts=1.0, service="api", reason="OOMKilled", count="many")],  # type: ignore[arg-type]
    ),
    "topology-ints": ("fetch_topology", lambda: Topology.model_construct(depends_on={"api": [1]})),  # type: ignore[list-item]
}


class AlertsConfig(BaseModel):
    service: str = "api"


class GoodAlerts:
    name = "hardalerts"

    def __init__(self, cfg: AlertsConfig) -> None:
        self.cfg = cfg

    def list_alerts(self) -> list[Alert]:
        return [
            Alert(
                id=ALERT_ID,
                name=ALERT,
                service=self.cfg.service,
                severity="critical",
                labels={"alertname": ALERT, "service": self.cfg.service},
                starts_at=_now() - timedelta(minutes=5),
                source=self.name,
            )
        ]

    def check(self) -> Any:
        from aisre_cli.sources.http import Health

        return Health(self.name, "plugin://hardalerts", True, None, "1.0", 1.0)


class HangConfig(BaseModel):
    timeout_s: float | None = None


class Hang:
    name = "hardhang"

    def __init__(self, cfg: HangConfig) -> None:
        if cfg.timeout_s is not None:
            self.timeout_s = cfg.timeout_s

    def fetch_logs(self, start: datetime, end: datetime, services: set[str] | None) -> LogTable:
        threading.Event().wait()  # nothing sets it: this never returns
        return LogTable()

    def check(self) -> Any:
        threading.Event().wait()
        raise AssertionError("unreachable")


class JunkConfig(BaseModel):
    shape: str = "none"


class Junk:
    name = "hardjunk"

    def __init__(self, cfg: JunkConfig) -> None:
        self.method, self.make = GARBAGE[cfg.shape]

    def _answer(self, method: str, valid: Any) -> Any:
        return self.make() if method == self.method else valid

    def list_alerts(self) -> Any:
        return self._answer("list_alerts", [])

    def fetch_series(self, start: datetime, end: datetime, services: set[str] | None) -> Any:
        notes: list[SourceNote] = []
        return self._answer("fetch_series", ([], notes))

    def fetch_logs(self, start: datetime, end: datetime, services: set[str] | None) -> Any:
        return self._answer("fetch_logs", LogTable())

    def fetch_changes(self, start: datetime, end: datetime) -> Any:
        return self._answer("fetch_changes", [])

    def fetch_topology(self) -> Any:
        return self._answer("fetch_topology", Topology())

    def fetch_spans(self, start: datetime, end: datetime, services: set[str] | None = None) -> Any:
        return self._answer("fetch_spans", [])

    def fetch_events(self, start: datetime, end: datetime, services: set[str] | None) -> Any:
        return self._answer("fetch_events", [])


ALL_ROLES: tuple[Role, ...] = (
    "alerts",
    "metrics",
    "logs",
    "changes",
    "topology",
    "traces",
    "events",
)


def register_sources(register: Callable[[SourceType], None]) -> None:
    def alerts(cfg: AlertsConfig, env: SourceEnv) -> GoodAlerts:
        return GoodAlerts(cfg)

    def hang(cfg: HangConfig, env: SourceEnv) -> Hang:
        return Hang(cfg)

    def junk(cfg: JunkConfig, env: SourceEnv) -> Junk:
        return Junk(cfg)

    register(SourceType("hardalerts", ("alerts",), alerts, AlertsConfig))
    register(SourceType("hardhang", ("logs",), hang, HangConfig))
    register(SourceType("hardjunk", ALL_ROLES, junk, JunkConfig))
