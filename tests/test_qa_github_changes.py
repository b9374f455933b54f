"""QA pass on the GitHub change source and the change file: what an SRE would hit on a
page with inputs the real GitHub REST API produces (and a feed written by a deploy
pipeline). Each test names the defect it pins."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from aisre_cli.errors import AuthError
from aisre_cli.model import utcnow
from aisre_cli.settings.config import GitHubSource, HttpSettings
from aisre_cli.sources.changefile import ChangeFile
from aisre_cli.sources.github import GitHub, next_link
from aisre_cli.sources.tracing import GATHER_DEADLINE
from tests.contract_servers.base import Reply, Request
from tests.contract_servers.github import GitHubServer

TOKEN = "gh-test-token"


@pytest.fixture()
def server() -> Iterator[GitHubServer]:
    srv = GitHubServer()
    yield srv
    srv.stop()


def conn(
    srv: GitHubServer,
    *,
    repos: dict[str, str] | None = None,
    budget_s: float = 60,
    read_timeout: float = 10,
    retries: int = 1,
    **kw: Any,
) -> GitHub:
    cfg = GitHubSource(
        url=srv.url,
        repos=repos or {"acme/checkout": "checkout"},
        http=HttpSettings(read_timeout=read_timeout, retries=retries),
        **kw,
    )
    return GitHub(cfg, token=SecretStr(TOKEN), budget_s=budget_s)


def window() -> tuple[datetime, datetime]:
    now = utcnow()
    return now - timedelta(hours=1), now + timedelta(minutes=1)


# ---------------------------------------------------------------- Link header


def test_next_link_reads_rel_with_other_params_and_commas() -> None:
    """RFC 8288: a link may carry other parameters before `rel`, `rel` may hold
    several space-separated relation types, and the URL inside `<...>` may hold a
    comma (an environment filter such as `eu,prod`). Each was "no next page": paging
    stopped silently after the first page."""
    u = "https://api.github.com/repositories/1/deployments?environment=eu,prod&page=2"
    assert next_link(f'<{u}>; rel="next", <https://x/last>; rel="last"') == u
    assert next_link('<https://x/2>; type="application/json"; rel="next"') == "https://x/2"
    assert next_link('<https://x/2>; rel="next last"') == "https://x/2"
    assert next_link("<https://x/2>; rel=next") == "https://x/2"
    assert next_link('<https://x/2>; rel="nextpage"') is None
    assert next_link('<https://x/1>; rel="prev", <https://x/9>; rel="last"') is None
    assert next_link("garbage; rel=next") is None
    assert next_link("") is None


# ---------------------------------------------------------------- what was answered is kept


class _FailingPage(GitHubServer):
    """Answers the first page of the deployments list, then 500s every later page (a
    GitHub hiccup while paging)."""

    def route(self, req: Request) -> Reply:
        if req.path.endswith("/deployments") and req.q("page") not in (None, "1"):
            return Reply(500, self.error_body(500, "Server Error"))
        return super().route(req)


def test_a_later_deployments_page_that_fails_keeps_the_first_page() -> None:
    """A 500 on page 2 of the deployments list lost the repository: the deploy of ten
    minutes ago (on page 1) was gone, and the note said only "HTTP 500"."""
    now = utcnow()
    with _FailingPage() as srv:
        for i in range(150):
            srv.add_deployment("acme/checkout", f"v{i}", now - timedelta(seconds=600 + 150 - i))
        gh = conn(srv, releases=False)
        changes = gh.fetch_changes(*window())
        notes = [n.detail for n in gh.drain_notes()]
    assert len(changes) == 100
    assert changes[-1].version == "v149"
    assert any("page 2" in n and "500" in n for n in notes), notes


class _FailingStatuses(GitHubServer):
    """Deployment statuses answer 502 (after retries): the list itself answers."""

    def route(self, req: Request) -> Reply:
        if req.path.endswith("/statuses"):
            return Reply(502, self.error_body(502, "Server Error"))
        return super().route(req)


def test_unreadable_statuses_keep_the_deployment_at_its_creation_time() -> None:
    """Statuses that could not be read lost every deployment of the repository,
    though the deployment list (what changed, when it was created) had answered."""
    now = utcnow()
    with _FailingStatuses() as srv:
        srv.add_deployment("acme/checkout", "v1", now - timedelta(minutes=30))
        srv.add_deployment("acme/checkout", "v2", now - timedelta(minutes=10))
        gh = conn(srv, releases=False, retries=0)
        changes = gh.fetch_changes(*window())
        notes = [n.detail for n in gh.drain_notes()]
        asked = [r for r in srv.requests if r.path.endswith("/statuses")]
    assert [c.version for c in changes] == ["v1", "v2"]
    assert abs((changes[1].ts - (now - timedelta(minutes=10))).total_seconds()) < 2
    assert changes[1].previous_version == "v1"
    assert any("statuses" in n and "502" in n for n in notes), notes
    # a failing statuses endpoint is not asked again for every deployment
    assert len(asked) == 1


def test_hung_statuses_end_before_the_gathers_deadline(server: GitHubServer) -> None:
    """The source ignored the gather's deadline (tracing.GATHER_DEADLINE): a hung
    statuses endpoint held it for the profile's read timeout, the gather gave up on it
    first, and the deployments already listed were dropped with it."""
    now = utcnow()
    d = server.add_deployment("acme/checkout", "v7", now - timedelta(minutes=5))
    server.set_fault("hang", f"/repos/acme/checkout/deployments/{d['id']}/statuses")
    gh = conn(server, releases=False, budget_s=60, read_timeout=30)
    token = GATHER_DEADLINE.set(time.monotonic() + 4.0)
    t0 = time.monotonic()
    try:
        changes = gh.fetch_changes(*window())
    finally:
        GATHER_DEADLINE.reset(token)
    took = time.monotonic() - t0
    assert took < 4.0, took
    assert [c.version for c in changes] == ["v7"]
    assert gh.drain_notes()


def test_one_forbidden_repository_does_not_lose_the_others(server: GitHubServer) -> None:
    """A 403 on one repository (an organisation enforcing SAML SSO the token is not
    authorised for) raised an AuthError for the whole source: the other repositories'
    deploys were never read."""

    class Sso(GitHubServer):
        def route(self, req: Request) -> Reply:
            if req.path.startswith("/repos/sso-org/"):
                msg = (
                    "Resource protected by organization SAML enforcement. You must grant"
                    " your Personal Access token access to this organization."
                )
                return Reply(403, self.error_body(403, msg), {"x-ratelimit-remaining": "4990"})
            return super().route(req)

    now = utcnow()
    with Sso() as srv:
        srv.add_deployment("acme/checkout", "v3", now - timedelta(minutes=5))
        repos = {"sso-org/payments": "payments", "acme/checkout": "checkout"}
        gh = conn(srv, repos=repos, releases=False)
        changes = gh.fetch_changes(*window())
        notes = [n.detail for n in gh.drain_notes()]
        assert [c.version for c in changes] == ["v3"]
        assert any("sso-org/payments" in n and "SAML" in n for n in notes), notes
        # every repository forbidden: still the credential problem it is
        with pytest.raises(AuthError, match="SAML"):
            conn(srv, repos={"sso-org/payments": "payments"}).fetch_changes(*window())


def test_bad_token_still_fails_the_source(server: GitHubServer) -> None:
    server.add_deployment("acme/checkout", "v1", utcnow() - timedelta(minutes=5))
    cfg = GitHubSource(url=server.url, repos={"acme/checkout": "checkout", "a/b": "b"})
    with pytest.raises(AuthError, match="401"):
        GitHub(cfg, token=SecretStr("wrong"), budget_s=30).fetch_changes(*window())
    assert len(server.requests) == 1  # a bad token is not tried on every repository


def test_a_renamed_repository_is_followed(server: GitHubServer) -> None:
    """GitHub answers the old name of a renamed repository with 301 to
    /repositories/{id}/...: its deploys are still read, pages and statuses included."""
    now = utcnow()
    for i in range(120):
        server.add_deployment("acme/shop", f"v{i}", now - timedelta(seconds=900 - i))
    server.add_release("acme/shop", "v119", now - timedelta(minutes=2))
    server.renamed["acme/checkout"] = "acme/shop"
    gh = conn(server)
    changes = gh.fetch_changes(*window())
    assert len([c for c in changes if c.id.startswith("gh-deploy")]) == 120
    assert any(c.id.startswith("gh-release") for c in changes)
    assert all("(success)" in c.summary for c in changes if c.id.startswith("gh-deploy"))
    assert not gh.drain_notes()
    assert any(r.path.startswith("/repositories/") and r.q("page") == "2" for r in server.requests)


class _LimitedAfterList(GitHubServer):
    """The primary rate limit runs out right after the deployments list answered."""

    def route(self, req: Request) -> Reply:
        if req.path.endswith("/statuses") or req.path.endswith("/releases"):
            self.rate_limited = "primary"
        return super().route(req)


def test_a_rate_limit_after_the_list_keeps_the_deployments() -> None:
    """The rate limit ran out between the deployment list and the statuses: the
    deployments already listed were lost with the repository."""
    now = utcnow()
    with _LimitedAfterList() as srv:
        srv.add_deployment("acme/checkout", "v1", now - timedelta(minutes=20))
        srv.add_deployment("acme/checkout", "v2", now - timedelta(minutes=5))
        gh = conn(srv)
        changes = gh.fetch_changes(*window())
        notes = [n.detail for n in gh.drain_notes()]
    assert [c.version for c in changes] == ["v1", "v2"]
    assert all("(status unknown)" in c.summary for c in changes)
    assert any("rate limit" in n and "statuses" in n for n in notes), notes
    assert any("releases not read" in n for n in notes), notes


def test_status_timestamps_with_and_without_fractions_are_ordered_by_time(
    server: GitHubServer,
) -> None:
    """Statuses were ordered as text: `10:00:05.250Z` came before `10:00:05Z`, so the
    final state could be an earlier one."""
    now = utcnow().replace(microsecond=0)
    d = server.add_deployment("acme/checkout", "v9", now - timedelta(minutes=5))
    t = now - timedelta(minutes=4)
    server.statuses[d["id"]] = [
        {"id": 3, "state": "failure", "created_at": t.strftime("%Y-%m-%dT%H:%M:%S.250Z")},
        {"id": 2, "state": "in_progress", "created_at": t.strftime("%Y-%m-%dT%H:%M:%SZ")},
    ]
    (c,) = conn(server, releases=False).fetch_changes(*window())
    assert "(failure)" in c.summary
    assert c.ts == t


# ---------------------------------------------------------------- the change file


def _line(cid: str, ts: str = "2026-03-01T10:00:00Z", **extra: str) -> bytes:
    import json

    row = {"id": cid, "ts": ts, "service": "checkout", "kind": "deploy", **extra}
    return json.dumps(row, ensure_ascii=False).encode()


def test_a_byte_order_mark_does_not_cost_the_first_change(tmp_path: Path) -> None:
    """A feed started by a Windows tool (PowerShell 5's `-Encoding UTF8` writes a BOM)
    lost its first change as "invalid JSON (UTF-8 byte order mark (BOM) is not
    supported)"; CRLF line ends were already fine."""
    p = tmp_path / "c.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + _line("a") + b"\r\n" + _line("b") + b"\r\n")
    feed = ChangeFile(p)
    assert [c.id for c in feed.read_all()] == ["a", "b"]
    assert not feed.drain_notes()


def test_a_line_with_bytes_that_are_not_utf8_is_kept(tmp_path: Path) -> None:
    """A pipeline in a Latin-1 locale wrote the author `René` as one byte: the whole
    change was skipped ("str is not valid UTF-8: surrogates not allowed")."""
    p = tmp_path / "c.jsonl"
    p.write_bytes(_line("a") + b"\n" + _line("b", author="Ren\u00e9").replace(b"\xc3\xa9", b"\xe9"))
    feed = ChangeFile(p)
    changes = feed.read_all()
    assert [c.id for c in changes] == ["a", "b"]
    assert changes[1].author == "Ren\ufffd"


def test_a_repeated_change_id_is_one_change(tmp_path: Path) -> None:
    """A pipeline step that retried its write left the same change twice: triage saw
    two identical deploys (two hypotheses splitting one cause's weight). The later line
    wins (a re-recorded correction), with a note."""
    p = tmp_path / "c.jsonl"
    p.write_bytes(
        _line("d-1", version="v1")
        + b"\n"
        + _line("d-2", ts="2026-03-01T10:05:00Z", version="v2")
        + b"\n"
        + _line("d-1", version="v1", summary="retried")
        + b"\n"
    )
    feed = ChangeFile(p)
    changes = feed.read_all()
    assert [(c.id, c.summary) for c in changes] == [("d-1", "retried"), ("d-2", "")]
    notes = [n.detail for n in feed.drain_notes()]
    assert any("d-1" in n and "line 3" in n for n in notes), notes


def test_a_line_that_is_not_an_object_says_so(tmp_path: Path) -> None:
    """A line holding a JSON list read ": input should be a valid dictionary or
    instance of changein" (pydantic's private model name, no field)."""
    p = tmp_path / "c.jsonl"
    p.write_bytes(_line("a") + b"\n[1, 2]\n")
    feed = ChangeFile(p)
    assert [c.id for c in feed.read_all()] == ["a"]
    (note,) = feed.drain_notes()
    assert "line 2: not a JSON object" in note.detail
    assert "changein" not in note.detail and "1 malformed line " in note.detail
