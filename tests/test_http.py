"""The shared HTTP layer: retries, Retry-After, deadlines, caps, redaction, writes.

Unit cases run on respx (no sockets, an injected sleep records the backoff); the
transport-level faults (hang, trickle, truncated body, 50 MB body, refused) run
against the loopback FaultServer because only a real socket shows them.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import SecretStr

from aisre_cli.errors import AuthError, SourceError
from aisre_cli.settings.config import HttpSettings
from aisre_cli.settings.secrets import redact, register_secret
from aisre_cli.sources.http import Http, WriteOutcomeUnknown, parse_retry_after
from tests.contract_servers.base import (
    ContractServer,
    FaultServer,
    Reply,
    Request,
    closed_port_url,
)

BASE = "http://api.test"


def make(client: httpx.Client | None = None, **kw: object) -> tuple[Http, list[float]]:
    sleeps: list[float] = []
    settings = HttpSettings(connect_timeout=0.5, read_timeout=0.5, retries=2)
    http = Http(
        source="svc",
        base_url=kw.pop("base_url", BASE),  # type: ignore[arg-type]
        settings=kw.pop("settings", settings),  # type: ignore[arg-type]
        client=client,
        sleep=sleeps.append,
        rand=lambda: 0.5,
        **kw,  # type: ignore[arg-type]
    )
    return http, sleeps


@respx.mock
def test_retries_503_then_succeeds_honouring_retry_after() -> None:
    route = respx.get(f"{BASE}/x").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    http, sleeps = make(httpx.Client())
    assert http.get_json("/x") == {"ok": True}
    assert route.call_count == 2
    assert sleeps == [pytest.approx(2.05)]


@respx.mock
def test_429_uses_pagerduty_ratelimit_reset() -> None:
    respx.get(f"{BASE}/x").mock(
        side_effect=[
            httpx.Response(429, headers={"ratelimit-reset": "1"}),
            httpx.Response(200, json=[]),
        ]
    )
    http, sleeps = make(httpx.Client())
    assert http.get_json("/x") == []
    assert sleeps == [pytest.approx(1.05)]


@respx.mock
def test_backoff_is_bounded_and_jittered() -> None:
    route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(502))
    http, sleeps = make(httpx.Client())
    with pytest.raises(SourceError, match="HTTP 502"):
        http.get_json("/x")
    assert route.call_count == 3  # 1 + 2 retries
    assert sleeps == [pytest.approx(0.1875), pytest.approx(0.375)]


@pytest.mark.parametrize("status", [400, 401, 403, 404])
@respx.mock
def test_client_errors_are_never_retried(status: int) -> None:
    route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(status, json={"e": 1}))
    http, sleeps = make(httpx.Client())
    with pytest.raises((AuthError, SourceError)) as info:
        http.get_json("/x")
    assert route.call_count == 1 and sleeps == []
    assert isinstance(info.value, AuthError) == (status in (401, 403))


@respx.mock
def test_writes_are_never_retried() -> None:
    route = respx.post(f"{BASE}/w").mock(return_value=httpx.Response(503))
    http, sleeps = make(httpx.Client())
    with pytest.raises(SourceError, match="HTTP 503"):
        http.request("POST", "/w", json_body={"a": 1})
    assert route.call_count == 1 and sleeps == []


@respx.mock
def test_write_timeout_is_reported_as_unknown_outcome() -> None:
    respx.post(f"{BASE}/w").mock(side_effect=httpx.ReadTimeout("boom"))
    http, _ = make(httpx.Client())
    with pytest.raises(WriteOutcomeUnknown, match="may or may not"):
        http.request("POST", "/w", json_body={})


@respx.mock
def test_retry_after_beyond_the_deadline_fails_now() -> None:
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(429, headers={"Retry-After": "60"}))
    http, sleeps = make(httpx.Client(), budget_s=2.0)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="retry after 60s"):
        http.get_json("/x")
    assert sleeps == [] and time.monotonic() - t0 < 10


@respx.mock
def test_malformed_json_is_a_source_error() -> None:
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(200, content=b"{nope"))
    http, _ = make(httpx.Client())
    with pytest.raises(SourceError, match="invalid JSON"):
        http.get_json("/x")


@respx.mock
def test_a_lone_surrogate_escape_loses_one_character_not_the_answer() -> None:
    """A log line cut inside an emoji by an encoder that escapes UTF-16 units: orjson
    refuses the whole body; every other line, a real pair and an escaped backslash
    before `u` stay as they were."""
    body = (
        rb'{"values": [["1", "cut \ud83d"], ["2", "ok \ud83d\ude00"],'
        rb' ["3", "path C:\\ud800"], ["4", "low \udc00 end"]]}'
    )
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(200, content=body))
    http, _ = make(httpx.Client())
    got = [v for _, v in http.get_json("/x")["values"]]
    assert got == ["cut \ufffd", "ok \U0001f600", "path C:\\ud800", "low \ufffd end"]


@respx.mock
def test_declared_oversized_body_is_refused() -> None:
    big = HttpSettings(max_body_bytes=1000)
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(200, content=b"x" * 5000))
    http, _ = make(httpx.Client(), settings=big)
    with pytest.raises(SourceError, match="cap"):
        http.get_json("/x")


@respx.mock
def test_token_is_sent_and_redacted_from_errors() -> None:
    token = "s3cr3t-canary-value-123"
    route = respx.get(f"{BASE}/x").mock(
        return_value=httpx.Response(500, text=f"echo: Bearer {token} and ?api_key={token}")
    )
    http, _ = make(httpx.Client(), token=SecretStr(token))
    with pytest.raises(SourceError) as info:
        http.get_json("/x", {"token": token})
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {token}"
    assert token not in str(info.value) and token not in (info.value.hint or "")


def test_redact_patterns() -> None:
    register_secret("abcd-registered-secret")
    text = (
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y ?access_token=zzz&x=1 "
        "value abcd-registered-secret"
    )
    out = redact(text)
    assert "eyJhbGci" not in out and "zzz" not in out and "registered-secret" not in out
    assert "x=1" in out


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"}, now) == 20.0
    assert parse_retry_after({"retry-after": "5"}) == 5.0
    assert (
        parse_retry_after(
            {"x-ratelimit-reset": str(int(now) + 30), "x-ratelimit-remaining": "0"}, now
        )
        == 30.0
    )
    assert parse_retry_after({}) is None


# ---------------------------------------------------------------- real sockets


@pytest.fixture()
def fault() -> Iterator[FaultServer]:
    srv = FaultServer()
    yield srv
    srv.stop()


def real(url: str, budget: float = 2.0) -> Http:
    return Http(
        source="svc",
        base_url=url,
        settings=HttpSettings(connect_timeout=0.5, read_timeout=0.5, retries=1),
        budget_s=budget,
    )


def test_hang_ends_at_the_read_timeout(fault: FaultServer) -> None:
    fault.set_fault("hang")
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="read timeout"):
        real(fault.url).get_json("/x")
    # Two 0.5 s read timeouts end it; the server would hang for 30 s.
    assert time.monotonic() - t0 < 15.0


def test_the_body_cap_is_named_in_readable_units() -> None:
    from aisre_cli.sources.http import _size

    assert [_size(n) for n in (20_000_000, 5_000_000, 2_500_000, 300_000, 500)] == [
        "20 MB",
        "5 MB",
        "2.5 MB",
        "300 kB",  # was "0 MB"
        "500 bytes",
    ]


def test_a_hang_cut_by_the_budget_says_so(fault: FaultServer) -> None:
    """A 30 s read timeout and a 1 s budget: the message names the second wait it had,
    not a "no response within 30s" it never waited."""
    fault.set_fault("hang")
    http = Http(
        source="svc",
        base_url=fault.url,
        settings=HttpSettings(connect_timeout=0.5, read_timeout=30, retries=1),
        budget_s=1.0,
    )
    with pytest.raises(SourceError, match=r"within \d+\.\ds, when the time budget ran out"):
        http.get_json("/x")


def test_trickling_body_ends_at_the_deadline(fault: FaultServer) -> None:
    fault.set_fault("slow")
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="time budget"):
        real(fault.url, budget=1.2).get_json("/x")
    # The server trickles a byte every 0.2 s for 30 s, so no read timeout ever fires:
    # only the budget can end this. Half the trickle is a margin no loaded machine needs.
    assert time.monotonic() - t0 < 15.0


def test_truncated_body_is_a_clear_error(fault: FaultServer) -> None:
    fault.set_fault("truncated")
    with pytest.raises(SourceError, match="truncated"):
        real(fault.url).get_json("/x")


def test_fifty_megabytes_are_refused_while_streaming(fault: FaultServer) -> None:
    fault.set_fault("huge")
    http = real(fault.url)
    http.settings = HttpSettings(read_timeout=2, max_body_bytes=5_000_000)
    with pytest.raises(SourceError, match="exceeds the 5 MB cap"):
        http.get_json("/x")


def test_connection_refused_is_retried_then_reported() -> None:
    with pytest.raises(SourceError, match="connection refused"):
        real(closed_port_url()).get_json("/x")


def test_custom_ca_file_must_exist(tmp_path: object) -> None:
    from aisre_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="CA bundle"):
        Http(source="s", base_url="https://x", settings=HttpSettings(ca_file="/nonexistent.pem"))


# ---------------------------------------------------------------- TLS


def _make_certs(d: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (openssl CLI)."""
    ca_key, ca, key, csr, crt = (d / n for n in ("ca.key", "ca.pem", "s.key", "s.csr", "s.pem"))
    ext = d / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "1",
        "-subj",
        "/CN=aisre-test-ca",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
    )
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(crt),
        "-days",
        "1",
        "-extfile",
        str(ext),
    )
    return ca, crt, key


class _Json(ContractServer):
    def route(self, req: Request) -> Reply:
        return Reply(200, {"ok": True})


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_tls_verification_default_custom_ca_and_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca, crt, key = _make_certs(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))
    srv = _Json(tls=ctx)
    try:
        assert srv.url.startswith("https://")
        strict = Http(
            source="svc", base_url=srv.url, settings=HttpSettings(retries=0, read_timeout=2)
        )
        with pytest.raises(SourceError, match="TLS error"):
            strict.get_json("/x")
        custom = Http(
            source="svc", base_url=srv.url, settings=HttpSettings(retries=0, ca_file=str(ca))
        )
        assert custom.get_json("/x") == {"ok": True}
        with caplog.at_level(logging.WARNING, logger="aisre.http"):
            off = Http(
                source="svc", base_url=srv.url, settings=HttpSettings(retries=0, verify_tls=False)
            )
            assert off.get_json("/x") == {"ok": True}
        assert "TLS verification is OFF" in caplog.text
    finally:
        srv.stop()


@respx.mock
def test_github_403_rate_limit_is_not_an_auth_error() -> None:
    route = respx.get(f"{BASE}/x").mock(
        return_value=httpx.Response(
            403,
            json={"message": "API rate limit exceeded"},
            headers={
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(int(time.time()) + 600),
            },
        )
    )
    http, sleeps = make(httpx.Client())
    with pytest.raises(SourceError, match="rate limited") as info:
        http.get_json("/x")
    assert not isinstance(info.value, AuthError)
    assert route.call_count == 1 and sleeps == []


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (  # Kubernetes Status (etcd timing out, after the retries)
            b'{"kind":"Status","apiVersion":"v1","status":"Failure",'
            b'"message":"etcdserver: request timed out","reason":"InternalError","code":503}',
            "etcdserver: request timed out",
        ),
        (  # Prometheus
            b'{"status":"error","errorType":"timeout","error":"query timed out"}',
            "timeout: query timed out",
        ),
        (  # PagerDuty
            b'{"error":{"message":"Invalid Input Provided","code":2001,'
            b'"errors":["Escalation level must be between 1 and 2"]}}',
            "Invalid Input Provided Escalation level must be between 1 and 2",
        ),
        (  # Jaeger
            b'{"data":null,"total":0,"errors":[{"code":500,"msg":"cassandra:\\ntimeout"}]}',
            "cassandra: timeout",
        ),
        (b'{"message":"Not Found","documentation_url":"https://docs.github.com"}', "Not Found"),
        (b"upstream connect error", "upstream connect error"),
        (b'{"foo": 1}', '{"foo": 1}'),
    ],
)
def test_an_error_body_is_shown_by_its_message(body: bytes, said: str) -> None:
    """A failing API's JSON error body was shown raw (`answered HTTP 503: {"kind":
    "Status", ...`); its message is what the engineer needs."""
    from aisre_cli.sources.http import _short_body

    assert _short_body(body) == said
