"""The one HTTP helper every live connector goes through.

Why one helper: during a page the failure modes of the systems we read (a hung
Prometheus, a PagerDuty rate limit, a proxy that cuts a body in half) must all end
the same way: a one-line `SourceError`/`AuthError` within a bounded time, with the
secrets scrubbed out. Putting timeouts, retries, size caps and redaction in each
connector would mean five slightly different bugs, so connectors only say *what* to
read and parse; this module decides *how*.

Rules (DESIGN.md, issue 4):

* every request has a connect and a read timeout, plus an overall *deadline* per
  operation (a trickling body cannot outlive it: the deadline is checked per chunk);
* idempotent reads are retried a bounded number of times with full-jitter
  exponential backoff on 429/502/503/504 and on connection errors, honouring
  `Retry-After` (seconds or an HTTP date) and `ratelimit-reset` (PagerDuty, seconds);
  a wait that would cross the deadline is not taken: we fail now with the reason;
* a read *timeout* is not retried (a server that hung once will hang again and a
  retry would double the wait inside a fixed budget);
* 400/401/403/404 are never retried; writes are never retried at all (the caller
  re-reads the state after an ambiguous write, see `WriteOutcomeUnknown`);
* TLS verification is on by default, with an optional custom CA bundle;
* bodies above `max_body_bytes` are refused while streaming (a 50 MB answer costs
  at most the cap in memory);
* every JSON body is scrubbed as it is parsed (`Response.json`, `redact_data`): the
  registered secret values and anything shaped like a credential are replaced by
  `***` in every string, so what a server echoes back never reaches the screen, the
  memory store or a bundle;
* every message that leaves this module goes through `redact()`, which removes the
  registered secret values, `Authorization` headers and credential-like query
  parameters;
* credentials are scoped to the *origin* they were configured for (scheme, host,
  port of `base_url`): the token header, and Basic credentials given as URL userinfo
  (`http://user:pass@prometheus:9090`), are sent only to that origin. A pagination
  link or a redirect to another origin (another host, another port, https -> http) is
  followed without them. Redirects are followed here, hop by hop (GET/HEAD only, at
  most `MAX_REDIRECTS`), never by httpx, so this rule holds for injected clients too.
  Userinfo is removed from `base_url` at construction: nothing built from it (links,
  evidence queries, messages, the memory store) can show it.

The `httpx.Client` is injectable (tests pass one on a mock transport; connectors pass
none and get one built from `HttpSettings`).
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx
import orjson
from pydantic import BaseModel, SecretStr, ValidationError

from aisre_cli.errors import AisreError, AuthError, ConfigError, SourceError
from aisre_cli.model import SourceNote
from aisre_cli.settings.config import HttpSettings
from aisre_cli.settings.secrets import (
    RedactingFilter,
    redact,
    redact_data,
    register_secret,
    split_userinfo,
)

log = logging.getLogger("aisre.http")

T = TypeVar("T", bound=BaseModel)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
MAX_BACKOFF_S = 8.0
USER_AGENT = "aisre-cli (+https://github.com/aisre/aisre-cli)"

# ------------------------------------------------------------------ redaction


log.addFilter(RedactingFilter())


# ------------------------------------------------------------------ errors


def _size(n: int) -> str:
    """A byte count for a message: `20 MB`, `2.5 MB`, `300 kB` (never `0 MB`)."""
    if n >= 10_000_000:
        return f"{n / 1e6:.0f} MB"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} MB".replace(".0 MB", " MB")
    return f"{max(n, 1) / 1e3:.0f} kB" if n >= 1000 else f"{n} bytes"


class ResponseTooLarge(SourceError):
    """The answer is larger than `max_body_bytes`: refused while streaming. A caller
    that reads many objects one by one (a trace by id) skips that one object."""


class WriteOutcomeUnknown(SourceError):
    """A write timed out or the connection dropped: it may or may not have happened.

    Never retried blindly; the connector re-reads the state and says what it found.
    """


@dataclass(slots=True)
class Response:
    """A fully read, size-checked response."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str
    elapsed_s: float

    def json(self, source: str) -> Any:
        """The parsed body, with every string scrubbed of secrets (`redact_data`): a
        server that echoes a credential into an annotation, a label or a log line
        must not put it on the screen, in the memory store or in a bundle."""
        try:
            return redact_data(orjson.loads(self.body))
        except orjson.JSONDecodeError as exc:
            err = exc
        if not _is_utf8(self.body):
            # a log line or label with bytes that are not UTF-8 (Loki passes them
            # through): keep the answer, each bad byte read as U+FFFD
            try:
                return redact_data(orjson.loads(self.body.decode("utf-8", "replace")))
            except orjson.JSONDecodeError as exc:
                err = exc
        elif b"\\u" in self.body:
            # a lone surrogate escape (`\ud800`: a log line cut inside an emoji, written
            # by a JSON encoder that escapes UTF-16 units) is JSON that orjson refuses:
            # one such line must not lose every other line of the answer
            text = _LONE_SURROGATE.sub(_surrogate_repl, self.body.decode("utf-8"))
            try:
                return redact_data(orjson.loads(text))
            except orjson.JSONDecodeError as exc:
                err = exc
        raise SourceError(
            f"{source}: answered with invalid JSON ({err.msg} at char {err.pos}) from"
            f" {redact(self.url)}",
            hint="a proxy or load balancer may be answering instead of the API",
        )


_LONE_SURROGATE = re.compile(
    r"(\\\\)|\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\ud[89a-f][0-9a-f]{2}", re.I
)
"""An escaped backslash (kept), a surrogate pair (kept), or a lone surrogate escape."""


def _surrogate_repl(m: re.Match[str]) -> str:
    return m[0] if m[1] or m[2] else "\\ufffd"


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After / ratelimit-reset / x-ratelimit-reset, if any."""
    ra = headers.get("retry-after")
    if ra:
        ra = ra.strip()
        if ra.isdigit():
            return float(ra)
        try:
            when = email.utils.parsedate_to_datetime(ra)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - (now if now is not None else time.time()))
    reset = headers.get("ratelimit-reset")  # PagerDuty / IETF draft: seconds until reset
    if reset:
        try:
            return max(0.0, float(reset))
        except ValueError:
            pass
    gh_reset = headers.get("x-ratelimit-reset")  # GitHub: epoch seconds
    if gh_reset and headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(gh_reset) - (now if now is not None else time.time()))
        except ValueError:
            pass
    return None


def _short_body(body: bytes, limit: int = 200) -> str:
    said = " ".join((_api_message(body) or "").split())
    if said:
        return said[:limit] + ("…" if len(said) > limit else "")
    text = body[:limit].decode("utf-8", "replace").strip().replace("\n", " ")
    return text + ("…" if len(body) > limit else "")


def _api_message(body: bytes) -> str | None:
    """The human message of a JSON error body in the shapes the sources answer with:
    Kubernetes' Status and GitHub (`message`), Prometheus (`errorType`, `error`),
    PagerDuty (`error.message` and `error.errors`), Jaeger (`errors[].msg`). None when
    the body is not one of them (it is then shown as it came)."""
    head = body.lstrip()[:1]
    if head != b"{" or len(body) > 65536:
        return None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    err = doc.get("error")
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        more = [x for x in err.get("errors") or [] if isinstance(x, str)]
        return " ".join([err["message"], *more[:2]]).strip() or None
    if isinstance(err, str) and err:
        kind = doc.get("errorType")
        return f"{kind}: {err}" if isinstance(kind, str) and kind else err
    if isinstance(doc.get("message"), str) and doc["message"]:
        return str(doc["message"])
    errs = doc.get("errors")
    if isinstance(errs, list) and errs and isinstance(errs[0], dict):
        msg = errs[0].get("msg") or errs[0].get("message")
        if isinstance(msg, str) and msg:
            return msg
    return None


def ssl_context(settings: HttpSettings) -> ssl.SSLContext | bool:
    if not settings.verify_tls:
        return False
    if settings.ca_file:
        try:
            return ssl.create_default_context(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load the CA bundle {settings.ca_file}: {exc}",
                hint="point http.ca_file at a readable PEM file",
            ) from None
    return True


def transport_hint(source: str, url: str, reason: str) -> str | None:
    """The fix for a connection that failed below HTTP, where "check that URL is up and
    reachable" misleads: the server is up, but its certificate is not trusted or does
    not name the host, or the port speaks another protocol (TLS where the URL says
    http://, or plain HTTP behind https://). None for any other failure."""
    text = reason.lower()
    where = f"sources.{source}.http"
    if "certificate verify failed" in text or "certificate_verify_failed" in text:
        if "mismatch" in text or "not valid for" in text:
            return (
                "the server's certificate does not name this host: put a host name the"
                " certificate was issued for in the URL (`openssl s_client -connect HOST:PORT`"
                " shows them)"
            )
        return (
            "the server's certificate is not trusted here (self-signed or a private CA):"
            f" set {where}.ca_file to its CA certificate in PEM (`aisre config edit`;"
            " `aisre config init --ca-file CA.pem` for a new profile)"
        )
    if "wrong version number" in text or "record layer failure" in text:
        return (
            f"the port does not speak TLS: if {url} serves plain HTTP, use an http:// URL"
            " (`aisre config edit`)"
        )
    if "connection closed mid-response" in text or "connection reset" in text:
        # httpx words an answer that is not HTTP (the wrong port) and one cut short the
        # same way: say both
        hint = (
            f"something listens at {url} but its answer broke off or does not answer HTTP"
            " there: check the port is the API's, or a proxy in between"
        )
        if url.startswith("http://"):
            hint += " (a TLS port needs an https:// URL)"
        return hint
    return None


def user_auth(username: str | None, token: SecretStr | None) -> tuple[SecretStr | None, str]:
    """(token, auth_format) for `Http`: HTTP Basic when a username is configured (Grafana
    Cloud, a reverse proxy), else a bearer token. The encoded pair stays a SecretStr."""
    if username is None or token is None:
        return token, "Bearer {token}"
    import base64

    pair = f"{username}:{token.get_secret_value()}".encode()
    return SecretStr(base64.b64encode(pair).decode()), "Basic {token}"


@dataclass
class Http:
    """An HTTP client for one source: base URL, auth, timeouts, retries, redaction.

    `budget_s` bounds one *operation* (a connector method, with all its pages and
    retries): `deadline()` returns the monotonic time at which it must be over.
    """

    source: str
    """Source name used in messages (`prometheus`, `pagerduty`, ...)."""
    base_url: str
    settings: HttpSettings = field(default_factory=HttpSettings)
    token: SecretStr | None = None
    auth_header: str = "Authorization"
    auth_format: str = "Bearer {token}"
    """`Bearer {token}` (Prometheus, Loki proxies, GitHub), `Token token={token}` (PagerDuty)."""
    headers: dict[str, str] = field(default_factory=dict)
    client: httpx.Client | None = None
    budget_s: float = 20.0
    follow_redirects: bool = True
    """Follow GET/HEAD redirects (credentials re-scoped per hop). Remediation actions
    turn this off: the request that runs is the one that was shown and allowlisted."""
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random
    token_name: str | None = None
    """The keyring name the source's config reads its credential from (`token_name`),
    for the hint of a 401."""
    config_key: str | None = None
    """Where that `token_name` is set (`sources.tempo`), when a profile's source config
    built this client: a 401 without any credential then says to name one there."""

    def __post_init__(self) -> None:
        self.base_url, self._basic = split_userinfo(self.base_url.rstrip("/"))
        self._origin = origin_of(self.base_url)
        register_secret(self.token)
        if not self.settings.verify_tls:
            log.warning("%s: TLS verification is OFF for %s", self.source, self.base_url)
        if self.client is None:
            s = self.settings
            self.client = httpx.Client(
                timeout=httpx.Timeout(
                    connect=s.connect_timeout,
                    read=s.read_timeout,
                    write=s.read_timeout,
                    pool=s.connect_timeout,
                ),
                verify=ssl_context(s),
                follow_redirects=False,  # followed in `_send_once`, with scoped credentials
                trust_env=True,
            )
            self._owns_client = True
        else:
            self._owns_client = False

    # -------------------------------------------------------------- plumbing

    def close(self) -> None:
        if self._owns_client and self.client is not None:
            self.client.close()

    def deadline(self, budget_s: float | None = None) -> float:
        return time.monotonic() + (budget_s if budget_s is not None else self.budget_s)

    def _headers(self, extra: Mapping[str, str] | None, url: str | httpx.URL) -> dict[str, str]:
        """Request headers for `url`: credentials only when it is the configured origin."""
        h = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        h.update(self.headers)
        same = origin_of(url) == self._origin
        if same and self._basic is not None:
            import base64

            user, password = self._basic
            cred = base64.b64encode(f"{user}:{password}".encode()).decode()
            h["Authorization"] = f"Basic {cred}"
        if same and self.token is not None:
            raw = self.token.get_secret_value()
            h[self.auth_header] = self.auth_format.format(token=raw)
        if extra:
            h.update(extra)
        return h if same else self._without_credentials(h)

    def _without_credentials(self, headers: Mapping[str, str]) -> dict[str, str]:
        drop = {*_CREDENTIAL_HEADERS, self.auth_header.lower()}
        return {k: v for k, v in headers.items() if k.lower() not in drop}

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            # an absolute URL (a pagination link) never carries credentials in it
            return split_userinfo(path)[0]
        return f"{self.base_url}/{path.lstrip('/')}"

    def _timeout(self, deadline: float) -> httpx.Timeout:
        remaining = max(0.05, deadline - time.monotonic())
        s = self.settings
        return httpx.Timeout(
            connect=min(s.connect_timeout, remaining),
            read=min(s.read_timeout, remaining),
            write=min(s.read_timeout, remaining),
            pool=min(s.connect_timeout, remaining),
        )

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        params: Any,
        json_body: Any,
        headers: dict[str, str],
        deadline: float,
    ) -> Response:
        assert self.client is not None
        t0 = time.monotonic()
        content = orjson.dumps(json_body) if json_body is not None else None
        if content is not None:
            headers = {**headers, "Content-Type": "application/json"}
        req = self.client.build_request(
            method,
            url,
            params=params,
            content=content,
            headers=headers,
            timeout=self._timeout(deadline),
        )
        resp = self.client.send(req, stream=True, follow_redirects=False)
        hops = 0
        while (
            self.follow_redirects
            and resp.status_code in REDIRECT_STATUSES
            and method.upper() in ("GET", "HEAD")
            and "location" in resp.headers
        ):
            hops += 1
            target = req.url.join(resp.headers["location"])
            resp.close()
            if hops > MAX_REDIRECTS:
                raise SourceError(
                    f"{self.source}: more than {MAX_REDIRECTS} redirects ({method}"
                    f" {_plain(httpx.URL(url))})",
                    hint="point the source's url at the final address",
                )
            if target.scheme not in ("http", "https"):
                raise SourceError(
                    f"{self.source}: redirected to a {target.scheme}: URL, not followed",
                    hint="point the source's url at the final address",
                )
            target = target.copy_with(userinfo=b"")
            # the credentials are decided again for the new origin, never carried over
            hop_headers = self._headers(self._without_credentials(headers), target)
            req = self.client.build_request(
                method, target, headers=hop_headers, timeout=self._timeout(deadline)
            )
            resp = self.client.send(req, stream=True, follow_redirects=False)
        try:
            cap = self.settings.max_body_bytes
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise ResponseTooLarge(
                    f"{self.source}: response of {int(declared) / 1e6:.1f} MB exceeds the"
                    f" {_size(cap)} cap ({method} {_plain(req.url)})",
                    hint="narrow the query or raise http.max_body_bytes for this source",
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLarge(
                        f"{self.source}: response exceeds the {_size(cap)} cap"
                        f" ({method} {_plain(req.url)})",
                        hint="narrow the query or raise http.max_body_bytes for this source",
                    )
                if time.monotonic() > deadline:
                    raise _DeadlineHit()
                chunks.append(chunk)
            body = b"".join(chunks)
        finally:
            resp.close()
        elapsed = time.monotonic() - t0
        log.debug(
            "%s %s -> %s (%d bytes, %.3fs)",
            method,
            redact(str(req.url)),
            resp.status_code,
            len(body),
            elapsed,
        )
        return Response(resp.status_code, resp.headers, body, str(req.url), elapsed)

    # -------------------------------------------------------------- public

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
        ok: tuple[int, ...] = (200,),
        final: Callable[[Response], bool] | None = None,
    ) -> Response:
        """Send one request with the retry policy; returns a response whose status is in ok.

        GET/HEAD are retried (bounded, jittered, Retry-After honoured); anything else is
        sent exactly once. `final` marks a retryable answer that retrying cannot change
        (Prometheus's 503 for a query that timed out): it is returned as is, for the
        caller to read its error body.
        """
        idempotent = method.upper() in ("GET", "HEAD")
        dl = deadline if deadline is not None else self.deadline()
        url = self.url(path)
        shown = f"{method} {_plain(httpx.URL(url))}"
        hdrs = self._headers(headers, url)
        attempts = 1 + (max(0, self.settings.retries) if idempotent else 0)
        last_reason = ""
        for attempt in range(attempts):
            if time.monotonic() >= dl:
                raise SourceError(
                    f"{self.source}: gave up on {shown}: time budget spent"
                    + (f" (last: {last_reason})" if last_reason else ""),
                    hint="the source is slow; raise gather_budget_s or http.read_timeout",
                )
            wait_hint: float | None = None
            sent = time.monotonic()
            # the budget's end comes before the read timeout would: that is what a hang
            # runs into, and what the message must name
            cut = dl - sent < self.settings.read_timeout
            try:
                resp = self._send_once(
                    method, url, params=params, json_body=json_body, headers=hdrs, deadline=dl
                )
            except _DeadlineHit:
                if not idempotent:
                    raise WriteOutcomeUnknown(
                        f"{self.source}: {shown} did not finish in time: it may or may not"
                        " have been applied",
                        hint="check the current state before trying again",
                    ) from None
                raise SourceError(
                    f"{self.source}: {shown}: response still arriving when the time budget"
                    " ran out (slow or trickling server)",
                    hint="the source is overloaded; raise gather_budget_s or check the server",
                ) from None
            except httpx.TimeoutException as exc:
                kind = {
                    httpx.ConnectTimeout: "connect",
                    httpx.ReadTimeout: "read",
                    httpx.WriteTimeout: "write",
                    httpx.PoolTimeout: "pool",
                }.get(type(exc), "")
                if not idempotent:
                    raise WriteOutcomeUnknown(
                        f"{self.source}: {shown} timed out ({kind}): it may or may not have"
                        " been applied",
                        hint="check the current state before trying again",
                    ) from None
                if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                    last_reason = f"{kind} timeout"
                elif cut:
                    raise SourceError(
                        f"{self.source}: {shown}: no response within"
                        f" {time.monotonic() - sent:.1f}s, when the time budget ran out",
                        hint=f"is {redact(self.base_url)} overloaded? raise gather_budget_s"
                        " if the server is just slow",
                    ) from None
                else:
                    raise SourceError(
                        f"{self.source}: {shown}: no response within"
                        f" {self.settings.read_timeout:g}s ({kind} timeout)",
                        hint=f"is {redact(self.base_url)} overloaded? raise http.read_timeout"
                        " if the server is just slow",
                    ) from None
            except httpx.TransportError as exc:
                reason = _transport_reason(exc)
                if not idempotent:
                    raise WriteOutcomeUnknown(
                        f"{self.source}: {shown} failed ({reason}): it may or may not have"
                        " been applied",
                        hint="check the current state before trying again",
                    ) from None
                last_reason = reason
            except AisreError:
                raise
            else:
                if resp.status in ok or (final is not None and final(resp)):
                    return resp
                if not idempotent or resp.status not in RETRY_STATUSES:
                    self._raise_for_status(resp, shown)
                last_reason = f"HTTP {resp.status}"
                wait_hint = parse_retry_after(resp.headers)
                if attempt == attempts - 1:
                    self._raise_for_status(resp, shown)
            if attempt == attempts - 1:
                break
            delay = self._backoff(attempt, wait_hint)
            remaining = dl - time.monotonic()
            if delay >= remaining:
                if wait_hint is not None:
                    raise SourceError(
                        f"{self.source}: {shown}: {last_reason}, asked to retry after"
                        f" {wait_hint:.0f}s, beyond the time budget",
                        hint="the source is rate limiting or overloaded; try again shortly",
                    )
                break
            log.debug("%s: retry %d after %.2fs (%s)", self.source, attempt + 1, delay, last_reason)
            self.sleep(delay)
        url = redact(self.base_url)
        raise SourceError(
            f"{self.source}: {shown} failed: {last_reason}",
            hint=transport_hint(self.source, url, last_reason)
            or f"check that {url} is up and reachable",
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after + 0.1 * float(self.rand())
        cap: float = min(MAX_BACKOFF_S, 0.25 * float(2**attempt))
        return cap * (0.5 + 0.5 * float(self.rand()))

    def _raise_for_status(self, resp: Response, shown: str) -> None:
        code = resp.status
        detail = redact(_short_body(resp.body))
        if code in (401, 403):
            if code == 403 and resp.headers.get("x-ratelimit-remaining") == "0":
                wait = parse_retry_after(resp.headers)
                raise SourceError(
                    f"{self.source}: rate limited (HTTP 403, limit exhausted)"
                    + (f"; resets in {wait:.0f}s" if wait is not None else ""),
                    hint="wait for the reset or use a token with a higher limit",
                )
            what = "rejected the credentials" if code == 401 else "refused access"
            raise AuthError(
                f"{self.source}: {what} (HTTP {code}) for {shown}",
                hint=self._auth_hint()
                if code == 401
                else "the token lacks the permission for this endpoint",
            )
        if code == 429:
            wait = parse_retry_after(resp.headers)
            raise SourceError(
                f"{self.source}: rate limited (HTTP 429)"
                + (f"; resets in {wait:.0f}s" if wait is not None else ""),
                hint="wait for the reset; aisre already retried within its budget",
            )
        suffix = f": {detail}" if detail else ""
        raise SourceError(
            f"{self.source}: {shown} answered HTTP {code}{suffix}",
            hint="the server is failing; check its health"
            if code >= 500
            else "this looks like a bug in the request; re-run with -vv and report it",
        )

    def _token_hint(self) -> str:
        return self.token_name or self.source

    def _auth_hint(self) -> str:
        """What to do about a 401: a source that sent no credential needs one named in
        its config first (`aisre auth set` alone is never read without `token_name`)."""
        if self.token is None and self._basic is None and self.config_key:
            if self.token_name:
                name = self.token_name
                return f"no token is stored as {name!r}: run `aisre auth set {name}`"
            return (
                f"no credential was sent: store one with `aisre auth set {self.source}` and set"
                f" `token_name: {self.source}` under {self.config_key} in the profile"
            )
        return f"store a valid token with `aisre auth set {self._token_hint()}`"

    # convenience

    def get_json(
        self,
        path: str,
        params: Any = None,
        *,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self.request("GET", path, params=params, deadline=deadline, headers=headers).json(
            self.source
        )

    def get_model(
        self,
        path: str,
        model: type[T],
        params: Any = None,
        *,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[T, Response]:
        resp = self.request("GET", path, params=params, deadline=deadline, headers=headers)
        return parse_model(model, resp.json(self.source), self.source, path), resp


class HttpSourceConfig(Protocol):
    """What `HttpSource` reads of a source's config."""

    @property
    def url(self) -> str: ...

    @property
    def http(self) -> HttpSettings: ...


class HttpSource:
    """What every source over one HTTP API shares: its name, its `Http` client built from
    the source's config (URL, timeouts, TLS, retries) and credentials, the partial-data
    notes of the operation in progress (handed to the gather once, by `drain_notes`),
    and the last query it sent (for `-v` and for errors)."""

    def __init__(
        self,
        name: str,
        cfg: HttpSourceConfig,
        *,
        token: SecretStr | None,
        client: httpx.Client | None,
        budget_s: float,
        auth_format: str = "Bearer {token}",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.http = Http(
            source=name,
            base_url=cfg.url,
            settings=cfg.http,
            token=token,
            auth_format=auth_format,
            headers=dict(headers or {}),
            client=client,
            budget_s=budget_s,
            token_name=getattr(cfg, "token_name", None),
            config_key=f"sources.{name}",
        )
        self._notes: list[SourceNote] = []
        self.last_query = ""

    def drain_notes(self) -> list[SourceNote]:
        out, self._notes = self._notes, []
        return out


def parse_model(model: type[T], data: Any, source: str, where: str) -> T:
    """Validate an API answer against its pydantic model; a mismatch is a SourceError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "$"
        raise SourceError(
            f"{source}: unexpected answer from {where}: {loc}: {err['msg'].lower()}",
            hint="is the URL pointing at the right API (and version)?",
        ) from None


class _DeadlineHit(Exception):
    pass


_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "private-token"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in: what a credential is
    scoped to."""
    u = url if isinstance(url, httpx.URL) else httpx.URL(url)
    scheme = u.scheme.lower()
    return scheme, u.host.lower(), u.port or _DEFAULT_PORTS.get(scheme)


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused"
        if "name or service" in text or "nodename" in text or "resolve" in text:
            return "DNS lookup failed"
        if "certificate" in text or "ssl" in text:
            return f"TLS error: {redact(str(exc))[:160]}"
        return f"cannot connect: {redact(str(exc))[:160]}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed mid-response (truncated body)"
    if isinstance(exc, httpx.ReadError):
        return "connection reset while reading"
    return f"{type(exc).__name__}: {redact(str(exc))[:160]}"


@dataclass(slots=True)
class Health:
    """One row of `aisre doctor`: can we reach, authenticate and read this source?"""

    source: str
    url: str
    reachable: bool
    authenticated: bool | None
    """None when the source needs no credential."""
    version: str | None = None
    latency_ms: float | None = None
    detail: str = ""
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.reachable and self.authenticated is not False and not self.detail


def probe(
    http: Http,
    path: str,
    version_of: Callable[[Any], str | None],
    *,
    needs_auth: bool,
    params: Any = None,
) -> Health:
    """GET one cheap endpoint and turn the outcome into a Health row (never raises)."""
    t0 = time.monotonic()
    url = redact(http.base_url)
    missing = needs_auth and http.token is None
    try:
        data = http.get_json(path, params, deadline=http.deadline(min(http.budget_s, 10.0)))
    except AuthError as exc:
        if missing:
            return Health(
                http.source,
                url,
                True,
                False,
                None,
                _ms(t0),
                "no token stored",
                f"run `aisre auth set {http.source}`",
            )
        return Health(http.source, url, True, False, None, _ms(t0), exc.message, exc.hint or "")
    except AisreError as exc:
        hint = exc.hint or ""
        if missing:
            hint += f"; then store a token: `aisre auth set {http.source}`"
        return Health(
            http.source, url, False, False if missing else None, None, None, exc.message, hint
        )
    try:
        version = version_of(data)
    except Exception:  # a surprising but 2xx answer: reachable, version unknown
        version = None
    if missing:
        return Health(
            http.source,
            url,
            True,
            False,
            version,
            _ms(t0),
            "no token stored",
            f"run `aisre auth set {http.source}`",
        )
    return Health(http.source, url, True, True if http.token else None, version, _ms(t0))


def _ms(t0: float) -> float:
    return round((time.monotonic() - t0) * 1000.0, 1)


def _plain(url: httpx.URL) -> str:
    """A URL fit for a message: no query string, no userinfo, secrets redacted."""
    return redact(str(url.copy_with(query=None, userinfo=b"")))
