"""HTTP capabilities: Prometheus (verification reads), Alertmanager silences,
PagerDuty notes/acknowledge/escalate and the allowlisted `http.request`.

Every request goes through the shared `sources.http.Http` helper (imported inside
the function, so httpx stays off the startup path): the profile's timeouts, a body
size cap, redaction, and writes sent exactly once (an ambiguous write is reported as
"may or may not have happened", never retried). Secrets are added to headers at
execute time only, so they never appear in a rendered action, the audit log or a
dry-run preview. Time-dependent
fields (a silence's `startsAt`/`endsAt`) are rendered as `now` + duration and computed
when the request is sent, so the action a human confirmed hashes the same at run time.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator

from aisre_cli.errors import AisreError, AuthError, ConfigError
from aisre_cli.remediate import interrupt
from aisre_cli.remediate.capabilities.base import (
    Action,
    AnyOutput,
    Capability,
    CapabilityBase,
    CapabilityError,
    ExecContext,
    NotAllowed,
    Preview,
    Scope,
    StrictInput,
    UndoCall,
)
from aisre_cli.remediate.types import Duration, LabelName, Text, parse_duration
from aisre_cli.settings.config import HttpSettings
from aisre_cli.settings.secrets import strip_userinfo

if TYPE_CHECKING:
    from aisre_cli.sources.http import Response


def lookup_secret(name: str) -> str | None:
    """Keyring, then the opt-in file store, then `AISRE_<NAME>_TOKEN` (settings.secrets)."""
    from aisre_cli.settings.secrets import get_token

    tok = get_token(name)
    return tok.get_secret_value() if tok is not None else None


def _secret(ctx: ExecContext, name: str) -> str | None:
    return (ctx.secret or lookup_secret)(name)


OK_STATUSES = (200, 201, 202, 204)


def _send(
    action: Action,
    settings: HttpSettings,
    *,
    token: str | None = None,
    auth_format: str = "Bearer {token}",
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    ok: tuple[int, ...] = OK_STATUSES,
) -> Response:
    """One request through `sources.http.Http` (timeouts, size cap, redaction; writes
    are sent exactly once and an ambiguous write is reported as such)."""
    import httpx
    from pydantic import SecretStr

    from aisre_cli.sources.http import Http, ssl_context

    # Never follow redirects: a redirect could take a write to a host nobody allowlisted
    # or confirmed. The action that runs is the action that was shown.
    client = httpx.Client(
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        ),
        verify=ssl_context(settings),
        follow_redirects=False,
    )
    http = Http(
        source=action.capability,
        base_url=action.url,
        settings=settings,
        token=SecretStr(token) if token else None,
        auth_format=auth_format,
        headers=dict(headers or {}),
        client=client,
        budget_s=settings.connect_timeout + settings.read_timeout,
        follow_redirects=False,
    )

    def send() -> Response:
        try:
            return http.request(
                action.method,
                action.url,
                params=list(action.params) or None,
                json_body=body if body is not None else action.body,
                ok=ok,
            )
        finally:
            client.close()

    # SIGINT/SIGTERM stop the step's wait for the answer (remediate.interrupt)
    return interrupt.call(send, f"{action.method} {strip_userinfo(action.url)}")


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def _show(action: Action, note: str = "") -> Preview:
    tail = f"\n({note})" if note else ""
    return Preview(action=action, ok=True, text=f"would send:\n{action.text()}{tail}")


class _Web(CapabilityBase):
    """Defaults from CapabilityBase."""


# ----------------------------------------------------------------- prometheus


class PromQueryInput(StrictInput):
    query: str = Field(min_length=1, max_length=4000)


class PromQueryOutput(BaseModel):
    value: float | None = None
    """The first sample's value (None when the result is empty)."""
    series: int = 0


class PrometheusQuery(_Web):
    name = "prometheus.query"
    description = "Evaluate an instant PromQL query (used by step verification)."
    scope: Scope = "read"
    Input = PromQueryInput
    Output = PromQueryOutput

    def _settings(self, ctx: ExecContext) -> tuple[str, HttpSettings, str | None]:
        src = ctx.profile.sources.prometheus
        if src is None:
            raise ConfigError(
                "no Prometheus configured for this profile",
                hint="add `sources.prometheus.url` to the profile",
            )
        return src.url, src.http, src.token_name

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = PromQueryInput.model_validate(inputs.model_dump())
        url, _, _ = self._settings(ctx)
        return Action(
            self.name,
            "http",
            method="GET",
            url=_join(url, "/api/v1/query"),
            params=(("query", i.query),),
        )

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        return _show(self.render(inputs, ctx), "read only")

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        action = self.render(inputs, ctx)
        _, settings, token_name = self._settings(ctx)
        tok = _secret(ctx, token_name) if token_name else None
        data = _send(action, settings, token=tok, ok=(200,)).json(self.name)
        if data.get("status") != "success":
            raise CapabilityError(f"prometheus: {data.get('error', 'query failed')}"[:300])
        result = data.get("data", {})
        rtype = result.get("resultType")
        res = result.get("result", [])
        if rtype == "scalar":
            return PromQueryOutput(value=float(res[1]), series=1)
        if rtype == "vector":
            if not res:
                return PromQueryOutput(value=None, series=0)
            return PromQueryOutput(value=float(res[0]["value"][1]), series=len(res))
        raise CapabilityError(f"prometheus: unsupported result type {rtype!r}")


# ----------------------------------------------------------------- alertmanager


class Matcher(StrictInput):
    name: LabelName
    value: Text = Field(max_length=1024)
    is_regex: bool = False
    is_equal: bool = True


class SilenceCreateInput(StrictInput):
    matchers: list[Matcher] = Field(min_length=1, max_length=20)
    duration: Duration
    comment: Text = Field(min_length=1, max_length=2000)
    created_by: Text = Field(default="aisre", max_length=200)

    @field_validator("duration")
    @classmethod
    def _bounded(cls, v: str) -> str:
        secs = parse_duration(v)
        if secs < 60 or secs > 7 * 86400:
            raise ValueError("a silence must last between 1m and 7d")
        return v


class SilenceOutput(BaseModel):
    silence_id: str
    """What `alertmanager.silence.expire` (the undo) takes."""
    message: str = ""
    """For the operator (printed as the step's note): the id and how to expire the
    silence by hand, which the audit record alone would keep out of sight."""


def _am(ctx: ExecContext) -> tuple[str, HttpSettings, str | None]:
    src = ctx.profile.sources.alertmanager
    if src is None:
        raise ConfigError(
            "no Alertmanager configured for this profile",
            hint="add `sources.alertmanager.url` to the profile",
        )
    return src.url, src.http, _secret(ctx, src.token_name) if src.token_name else None


class SilenceCreate(_Web):
    name = "alertmanager.silence.create"
    description = "Create an Alertmanager silence for a bounded time."
    scope: Scope = "write"
    undo_hint = "expire the silence (alertmanager.silence.expire)"
    Input = SilenceCreateInput
    Output = SilenceOutput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = SilenceCreateInput.model_validate(inputs.model_dump())
        url, _, _ = _am(ctx)
        body = {
            "matchers": [
                {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
                for m in i.matchers
            ],
            "startsAt": "now",
            "endsAt": f"now+{i.duration}",
            "createdBy": i.created_by,
            "comment": i.comment,
        }
        return Action(
            self.name, "http", method="POST", url=_join(url, "/api/v2/silences"), body=body
        )

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        return _show(self.render(inputs, ctx), "nothing is sent in a dry run")

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        i = SilenceCreateInput.model_validate(inputs.model_dump())
        action = self.render(inputs, ctx)
        _, settings, token = _am(ctx)
        now = datetime.now(UTC)
        body = dict(action.body)
        body["startsAt"] = now.isoformat().replace("+00:00", "Z")
        end = now + timedelta(seconds=parse_duration(i.duration))
        body["endsAt"] = end.isoformat().replace("+00:00", "Z")
        data = _send(action, settings, token=token, body=body).json(self.name)
        sid = data.get("silenceID")
        if not isinstance(sid, str):
            raise CapabilityError("alertmanager: no silenceID in the response")
        return SilenceOutput(
            silence_id=sid,
            message=f"silence {sid} created (ends {end:%Y-%m-%dT%H:%M:%SZ}); expire it with:"
            f" amtool silence expire {sid} (or in the Alertmanager UI)",
        )

    def undo(self, inputs: BaseModel, output: Mapping[str, Any]) -> UndoCall | None:
        sid = output.get("silence_id")
        if not isinstance(sid, str):
            return None
        return UndoCall("alertmanager.silence.expire", {"silence_id": sid})

    def blast_radius(self, inputs: BaseModel) -> int:
        i = SilenceCreateInput.model_validate(inputs.model_dump())
        # A regex matcher can silence many alerts: count it as a wider blast.
        return 1 + sum(5 for m in i.matchers if m.is_regex or not m.is_equal)


class SilenceExpireInput(StrictInput):
    silence_id: str = Field(pattern=r"^[0-9a-fA-F-]{8,64}$")


class SilenceExpire(_Web):
    name = "alertmanager.silence.expire"
    description = "Expire (delete) an Alertmanager silence."
    scope: Scope = "write"
    Input = SilenceExpireInput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = SilenceExpireInput.model_validate(inputs.model_dump())
        url, _, _ = _am(ctx)
        return Action(
            self.name, "http", method="DELETE", url=_join(url, f"/api/v2/silence/{i.silence_id}")
        )

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        return _show(self.render(inputs, ctx), "nothing is sent in a dry run")

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        _, settings, token = _am(ctx)
        _send(self.render(inputs, ctx), settings, token=token)
        return AnyOutput()


# ----------------------------------------------------------------- pagerduty


class _PdIncident(StrictInput):
    incident_id: str = Field(pattern=r"^[A-Za-z0-9]{1,64}$")


class PdNoteInput(_PdIncident):
    content: Text = Field(min_length=1)
    """At most 8,000 characters (`Text`); the hand-off is cut to fit (`NOTE_LIMIT`)."""


class PdEscalateInput(_PdIncident):
    escalation_level: int = Field(ge=1, le=20)


def _pd(ctx: ExecContext) -> tuple[str, HttpSettings, dict[str, str]]:
    src = ctx.profile.sources.pagerduty
    if src is None:
        raise ConfigError(
            "no PagerDuty configured for this profile",
            hint="add `sources.pagerduty` to the profile",
        )
    headers = {"Accept": "application/vnd.pagerduty+json;version=2"}
    if src.from_email:
        headers["From"] = src.from_email
    return src.url, src.http, headers


def _pd_token(ctx: ExecContext) -> str:
    src = ctx.profile.sources.pagerduty
    assert src is not None
    tok = _secret(ctx, src.token_name)
    if not tok:
        raise AuthError(
            f"no PagerDuty token stored under {src.token_name!r}",
            hint=f"store it with `aisre auth set {src.token_name}` or set"
            f" AISRE_{src.token_name.upper()}_TOKEN",
        )
    return tok


class _PdWrite(_Web):
    scope: Scope = "write"

    def _body(self, i: BaseModel) -> dict[str, Any]:
        return {}

    def _path(self, i: BaseModel) -> tuple[str, str]:
        return "GET", "/"

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = self.Input.model_validate(inputs.model_dump())
        url, _, _ = _pd(ctx)
        method, path = self._path(i)
        return Action(self.name, "http", method=method, url=_join(url, path), body=self._body(i))

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        return _show(self.render(inputs, ctx), "nothing is sent in a dry run")

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        _, settings, headers = _pd(ctx)
        token = _pd_token(ctx)
        resp = _send(
            self.render(inputs, ctx),
            settings,
            token=token,
            auth_format="Token token={token}",
            headers=headers,
        )
        try:
            data = resp.json(self.name) if resp.body else {}
        except AisreError:
            data = {}
        return AnyOutput(**({"response": data} if isinstance(data, dict) else {}))


class PdNote(_PdWrite):
    name = "pagerduty.note"
    handoff = True
    description = "Add a note to a PagerDuty incident (the hand-off text)."
    Input = PdNoteInput

    def _path(self, i: BaseModel) -> tuple[str, str]:
        return "POST", f"/incidents/{PdNoteInput.model_validate(i.model_dump()).incident_id}/notes"

    def _body(self, i: BaseModel) -> dict[str, Any]:
        return {"note": {"content": PdNoteInput.model_validate(i.model_dump()).content}}

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        """Post the note once: a note with the same content already on the incident
        (the hand-off posted before a dropped connection, then resumed; `aisre escalate`
        run twice with nothing new) is not posted again, and a post whose answer was
        lost counts as done when the note is found on the incident."""
        from aisre_cli.sources.http import WriteOutcomeUnknown

        i = PdNoteInput.model_validate(inputs.model_dump())
        there = self._existing(i, ctx)
        if there is not None:
            return AnyOutput(response={"note": there}, already_posted=True)
        try:
            return super().execute(inputs, ctx)
        except WriteOutcomeUnknown:
            there = self._existing(i, ctx)
            if there is None:
                raise
            return AnyOutput(response={"note": there}, already_posted=True)

    def _existing(self, i: PdNoteInput, ctx: ExecContext) -> dict[str, Any] | None:
        """The incident's note with exactly this content, if any (read errors: None)."""
        url, settings, headers = _pd(ctx)
        notes_url = _join(url, f"/incidents/{i.incident_id}/notes")
        get = Action(self.name, "http", method="GET", url=notes_url)
        try:
            resp = _send(
                get,
                settings,
                token=_pd_token(ctx),
                auth_format="Token token={token}",
                headers=headers,
            )
            data = resp.json(self.name)
        except interrupt.StepInterrupted:
            raise  # Ctrl-C while looking: nothing is posted
        except AisreError:
            return None  # cannot tell: post (PagerDuty keeps both; a lost one is worse)
        notes = data.get("notes") if isinstance(data, dict) else None
        for n in notes if isinstance(notes, list) else []:
            if isinstance(n, dict) and n.get("content") == i.content:
                return n
        return None


class PdAcknowledge(_PdWrite):
    name = "pagerduty.acknowledge"
    handoff = True
    description = "Acknowledge a PagerDuty incident."
    Input = _PdIncident

    def _path(self, i: BaseModel) -> tuple[str, str]:
        return "PUT", f"/incidents/{_PdIncident.model_validate(i.model_dump()).incident_id}"

    def _body(self, i: BaseModel) -> dict[str, Any]:
        return {"incident": {"type": "incident_reference", "status": "acknowledged"}}


class PdEscalate(_PdWrite):
    name = "pagerduty.escalate"
    handoff = True
    description = "Escalate a PagerDuty incident to an escalation-policy level."
    Input = PdEscalateInput

    def _path(self, i: BaseModel) -> tuple[str, str]:
        return "PUT", f"/incidents/{PdEscalateInput.model_validate(i.model_dump()).incident_id}"

    def _body(self, i: BaseModel) -> dict[str, Any]:
        lvl = PdEscalateInput.model_validate(i.model_dump()).escalation_level
        return {"incident": {"type": "incident_reference", "escalation_level": lvl}}


# ----------------------------------------------------------------- http.request


class HttpRequestInput(StrictInput):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(max_length=2000)
    json_body: dict[str, Any] | None = None
    expect_status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        p = urllib.parse.urlsplit(v)
        if p.scheme not in ("http", "https") or not p.hostname:
            raise ValueError("must be an http(s) URL with a host")
        if p.username or p.password:
            raise ValueError("must not carry credentials")
        if any(c.isspace() for c in v):
            raise ValueError("must not contain whitespace")
        return v


class HttpRequest(_Web):
    name = "http.request"
    description = "Send one HTTP request to a host the policy allowlists."
    scope: Scope = "write"
    Input = HttpRequestInput

    def render(self, inputs: BaseModel, ctx: ExecContext) -> Action:
        i = HttpRequestInput.model_validate(inputs.model_dump())
        host = urllib.parse.urlsplit(i.url).hostname or ""
        if host.lower() not in {h.lower() for h in ctx.http_allowlist}:
            raise NotAllowed(
                f"http.request: host {host!r} is not in the policy's http_allowlist",
                hint="add the host to `http_allowlist` in the policy file",
            )
        return Action(self.name, "http", method=i.method, url=i.url, body=i.json_body)

    def dry_run(self, inputs: BaseModel, ctx: ExecContext) -> Preview:
        return _show(self.render(inputs, ctx), "nothing is sent in a dry run")

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        i = HttpRequestInput.model_validate(inputs.model_dump())
        resp = _send(self.render(inputs, ctx), HttpSettings(), ok=tuple(i.expect_status))
        return AnyOutput(status=resp.status)


def register_capabilities(register: Callable[[Capability], None]) -> None:
    """The built-in web capabilities, registered like a plugin's."""
    register(PrometheusQuery())
    register(SilenceCreate())
    register(SilenceExpire())
    register(PdNote())
    register(PdAcknowledge())
    register(PdEscalate())
    register(HttpRequest())
