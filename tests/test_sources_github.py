"""GitHub deployments/releases change source against the loopback contract server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr

from aisre_cli.errors import AuthError, SourceError
from aisre_cli.model import utcnow
from aisre_cli.settings.config import GitHubSource, HttpSettings
from aisre_cli.sources.github import GitHub, next_link
from tests.contract_servers.base import Reply, Request
from tests.contract_servers.github import GitHubServer


@pytest.fixture()
def server() -> Iterator[GitHubServer]:
    srv = GitHubServer()
    yield srv
    srv.stop()


def conn(srv: GitHubServer, token: str = "gh-test-token", **kw: object) -> GitHub:
    cfg = GitHubSource(
        url=srv.url,
        repos={"acme/checkout": "checkout"},
        http=HttpSettings(read_timeout=10, retries=1),
        **kw,
    )
    # The budget is not what these tests measure; it only has to outlast a loaded
    # machine (250 deployments and their statuses are ~250 requests).
    return GitHub(cfg, token=SecretStr(token), budget_s=120)


def test_next_link() -> None:
    h = (
        '<https://api.github.com/x?page=2>; rel="next",'
        ' <https://api.github.com/x?page=5>; rel="last"'
    )
    assert next_link(h) == "https://api.github.com/x?page=2"
    assert next_link('<https://a/x?page=1>; rel="prev"') is None
    assert next_link(None) is None


def test_deployments_become_changes_with_previous_version(server: GitHubServer) -> None:
    now = utcnow()
    server.add_deployment("acme/checkout", "v1.4.0", now - timedelta(hours=5))
    server.add_deployment(
        "acme/checkout",
        "v1.5.0",
        now - timedelta(minutes=10),
        states=[
            ("in_progress", now - timedelta(minutes=9)),
            ("success", now - timedelta(minutes=7)),
        ],
    )
    server.add_deployment(
        "acme/checkout", "v1.5.0-stg", now - timedelta(minutes=8), environment="staging"
    )
    server.add_release("acme/checkout", "v1.5.0", now - timedelta(minutes=30))
    changes = conn(server, environments=["production"]).fetch_changes(now - timedelta(hours=1), now)
    deploys = [c for c in changes if c.id.startswith("gh-deploy")]
    assert len(deploys) == 1
    d = deploys[0]
    assert d.service == "checkout" and d.version == "v1.5.0" and d.previous_version == "v1.4.0"
    assert abs((d.ts - (now - timedelta(minutes=9))).total_seconds()) < 2
    assert "(success)" in d.summary and d.url and d.url.startswith("https://ci.example.com")
    rel = [c for c in changes if c.id.startswith("gh-release")]
    assert rel and rel[0].version == "v1.5.0"


def test_link_header_pagination_follows_next(server: GitHubServer) -> None:
    now = utcnow()
    for i in range(250):
        server.add_deployment("acme/checkout", f"v{i}", now - timedelta(seconds=250 - i))
    changes = conn(server, releases=False).fetch_changes(now - timedelta(hours=1), now)
    assert len(changes) == 250
    pages = [r.q("page") for r in server.requests if r.path.endswith("/deployments")]
    assert pages == [None, "2", "3"]


def test_paging_stops_once_older_than_the_window(server: GitHubServer) -> None:
    now = utcnow()
    for i in range(300):
        server.add_deployment("acme/checkout", f"v{i}", now - timedelta(days=300 - i))
    conn(server, releases=False).fetch_changes(now - timedelta(hours=1), now)
    pages = [r for r in server.requests if r.path.endswith("/deployments")]
    assert len(pages) == 1


def test_bad_credentials(server: GitHubServer) -> None:
    with pytest.raises(AuthError, match="401"):
        conn(server, token="nope").fetch_changes(utcnow() - timedelta(hours=1), utcnow())


def test_check(server: GitHubServer) -> None:
    h = conn(server).check()
    assert h.ok and h.version and "5000" in h.version


@pytest.mark.parametrize("kind", ["primary", "secondary"])
def test_rate_limit_is_a_source_error_not_a_credential_problem(
    server: GitHubServer, kind: str
) -> None:
    """QA 2026-12-03: a secondary rate limit (403 with `retry-after`, remaining > 0)
    was "refused access: the token lacks the permission" (an AuthError, exit 4)."""
    server.add_deployment("acme/checkout", "v1", utcnow() - timedelta(minutes=5))
    server.rate_limited = kind
    with pytest.raises(SourceError) as ei:
        conn(server).fetch_changes(utcnow() - timedelta(hours=1), utcnow())
    assert not isinstance(ei.value, AuthError)
    assert "rate limit exceeded (HTTP 403)" in ei.value.message
    assert ("secondary" in ei.value.message) == (kind == "secondary")
    assert "retry in" in ei.value.message


def test_forbidden_without_a_rate_limit_is_still_access_refused(server: GitHubServer) -> None:
    class Forbidden(GitHubServer):
        def route(self, req: Request) -> Reply:
            body = {"message": "Resource not accessible by personal access token"}
            return Reply(403, body, {"x-ratelimit-remaining": "4999"})

    with Forbidden() as srv, pytest.raises(AuthError, match="not accessible"):
        conn(srv).fetch_changes(utcnow() - timedelta(hours=1), utcnow())


def test_unknown_repository_says_so(server: GitHubServer) -> None:
    """A 404 for the repository read "this looks like a bug in the request"."""
    with pytest.raises(SourceError, match="repository acme/checkout not found"):
        conn(server).fetch_changes(utcnow() - timedelta(hours=1), utcnow())


def test_one_odd_release_does_not_lose_the_repository(server: GitHubServer) -> None:
    """QA 2026-12-03: one release without a tag (`tag_name: null`) failed the whole
    repository: its deployments were lost too."""
    now = utcnow()
    server.add_deployment("acme/checkout", "v2", now - timedelta(minutes=20))
    server.add_release("acme/checkout", "v2", now - timedelta(minutes=15))
    odd = server.add_release("acme/checkout", "v3", now - timedelta(minutes=10))
    odd["tag_name"], odd["name"] = None, "Spring release"
    server.add_release("acme/checkout", "v4", now - timedelta(minutes=5))["id"] = "x"
    gh = conn(server)
    changes = gh.fetch_changes(now - timedelta(hours=1), now)
    assert [c.version for c in changes] == ["v2", "v2", "Spring release"]
    assert any("1 item(s) skipped" in n.detail for n in gh._notes)
