"""PagerDuty REST API v2: open incidents and their alerts (AlertSource), log entries,
notes, acknowledge and resolve.

Reads `GET /incidents?statuses[]=triggered&statuses[]=acknowledged` and, for each
incident, `GET /incidents/{id}/alerts`. Classic pagination (`offset`, `limit`,
`more`): PagerDuty refuses `offset + limit > 10000`, so paging stops before that and
the listing is flagged as truncated (a partial note) instead of failing.

**How a PagerDuty alert merges with an Alertmanager alert** (`gather.dedupe_alerts`):
every key a PagerDuty alert is known by goes into `Alert.aliases`:

* `alert_key` (the Events API v2 `dedup_key`) and the incident's `incident_key`;
* `fingerprint` / `fingerprints` found in the alert's custom details
  (`body.details`, or `body.cef_details.details`).

So the convention is: make the PagerDuty alert key (or a `fingerprint` custom
detail) equal to the Alertmanager fingerprint. With Alertmanager's PagerDuty
receiver that is one line of config, e.g.
`details: {fingerprint: '{{ (index .Alerts 0).Fingerprint }}'}`; a pipeline that
sends events itself sets `dedup_key` to the fingerprint. Then `aisre alerts` shows
one row for the incident, listing both sources.

Writes (`add_note`, `acknowledge`, `resolve`) need the `From` header (a PagerDuty
user's email, `pagerduty.from_email`) and are never retried; after a timeout the
incident is re-read and the user is told what state it is actually in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aisre_cli.errors import AisreError, AuthError, ConfigError, SourceError
from aisre_cli.model import Alert, SourceNote
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS, PagerDutySource
from aisre_cli.sources.catalog import SourceEnv, SourceType
from aisre_cli.sources.http import Health, HttpSource, WriteOutcomeUnknown, parse_model, probe
from aisre_cli.sources.timeparse import TimestampError, to_datetime

MAX_OFFSET_WINDOW = 10_000
PAGE = 100
ACCEPT = "application/vnd.pagerduty+json;version=2"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Ref(_Lenient):
    id: str = ""
    type: str = ""
    summary: str = ""
    html_url: str | None = None


class Incident(_Lenient):
    """One element of `GET /incidents`."""

    id: str
    incident_number: int | None = None
    title: str = ""
    summary: str = ""
    status: str
    urgency: str | None = None
    incident_key: str | None = None
    created_at: str
    html_url: str | None = None
    service: Ref = Field(default_factory=Ref)
    priority: Ref | None = None


class _CefDetails(_Lenient):
    details: Any = None


class AlertBody(_Lenient):
    details: Any = None
    cef_details: _CefDetails | None = None
    contexts: list[Any] = Field(default_factory=list)


class PdAlert(_Lenient):
    """One element of `GET /incidents/{id}/alerts`."""

    id: str
    summary: str = ""
    status: str = "triggered"
    alert_key: str | None = None
    created_at: str
    severity: str | None = None
    html_url: str | None = None
    service: Ref = Field(default_factory=Ref)
    incident: Ref | None = None
    body: AlertBody | None = None


class LogEntry(_Lenient):
    id: str
    type: str
    summary: str = ""
    created_at: str
    agent: Ref | None = None
    channel: dict[str, Any] = Field(default_factory=dict)


class _Page(_Lenient):
    limit: int | None = None
    offset: int | None = None
    more: bool = False
    total: int | None = None


class _Incidents(_Page):
    incidents: list[Incident]


class _Alerts(_Page):
    alerts: list[PdAlert]


class _LogEntries(_Page):
    log_entries: list[LogEntry]


class _Note(_Lenient):
    id: str = ""
    content: str = ""
    created_at: str = ""


class _NoteResp(_Lenient):
    note: _Note


class _IncidentResp(_Lenient):
    incident: Incident


def _flat_str_dict(x: Any) -> dict[str, str]:
    if not isinstance(x, dict):
        return {}
    return {str(k): str(v) for k, v in x.items() if isinstance(v, str | int | float | bool)}


class PagerDuty(HttpSource):
    """PagerDuty REST API v2. Implements `AlertSource`."""

    def __init__(
        self,
        cfg: PagerDutySource,
        *,
        service_labels: Sequence[str] = DEFAULT_SERVICE_LABELS,
        token: SecretStr | None = None,
        client: httpx.Client | None = None,
        budget_s: float = 20.0,
        name: str = "pagerduty",
    ) -> None:
        super().__init__(
            name,
            cfg,
            token=token,
            client=client,
            budget_s=budget_s,
            auth_format="Token token={token}",
            headers={"Accept": ACCEPT},
        )
        self.cfg = cfg
        self.service_labels = tuple(service_labels)

    def _auth(self) -> dict[str, str]:
        """No extra headers: the token is in `self.http`; refuse early when there is none."""
        if self.http.token is None:
            raise AuthError(
                f"{self.name}: no API token stored (token name {self.cfg.token_name!r})",
                hint=f"run `aisre auth set {self.cfg.token_name}`",
            )
        return {}

    # ---------------------------------------------------------------- pagination

    def _paged(
        self, path: str, params: list[tuple[str, str]], key: str, deadline: float
    ) -> tuple[list[dict[str, Any]], bool]:
        """All items of a classic-paginated list; (items, truncated)."""
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            if offset + PAGE > MAX_OFFSET_WINDOW:
                return out, True
            page_params = [*params, ("limit", str(PAGE)), ("offset", str(offset))]
            data = self.http.get_json(path, page_params, deadline=deadline, headers=self._auth())
            page = parse_model(_Page, data, self.name, path)
            items = data.get(key) if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise SourceError(f"{self.name}: {path}: answer has no `{key}` list")
            out.extend(x for x in items if isinstance(x, dict))
            if not page.more or not items:
                return out, False
            offset += len(items)

    def incidents(self, deadline: float | None = None) -> tuple[list[Incident], bool]:
        dl = deadline if deadline is not None else self.http.deadline()
        params = [("statuses[]", "triggered"), ("statuses[]", "acknowledged")]
        params += [("service_ids[]", s) for s in self.cfg.service_ids]
        params += [("sort_by", "created_at:desc"), ("total", "false")]
        raw, truncated = self._paged("/incidents", params, "incidents", dl)
        wrapped = parse_model(_Incidents, {"incidents": raw}, self.name, "/incidents")
        return wrapped.incidents, truncated

    def incident_alerts(self, incident_id: str, deadline: float | None = None) -> list[PdAlert]:
        dl = deadline if deadline is not None else self.http.deadline()
        path = f"/incidents/{incident_id}/alerts"
        raw, truncated = self._paged(path, [("statuses[]", "triggered")], "alerts", dl)
        if truncated:
            self._notes.append(
                SourceNote(self.name, "partial", f"incident {incident_id}: alerts truncated")
            )
        return parse_model(_Alerts, {"alerts": raw}, self.name, path).alerts

    def log_entries(self, incident_id: str) -> list[LogEntry]:
        path = f"/incidents/{incident_id}/log_entries"
        raw, truncated = self._paged(path, [], "log_entries", self.http.deadline())
        if truncated:
            self._notes.append(
                SourceNote(self.name, "partial", f"incident {incident_id}: log truncated")
            )
        return parse_model(_LogEntries, {"log_entries": raw}, self.name, path).log_entries

    # ---------------------------------------------------------------- AlertSource

    def list_alerts(self) -> list[Alert]:
        from aisre_cli.sources.tracing import GATHER_DEADLINE

        # the incident list and every incident's alerts share one deadline: the source's
        # budget, or the gather's end when that comes first (`triage --budget`), so no
        # request outlives the gather that asked for it
        dl = self.http.deadline()
        cap = GATHER_DEADLINE.get()
        if cap is not None:
            dl = min(dl, cap)
        incidents, truncated = self.incidents(dl)
        if truncated:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"more than {MAX_OFFSET_WINDOW} open incidents: the listing is truncated",
                )
            )
        out: list[Alert] = []
        shown = incidents[: self.cfg.max_incidents]
        rest = incidents[len(shown) :]
        if rest:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"{len(incidents)} open incidents: read the alerts of the newest"
                    f" {len(shown)} (pagerduty.max_incidents); the other {len(rest)} are"
                    " listed as incidents",
                )
            )

        def fetch(inc: Incident) -> list[PdAlert] | AisreError:
            try:
                return self.incident_alerts(inc.id, dl)
            except AisreError as exc:
                return exc

        # A few incidents at a time: N+1 requests, each bounded by the same deadline.
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="pd") as pool:
            fetched = list(pool.map(fetch, shown))
        for inc, got in zip(shown, fetched, strict=True):
            if isinstance(got, AuthError):
                raise got
            if isinstance(got, AisreError):
                self._notes.append(
                    SourceNote(self.name, "partial", f"incident {inc.id}: {got.message}")
                )
                got = []
            if not got:
                out.append(self._incident_as_alert(inc))
            for a in got:
                out.append(self._alert(inc, a, sole=len(got) == 1))
        # an open incident is never dropped from the inbox: past max_incidents it is
        # listed by itself, without the requests for its alerts
        out.extend(self._incident_as_alert(inc) for inc in rest)
        return out

    def _details(self, a: PdAlert) -> dict[str, Any]:
        if a.body is None:
            return {}
        if isinstance(a.body.details, dict):
            return a.body.details
        if a.body.cef_details is not None and isinstance(a.body.cef_details.details, dict):
            return a.body.cef_details.details
        return {}

    def _alert(self, inc: Incident, a: PdAlert, *, sole: bool = True) -> Alert:
        """`sole`: the incident has no other alert. Its `incident_key` (the key of the
        alert that opened it) is an alias of its sole alert only: given to every alert
        of a merged incident, it made them one alert in `dedupe_alerts`."""
        details = self._details(a)
        labels = _flat_str_dict(details.get("labels")) or _flat_str_dict(details)
        labels.setdefault("alertname", str(details.get("alertname") or a.summary or inc.title))
        labels["pagerduty_incident"] = str(inc.incident_number or inc.id)
        labels["pagerduty_service"] = a.service.summary or inc.service.summary
        if a.severity:
            labels.setdefault("severity", a.severity)
        aliases: list[str] = []
        keys = [a.alert_key, inc.incident_key] if sole else [a.alert_key]
        for key in keys:
            if key and key not in aliases:
                aliases.append(key)
        fps = details.get("fingerprints") or details.get("fingerprint")
        for fp in fps if isinstance(fps, list) else [fps]:
            if isinstance(fp, str) and fp and fp not in aliases:
                aliases.append(fp)
        service = None
        for lbl in self.service_labels:
            if labels.get(lbl):
                service = labels[lbl]
                break
        return Alert(
            id=f"pd-{a.id}",
            name=labels["alertname"],
            service=service or (a.service.summary or None),
            severity=(a.severity or labels.get("severity") or "none").lower(),
            state="active",
            labels=labels,
            annotations={"summary": a.summary or inc.title},
            starts_at=self._ts(a.created_at),
            generator_url=a.html_url or inc.html_url,
            source=self.name,
            aliases=aliases,
            sources=[self.name],
        )

    def _incident_as_alert(self, inc: Incident) -> Alert:
        labels = {
            "alertname": inc.title or inc.summary or inc.id,
            "pagerduty_incident": str(inc.incident_number or inc.id),
            "pagerduty_service": inc.service.summary,
        }
        return Alert(
            id=f"pd-{inc.id}",
            name=labels["alertname"],
            service=inc.service.summary or None,
            severity="critical" if inc.urgency == "high" else "warning",
            labels=labels,
            annotations={"summary": inc.title},
            starts_at=self._ts(inc.created_at),
            generator_url=inc.html_url,
            source=self.name,
            aliases=[inc.incident_key] if inc.incident_key else [],
            sources=[self.name],
        )

    def _ts(self, value: str) -> datetime:
        try:
            return to_datetime(value)
        except TimestampError as exc:
            raise SourceError(f"{self.name}: unreadable timestamp: {exc}") from None

    # ---------------------------------------------------------------- writes

    def _from(self) -> dict[str, str]:
        if not self.cfg.from_email:
            raise ConfigError(
                f"{self.name}: writes need the From header (a PagerDuty user's email)",
                hint="set pagerduty.from_email in the profile (`aisre config init`)",
            )
        return {"From": self.cfg.from_email, **self._auth()}

    def get_incident(self, incident_id: str) -> Incident:
        data = self.http.get_json(f"/incidents/{incident_id}", headers=self._auth())
        return parse_model(_IncidentResp, data, self.name, "/incidents/{id}").incident

    def add_note(self, incident_id: str, content: str) -> str:
        """Add a note; returns its id. Sent once; on timeout the notes are re-read."""
        path = f"/incidents/{incident_id}/notes"
        try:
            resp = self.http.request(
                "POST",
                path,
                json_body={"note": {"content": content}},
                headers=self._from(),
                ok=(200, 201),
            )
        except WriteOutcomeUnknown as exc:
            try:
                data = self.http.get_json(path, headers=self._auth())
                notes = data.get("notes", []) if isinstance(data, dict) else []
                there = any(isinstance(n, dict) and n.get("content") == content for n in notes)
                found = "the note is there" if there else "the note is not there"
            except SourceError:
                found = "could not re-read the notes"
            raise WriteOutcomeUnknown(f"{exc.message}; re-read: {found}", hint=exc.hint) from None
        return parse_model(_NoteResp, resp.json(self.name), self.name, path).note.id

    def set_status(self, incident_id: str, status: Literal["acknowledged", "resolved"]) -> Incident:
        body = {"incident": {"type": "incident_reference", "status": status}}
        path = f"/incidents/{incident_id}"
        try:
            resp = self.http.request("PUT", path, json_body=body, headers=self._from())
        except WriteOutcomeUnknown as exc:
            try:
                now = self.get_incident(incident_id).status
                found = f"the incident is now {now}"
            except SourceError:
                found = "could not re-read the incident"
            raise WriteOutcomeUnknown(f"{exc.message}; re-read: {found}", hint=exc.hint) from None
        return parse_model(_IncidentResp, resp.json(self.name), self.name, path).incident

    def acknowledge(self, incident_id: str) -> Incident:
        return self.set_status(incident_id, "acknowledged")

    def resolve(self, incident_id: str) -> Incident:
        return self.set_status(incident_id, "resolved")

    def check(self) -> Health:
        h = probe(self.http, "/abilities", lambda d: "REST v2", needs_auth=True)
        if h.authenticated is False and self.http.token is None:
            h.hint = f"run `aisre auth set {self.cfg.token_name}`"
        return h


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """The `pagerduty` source type (sources/catalog.py)."""

    def build(cfg: PagerDutySource, env: SourceEnv) -> PagerDuty:
        return PagerDuty(
            cfg,
            token=env.token(cfg.token_name),
            service_labels=env.service_labels,
            client=env.client,
            budget_s=env.budget_s,
        )

    register(
        SourceType(
            "pagerduty",
            ("alerts",),
            build,
            PagerDutySource,
            summary="PagerDuty REST API v2: open incidents and their alerts",
        )
    )
