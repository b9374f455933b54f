"""Issue 11, findings 2 and 3: credentials go only to the origin they were configured
for, and URL userinfo never shows.

Real loopback servers on two origins (`127.0.0.1:A` is configured, `127.0.0.1:B` is
"another host") record the headers each request carried.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr

from aisre_cli.model import utcnow
from aisre_cli.settings.config import GitHubSource, HttpSettings
from aisre_cli.settings.secrets import redact, strip_userinfo
from aisre_cli.sources.github import GitHub
from aisre_cli.sources.http import Http, origin_of
from tests.fakes.echo_server import Answer, EchoServer

TOKEN = "scope-test-token-7f3a9c"


@pytest.fixture()
def two() -> Iterator[tuple[EchoServer, EchoServer]]:
    a, b = EchoServer(), EchoServer()
    yield a, b
    a.stop()
    b.stop()


def _auth(srv: EchoServer) -> list[str | None]:
    return [s.header("authorization") for s in srv.seen]


def test_github_next_link_to_another_host_gets_no_token(
    two: tuple[EchoServer, EchoServer],
) -> None:
    home, other = two
    home.json(
        "/repos/acme/checkout/deployments",
        [],
        Link=f'<{other.url}/repos/acme/checkout/deployments?page=2>; rel="next"',
    )
    other.json("/repos/acme/checkout/deployments", [])
    gh = GitHub(
        GitHubSource(url=home.url, repos={"acme/checkout": "checkout"}, http=HttpSettings()),
        token=SecretStr(TOKEN),
        budget_s=5,
    )
    gh.deployments("acme/checkout", utcnow() - timedelta(hours=1), gh.http.deadline())
    assert _auth(home) == [f"Bearer {TOKEN}"]
    assert len(other.seen) == 1, "the next page was not followed"
    assert _auth(other) == [None]


def test_same_origin_next_link_keeps_the_token(two: tuple[EchoServer, EchoServer]) -> None:
    home, _ = two
    calls = iter(range(10))

    def pages(_s: object) -> Answer:
        if next(calls) == 0:
            link = f'<{home.url}/repos/acme/checkout/deployments?page=2>; rel="next"'
            return Answer(200, [], {"Link": link})
        return Answer(200, [])

    home.route("/repos/acme/checkout/deployments", pages)
    gh = GitHub(
        GitHubSource(url=home.url, repos={"acme/checkout": "checkout"}, http=HttpSettings()),
        token=SecretStr(TOKEN),
        budget_s=5,
    )
    gh.deployments("acme/checkout", utcnow() - timedelta(hours=1), gh.http.deadline())
    assert _auth(home) == [f"Bearer {TOKEN}", f"Bearer {TOKEN}"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_origin_drops_the_token(
    two: tuple[EchoServer, EchoServer], status: int
) -> None:
    home, other = two
    home.json("/api", {}, status, Location=f"{other.url}/landed")
    other.json("/landed", {"ok": True})
    http = Http("svc", home.url, HttpSettings(), token=SecretStr(TOKEN), budget_s=5)
    assert http.get_json("/api") == {"ok": True}
    assert _auth(home) == [f"Bearer {TOKEN}"]
    assert _auth(other) == [None]


def test_redirect_within_the_origin_keeps_the_token(two: tuple[EchoServer, EchoServer]) -> None:
    home, _ = two
    home.json("/old", {}, 302, Location="/new")
    home.json("/new", {"ok": True})
    http = Http(
        "svc", home.url, HttpSettings(), token=SecretStr(TOKEN), auth_format="Token token={token}"
    )
    assert http.get_json("/old") == {"ok": True}
    assert _auth(home) == [f"Token token={TOKEN}"] * 2


def test_custom_auth_header_is_scoped_too(two: tuple[EchoServer, EchoServer]) -> None:
    home, other = two
    home.json("/api", {}, 302, Location=f"{other.url}/x")
    other.json("/x", {})
    http = Http(
        "svc", home.url, HttpSettings(), token=SecretStr(TOKEN), auth_header="X-Scope-Token"
    )
    http.get_json("/api")
    assert home.seen[0].header("x-scope-token") == f"Bearer {TOKEN}"
    assert other.seen[0].header("x-scope-token") is None


def test_redirect_loop_is_bounded(two: tuple[EchoServer, EchoServer]) -> None:
    home, _ = two
    home.json("/loop", {}, 302, Location="/loop")
    http = Http("svc", home.url, HttpSettings(retries=0), token=SecretStr(TOKEN), budget_s=5)
    with pytest.raises(Exception, match="redirects"):
        http.get_json("/loop")
    assert len(home.seen) == 4


def test_origin_is_scheme_host_and_port() -> None:
    assert origin_of("https://api.github.com/x") == origin_of("https://API.github.com:443/y")
    assert origin_of("https://api.github.com/x") != origin_of("http://api.github.com/x")
    assert origin_of("http://h:9090/") != origin_of("http://h:9091/")
    assert origin_of("http://h/") != origin_of("http://h.evil/")


def test_userinfo_becomes_scoped_basic_auth_and_is_never_shown(
    two: tuple[EchoServer, EchoServer],
) -> None:
    home, other = two
    home.json("/api", {}, 302, Location=f"{other.url}/x")
    other.json("/x", {})
    with_creds = home.url.replace("http://", "http://alice:s3cr3t-pw@")
    http = Http("prometheus", with_creds, HttpSettings(), budget_s=5)
    assert http.base_url == home.url
    http.get_json("/api")
    basic = "Basic " + base64.b64encode(b"alice:s3cr3t-pw").decode()
    assert _auth(home) == [basic]
    assert _auth(other) == [None]
    # anything that quotes the URL is clean, and the password is a registered secret
    assert "s3cr3t-pw" not in redact(f"query failed for {with_creds}/api/v1/query")
    assert "alice" not in redact(f"see {with_creds}/graph")


def test_prometheus_evidence_links_have_no_userinfo() -> None:
    from aisre_cli.settings.config import PrometheusSource
    from aisre_cli.sources.prometheus import Prometheus

    prom = Prometheus(PrometheusSource(url="http://bob:pr0m-pass@127.0.0.1:9/"))
    link = prom.graph_url("up", 0.0, 60.0, 15)
    assert "bob" not in link and "pr0m-pass" not in link
    assert link.startswith("http://127.0.0.1:9/graph?")


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("http://u:p@h:9090/x", "http://h:9090/x"),
        ("https://tok3n@h/x", "https://h/x"),
        ("see http://u:p%40ss@h/ and https://a:b@c/", "see http://h/ and https://c/"),
        ("http://h/x?a=b@c", "http://h/x?a=b@c"),
    ],
)
def test_strip_userinfo(url: str, clean: str) -> None:
    assert strip_userinfo(url) == clean


def test_remediation_http_never_follows_a_redirect(two: tuple[EchoServer, EchoServer]) -> None:
    home, other = two
    home.json("/api", {}, 302, Location=f"{other.url}/x")
    http = Http(
        "prometheus.query", home.url, HttpSettings(), token=SecretStr(TOKEN), follow_redirects=False
    )
    with pytest.raises(Exception, match="HTTP 302"):
        http.get_json("/api")
    assert other.seen == []


@pytest.mark.parametrize("kind", ["prometheus", "alertmanager", "loki"])
def test_a_username_sends_the_keyring_secret_as_basic_auth(
    kind: str, two: tuple[EchoServer, EchoServer]
) -> None:
    """QA: a Basic-auth-only Prometheus, Alertmanager or Loki (Grafana Cloud: instance id
    + API token) needed `user:password@` written into config.yaml, which `config init`
    refuses; `username` + the keyring's `token_name` now does it, as for Tempo/Jaeger."""
    from aisre_cli.settings.config import AlertmanagerSource, LokiSource, PrometheusSource
    from aisre_cli.sources.alertmanager import Alertmanager
    from aisre_cli.sources.loki import Loki
    from aisre_cli.sources.prometheus import Prometheus

    home, _ = two
    home.json("/api", {})
    builders = {
        "prometheus": lambda c: Prometheus(PrometheusSource(**c), token=SecretStr("gc-t0ken")),
        "alertmanager": lambda c: Alertmanager(
            AlertmanagerSource(**c), token=SecretStr("gc-t0ken")
        ),
        "loki": lambda c: Loki(LokiSource(**c), token=SecretStr("gc-t0ken")),
    }
    src = builders[kind]({"url": home.url, "token_name": "grafana", "username": "123456"})
    src.http.get_json("/api")
    assert _auth(home) == ["Basic " + base64.b64encode(b"123456:gc-t0ken").decode()]
    # without a username the same secret is a bearer token, as before
    src = builders[kind]({"url": home.url, "token_name": "grafana"})
    src.http.get_json("/api")
    assert _auth(home)[-1] == "Bearer gc-t0ken"
