"""Alertmanager API v2: alerts (AlertSource), alert groups and silences.

Reads `GET /api/v2/alerts` (active, silenced, inhibited and unprocessed alerts, with
the profile's matchers), `GET /api/v2/alerts/groups`, `GET /api/v2/silences`, and
writes silences (`POST /api/v2/silences`, `DELETE /api/v2/silence/{id}`); the writes
are used by runbook capabilities, always through the governance layer.

Alerts are normalised with the bundle reader's `alert_from_wire`, so a live alert and
the same alert read back from a captured bundle are identical. The raw wire bodies of
the last listing are kept (`last_wire`) for `aisre bundle capture`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from aisre_cli.errors import SourceError
from aisre_cli.model import Alert, SourceNote, utcnow
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS, AlertmanagerSource
from aisre_cli.sources.bundle import AlertIn, alert_from_wire
from aisre_cli.sources.catalog import SourceEnv, SourceType
from aisre_cli.sources.http import (
    Health,
    HttpSource,
    WriteOutcomeUnknown,
    parse_model,
    probe,
    user_auth,
)
from aisre_cli.sources.timeparse import iso


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Matcher(_Lenient):
    name: str
    value: str
    isRegex: bool = False  # noqa: N815 (wire name)
    isEqual: bool = True  # noqa: N815


class SilenceStatus(_Lenient):
    state: str


class Silence(_Lenient):
    """One element of `GET /api/v2/silences`."""

    id: str
    matchers: list[Matcher]
    startsAt: str  # noqa: N815
    endsAt: str  # noqa: N815
    createdBy: str = ""  # noqa: N815
    comment: str = ""
    status: SilenceStatus


class _Receiver(_Lenient):
    name: str


class AlertGroup(_Lenient):
    """One element of `GET /api/v2/alerts/groups`."""

    labels: dict[str, str] = Field(default_factory=dict)
    receiver: _Receiver
    alerts: list[AlertIn] = Field(default_factory=list)


class _Version(_Lenient):
    version: str = ""


class AmStatus(_Lenient):
    """`GET /api/v2/status` (the parts we show)."""

    versionInfo: _Version = Field(default_factory=_Version)  # noqa: N815
    uptime: str = ""


class _SilenceCreated(_Lenient):
    silenceID: str  # noqa: N815


class _AlertList(_Lenient):
    items: list[AlertIn]


class _GroupList(_Lenient):
    items: list[AlertGroup]


class _SilenceList(_Lenient):
    items: list[Silence]


class Alertmanager(HttpSource):
    """An Alertmanager v2 API. Implements `AlertSource`."""

    def __init__(
        self,
        cfg: AlertmanagerSource,
        *,
        service_labels: Sequence[str] = DEFAULT_SERVICE_LABELS,
        token: SecretStr | None = None,
        client: httpx.Client | None = None,
        budget_s: float = 20.0,
        name: str = "alertmanager",
    ) -> None:
        token, auth_format = user_auth(cfg.username, token)
        super().__init__(
            name, cfg, token=token, client=client, budget_s=budget_s, auth_format=auth_format
        )
        self.cfg = cfg
        self.service_labels = tuple(service_labels)
        self.last_wire: list[dict[str, Any]] = []

    def _filter_params(self, **flags: bool) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = [(k, "true" if v else "false") for k, v in flags.items()]
        params.extend(("filter", f) for f in self.cfg.filters)
        if self.cfg.receiver:
            params.append(("receiver", self.cfg.receiver))
        return params

    # AlertSource
    def list_alerts(
        self, *, active: bool = True, silenced: bool = True, inhibited: bool = True
    ) -> list[Alert]:
        params = self._filter_params(
            active=active, silenced=silenced, inhibited=inhibited, unprocessed=True
        )
        data = self.http.get_json("/api/v2/alerts", params)
        if not isinstance(data, list):
            parse_model(_AlertList, {"items": data}, self.name, "/api/v2/alerts")
        # One alert that cannot be read (a timestamp, a missing field) is skipped with a
        # partial note: it must not take every other firing alert down with it.
        out: list[Alert] = []
        wire: list[dict[str, Any]] = []
        skipped: list[str] = []
        for i, x in enumerate(data):
            try:
                a = AlertIn.model_validate(x)
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"]) or "$"
                skipped.append(f"alert #{i}: {loc}: {err['msg'].lower()}")
                continue
            try:
                out.append(alert_from_wire(a, self.service_labels, self.name))
            except ValueError as exc:
                skipped.append(f"alert {a.fingerprint}: unreadable timestamp ({exc})")
                continue
            wire.append(x)
        if skipped and not out:
            raise SourceError(
                f"{self.name}: no alert of /api/v2/alerts could be read ({skipped[0]})",
                hint="is the URL pointing at the right API (and version)?",
            )
        if skipped:
            more = f"; +{len(skipped) - 1} more" if len(skipped) > 1 else ""
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"skipped {len(skipped)} unreadable alert(s): {skipped[0]}{more}",
                )
            )
        self.last_wire = wire
        return out

    def alert_groups(self) -> list[AlertGroup]:
        params = self._filter_params(active=True, silenced=True, inhibited=True)
        data = self.http.get_json("/api/v2/alerts/groups", params)
        return parse_model(_GroupList, {"items": data}, self.name, "/api/v2/alerts/groups").items

    def silences(self, matchers: Sequence[str] = ()) -> list[Silence]:
        params = [("filter", m) for m in matchers]
        data = self.http.get_json("/api/v2/silences", params)
        return parse_model(_SilenceList, {"items": data}, self.name, "/api/v2/silences").items

    def create_silence(
        self,
        matchers: Sequence[Matcher],
        *,
        duration: timedelta,
        created_by: str,
        comment: str,
        starts_at: datetime | None = None,
    ) -> str:
        """Create a silence; returns its id. Never retried: after an ambiguous failure
        the silences are re-read and a matching one (same matchers, creator and
        comment) is reported instead of creating a duplicate."""
        start = starts_at or utcnow()
        body = {
            "matchers": [m.model_dump() for m in matchers],
            "startsAt": iso(start),
            "endsAt": iso(start + duration),
            "createdBy": created_by,
            "comment": comment,
        }
        try:
            resp = self.http.request("POST", "/api/v2/silences", json_body=body)
        except WriteOutcomeUnknown as exc:
            found = self._find_silence(matchers, created_by, comment)
            if found is not None:
                raise WriteOutcomeUnknown(
                    f"{exc.message}; re-read: silence {found.id} exists and is"
                    f" {found.status.state}, so the create did take effect",
                    hint="nothing to redo",
                ) from None
            raise WriteOutcomeUnknown(
                f"{exc.message}; re-read: no matching silence exists, so it was not created",
                hint="create it again once Alertmanager answers (`aisre doctor`)",
            ) from None
        return parse_model(
            _SilenceCreated, resp.json(self.name), self.name, "POST /api/v2/silences"
        ).silenceID

    def _find_silence(
        self, matchers: Sequence[Matcher], created_by: str, comment: str
    ) -> Silence | None:
        want = sorted((m.name, m.value, m.isRegex, m.isEqual) for m in matchers)
        try:
            for s in self.silences():
                got = sorted((m.name, m.value, m.isRegex, m.isEqual) for m in s.matchers)
                if (
                    got == want
                    and s.createdBy == created_by
                    and s.comment == comment
                    and s.status.state in ("active", "pending")
                ):
                    return s
        except SourceError:
            return None
        return None

    def expire_silence(self, silence_id: str) -> None:
        """Expire a silence. Idempotent on the server side, but still sent once."""
        try:
            self.http.request("DELETE", f"/api/v2/silence/{silence_id}", ok=(200, 204))
        except WriteOutcomeUnknown as exc:
            try:
                state = next((s.status.state for s in self.silences() if s.id == silence_id), None)
            except SourceError:
                state = None
            what = f"silence {silence_id} is now {state}" if state else "state unknown"
            raise WriteOutcomeUnknown(f"{exc.message}; re-read: {what}", hint=exc.hint) from None

    def status(self) -> AmStatus:
        return parse_model(
            AmStatus, self.http.get_json("/api/v2/status"), self.name, "/api/v2/status"
        )

    def check(self) -> Health:
        return probe(
            self.http,
            "/api/v2/status",
            lambda d: AmStatus.model_validate(d).versionInfo.version or None,
            needs_auth=self.cfg.token_name is not None,
        )


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """The `alertmanager` source type (sources/catalog.py)."""

    def build(cfg: AlertmanagerSource, env: SourceEnv) -> Alertmanager:
        return Alertmanager(
            cfg,
            token=env.token(cfg.token_name),
            service_labels=env.service_labels,
            client=env.client,
            budget_s=env.budget_s,
        )

    register(
        SourceType(
            "alertmanager",
            ("alerts",),
            build,
            AlertmanagerSource,
            summary="Alertmanager API v2: firing alerts, silences",
        )
    )
