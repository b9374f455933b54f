"""PagerDuty REST API v2 subset: incidents, incident alerts, log entries, notes,
status updates, abilities.

Shapes follow https://developer.pagerduty.com/api-reference/ : `Authorization: Token
token=...`, classic pagination (`limit` ≤ 100, `offset`, `more`; `offset + limit`
above 10,000 is a 400 "Offset must be less than 10000"), errors as
`{"error": {"message", "code", "errors": [...]}}`, writes require `From`.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

from tests.contract_servers.base import ContractServer, Reply, Request, paginate_offset

MAX_OFFSET = 10_000
_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PagerDutyServer(ContractServer):
    name = "pagerduty"

    def __init__(self, token: str = "pd-test-token", email: str = "oncall@example.com"):
        self.token = token
        self.email = email
        self.incidents: list[dict[str, Any]] = []
        self.alerts: dict[str, list[dict[str, Any]]] = {}
        self.log_entries: dict[str, list[dict[str, Any]]] = {}
        self.notes: dict[str, list[dict[str, Any]]] = {}
        super().__init__()

    # ------------------------------------------------------------ fixtures

    def add_incident(
        self,
        title: str,
        *,
        service: str = "checkout",
        status: str = "triggered",
        created_at: str | None = None,
        incident_key: str | None = None,
        alerts: list[dict[str, Any]] | None = None,
        urgency: str = "high",
    ) -> dict[str, Any]:
        n = next(_ids)
        iid = f"Q{n:06d}"
        inc = {
            "id": iid,
            "type": "incident",
            "incident_number": n,
            "title": title,
            "summary": f"[#{n}] {title}",
            "status": status,
            "urgency": urgency,
            "incident_key": incident_key,
            "created_at": created_at or _now(),
            "html_url": f"https://example.pagerduty.com/incidents/{iid}",
            "service": {"id": "PSVC1", "type": "service_reference", "summary": service},
            "priority": None,
        }
        self.incidents.append(inc)
        self.alerts[iid] = []
        for a in alerts or []:
            self.add_alert(iid, **a)
        self.log_entries[iid] = [
            {
                "id": f"R{next(_ids):06d}",
                "type": "trigger_log_entry",
                "summary": "Triggered through the API",
                "created_at": inc["created_at"],
                "agent": {"id": "PSVC1", "type": "service_reference", "summary": service},
            }
        ]
        self.notes[iid] = []
        return inc

    def page_for(self, am_alert: dict[str, Any], service: str) -> dict[str, Any]:
        """The incident Alertmanager's PagerDuty receiver opens for one of its alerts:
        the alert key is the Alertmanager fingerprint, as with the Events API v2."""
        name = str(am_alert["labels"]["alertname"])
        return self.add_incident(
            name,
            service=service,
            alerts=[
                {
                    "summary": name,
                    "alert_key": am_alert["fingerprint"],
                    "details": {"alertname": name},
                }
            ],
        )

    def add_alert(
        self,
        incident_id: str,
        *,
        summary: str,
        alert_key: str | None = None,
        details: dict[str, Any] | None = None,
        severity: str = "critical",
        created_at: str | None = None,
    ) -> dict[str, Any]:
        inc = next(i for i in self.incidents if i["id"] == incident_id)
        aid = f"A{next(_ids):06d}"
        alert = {
            "id": aid,
            "type": "alert",
            "summary": summary,
            "status": "triggered",
            "alert_key": alert_key,
            "created_at": created_at or inc["created_at"],
            "severity": severity,
            "html_url": f"https://example.pagerduty.com/alerts/{aid}",
            "service": inc["service"],
            "incident": {"id": incident_id, "type": "incident_reference"},
            "body": {
                "type": "alert_body",
                "contexts": [],
                "details": details or {},
                "cef_details": {"details": details or {}},
            },
        }
        self.alerts[incident_id].append(alert)
        return alert

    # ------------------------------------------------------------ protocol

    def error_body(self, status: int, message: str) -> Any:
        codes = {401: 2006, 403: 2010, 404: 2100, 429: 2020, 400: 2001}
        return {"error": {"message": message, "code": codes.get(status, 2000), "errors": []}}

    def _err(self, status: int, message: str, errors: list[str] | None = None) -> Reply:
        body = self.error_body(status, message)
        body["error"]["errors"] = errors or []
        return Reply(status, body)

    def route(self, req: Request) -> Reply:
        auth = req.headers.get("authorization", "")
        if auth != f"Token token={self.token}":
            return self._err(401, "Unauthorized")
        p = req.path
        if req.method == "GET" and p == "/abilities":
            return Reply(200, {"abilities": ["teams", "read_only_users", "urgencies"]})
        if req.method == "GET" and p == "/incidents":
            statuses = req.query.get("statuses[]") or []
            services = req.query.get("service_ids[]") or []
            items = [
                i
                for i in self.incidents
                if (not statuses or i["status"] in statuses)
                and (not services or i["service"]["id"] in services)
            ]
            if (req.q("sort_by") or "").endswith(":desc"):
                items = sorted(items, key=lambda i: i["created_at"], reverse=True)
            return self._page(req, items, "incidents")
        m = re.fullmatch(r"/incidents/([A-Z0-9]+)(/[a-z_]+)?", p)
        if not m:
            return self._err(404, "Not Found")
        iid, sub = m.group(1), m.group(2)
        inc = next((i for i in self.incidents if i["id"] == iid), None)
        if inc is None:
            return self._err(404, "Not Found")
        if req.method == "GET" and sub is None:
            return Reply(200, {"incident": inc})
        if req.method == "GET" and sub == "/alerts":
            statuses = req.query.get("statuses[]") or []
            items = [a for a in self.alerts[iid] if not statuses or a["status"] in statuses]
            return self._page(req, items, "alerts")
        if req.method == "GET" and sub == "/log_entries":
            return self._page(req, self.log_entries[iid], "log_entries")
        if req.method == "GET" and sub == "/notes":
            return Reply(200, {"notes": self.notes[iid]})
        if req.method in ("POST", "PUT") and not req.headers.get("from"):
            return self._err(400, "Invalid Input Provided", ["Requester User Not Found"])
        if req.method == "POST" and sub == "/notes":
            content = ((req.json() or {}).get("note") or {}).get("content")
            if not content:
                return self._err(400, "Invalid Input Provided", ["Note content is required"])
            note = {
                "id": f"N{next(_ids):06d}",
                "content": content,
                "created_at": _now(),
                "user": {"summary": req.headers["from"]},
            }
            self.notes[iid].append(note)
            return Reply(201, {"note": note})
        if req.method == "PUT" and sub is None:
            body = (req.json() or {}).get("incident") or {}
            if body.get("type") not in ("incident", "incident_reference"):
                return self._err(400, "Invalid Input Provided", ["Type is invalid"])
            level = body.get("escalation_level")
            if level is not None and "status" not in body:
                # PUT /incidents/{id} {"incident": {"escalation_level": N}} re-assigns the
                # incident to level N of its escalation policy
                if not isinstance(level, int) or isinstance(level, bool) or level < 1:
                    return self._err(400, "Invalid Input Provided", ["Escalation Level is invalid"])
                inc["escalation_level"] = level
                self.log_entries[iid].append(
                    {
                        "id": f"R{next(_ids):06d}",
                        "type": "escalate_log_entry",
                        "summary": f"Escalated to level {level} by {req.headers['from']}",
                        "created_at": _now(),
                    }
                )
                return Reply(200, {"incident": inc})
            status = body.get("status")
            if status not in ("acknowledged", "resolved"):
                return self._err(400, "Invalid Input Provided", ["Status is invalid"])
            inc["status"] = status
            self.log_entries[iid].append(
                {
                    "id": f"R{next(_ids):06d}",
                    "type": f"{status[:-1]}_log_entry"
                    if status == "resolved"
                    else "acknowledge_log_entry",
                    "summary": f"{status.title()} by {req.headers['from']}",
                    "created_at": _now(),
                }
            )
            return Reply(200, {"incident": inc})
        return self._err(404, "Not Found")

    def _page(self, req: Request, items: list[Any], key: str) -> Reply:
        limit = int(req.q("limit", "25") or 25)
        offset = int(req.q("offset", "0") or 0)
        if offset + min(limit, 100) > MAX_OFFSET:
            return self._err(400, "Invalid Input Provided", ["Offset must be less than 10000"])
        page, limit, offset, more = paginate_offset(items, req, 100)
        total = len(items) if req.q("total") == "true" else None
        return Reply(
            200, {key: page, "limit": limit, "offset": offset, "more": more, "total": total}
        )
