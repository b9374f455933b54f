"""GitHub deployments (with their statuses) and releases as a change source.

For each configured `owner/repo → service`:

* `GET /repos/{owner}/{repo}/deployments` (newest first, `Link`-header pagination;
  paging stops once a page is older than the window), then for every deployment in
  the window `GET .../deployments/{id}/statuses` (newest first): the change time is
  when the deployment first reached `in_progress`/`success` (else its creation),
  and its final state is in the summary (a failed deploy is still a change);
* `GET /repos/{owner}/{repo}/releases` (optional): a published release is a change
  of kind `deploy` whose version is the tag.

`previous_version` is the ref of the previous deployment to the same environment, so
the evidence reads "checkout v1.4.2 → v1.5.0".

What answered is kept: a later page that fails ends paging with a partial note,
statuses that cannot be read (a rate limit, a failing endpoint) leave the deployment
timed at its creation, and a repository that fails (404, a 403 for it alone) is a note
while another answered. Like the other live sources (sources/tracing.py, `Clock`), no
new request starts once `SOFT` of the budget (the gather's, when shorter) is spent and
every request ends by `HARD`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aisre_cli.errors import AuthError, SourceError
from aisre_cli.model import Change, SourceNote
from aisre_cli.settings.config import GitHubSource
from aisre_cli.settings.secrets import redact
from aisre_cli.sources.catalog import SourceEnv, SourceType
from aisre_cli.sources.http import (
    Health,
    HttpSource,
    Response,
    parse_model,
    parse_retry_after,
    probe,
)
from aisre_cli.sources.timeparse import TimestampError, to_datetime
from aisre_cli.sources.tracing import Clock

PER_PAGE = 100
MAX_PAGES = 10
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,<]*)*)")
"""One `<url>; param; param` of a Link header (RFC 8288): the URL may hold commas."""
_REL = re.compile(r'(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))', re.IGNORECASE)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _User(_Lenient):
    login: str = ""


class Deployment(_Lenient):
    id: int
    sha: str = ""
    ref: str = ""
    task: str = "deploy"
    environment: str = ""
    description: str | None = None
    creator: _User | None = None
    created_at: str
    updated_at: str | None = None
    statuses_url: str | None = None
    url: str = ""


class DeploymentStatus(_Lenient):
    id: int
    state: str
    description: str | None = None
    environment: str | None = None
    created_at: str
    log_url: str | None = None
    target_url: str | None = None
    environment_url: str | None = None


class Release(_Lenient):
    id: int
    tag_name: str | None = None
    """Empty or missing on a draft whose tag does not exist yet."""
    name: str | None = None
    draft: bool = False
    prerelease: bool = False
    created_at: str
    published_at: str | None = None
    html_url: str = ""
    author: _User | None = None


_M = TypeVar("_M", bound=BaseModel)


class RepoForbidden(AuthError):
    """A 403 that is not a rate limit: this repository refused the token (an
    organisation's SAML SSO, a fine-grained token without it). The token may still read
    the other repositories, unlike a 401."""


class _List(_Lenient):
    items: list[Any] = Field(default_factory=list)


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of a Link header, if any (other parameters may come before
    `rel`, `rel` may name several relation types, the URL may hold a comma)."""
    if not header:
        return None
    for m in _LINK.finditer(header):
        rel = _REL.search(m.group(2))
        if rel and "next" in (rel.group(1) or rel.group(2) or "").lower().split():
            return m.group(1).strip() or None
    return None


class GitHub(HttpSource):
    """GitHub REST API. Implements `ChangeSource`."""

    def __init__(
        self,
        cfg: GitHubSource,
        *,
        token: SecretStr | None = None,
        client: httpx.Client | None = None,
        budget_s: float = 20.0,
        name: str = "github",
    ) -> None:
        super().__init__(
            name,
            cfg,
            token=token,
            client=client,
            budget_s=budget_s,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        self.cfg = cfg

    def _pages(
        self,
        path: str,
        params: dict[str, str],
        deadline: float,
        older_than: datetime | None,
        ts_key: str,
        soft: float | None = None,
    ) -> list[dict[str, Any]]:
        """Follow Link rel=next until exhausted, MAX_PAGES, or items older than `older_than`.

        A later page that fails, or the time budget spent (`soft`: no new page after
        it), ends paging with a partial note: the pages read are kept."""
        out: list[dict[str, Any]] = []
        url: str | None = path
        p: dict[str, str] | None = {**params, "per_page": str(PER_PAGE)}
        pages = 0
        while url:
            if pages and soft is not None and time.monotonic() >= soft:
                self._notes.append(
                    SourceNote(
                        self.name,
                        "partial",
                        f"{path}: time budget spent after {pages} page(s); later pages not read",
                    )
                )
                break
            try:
                nxt, data = self._page(url, p, path, deadline)
            except SourceError as exc:
                if not pages:
                    raise
                self._notes.append(
                    SourceNote(
                        self.name,
                        "partial",
                        f"{path}: page {pages + 1} failed, kept the {pages} page(s) read:"
                        f" {exc.message}",
                    )
                )
                break
            url = nxt
            items = [x for x in data if isinstance(x, dict)]
            out.extend(items)
            pages += 1
            if older_than is not None and items:
                last = items[-1].get(ts_key) or items[-1].get("created_at")
                try:
                    if last and to_datetime(last) < older_than:
                        break
                except TimestampError:
                    pass
            p = None  # the next link carries the query
            if url and pages >= MAX_PAGES:
                self._notes.append(
                    SourceNote(self.name, "partial", f"{path}: stopped after {MAX_PAGES} pages")
                )
                break
        return out

    def _page(
        self, url: str, params: dict[str, str] | None, path: str, deadline: float
    ) -> tuple[str | None, list[Any]]:
        """One page of a list: (the next page's URL, its items)."""
        resp = self.http.request("GET", url, params=params, deadline=deadline, ok=(200, 403))
        if resp.status == 403:
            self._forbidden(resp, path)
        data = resp.json(self.name)
        if not isinstance(data, list):
            raise SourceError(f"{self.name}: {path}: expected a JSON list")
        return next_link(resp.headers.get("link")), data

    def _forbidden(self, resp: Response, path: str) -> NoReturn:
        """A 403: a rate limit (primary: `x-ratelimit-remaining: 0`; secondary: a
        `retry-after` header or a message that says so) is a source error to wait out,
        not a credential problem; anything else is access refused.

        https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
        ("If you exceed a secondary rate limit, you will receive a 403 Forbidden or 429
        Too Many Requests response and an error message that indicates that you
        exceeded a secondary rate limit")."""
        try:
            body = orjson.loads(resp.body)
        except orjson.JSONDecodeError:
            body = None
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        h = resp.headers
        secondary = "secondary rate limit" in message.lower() or "abuse" in message.lower()
        if h.get("x-ratelimit-remaining") == "0" or h.get("retry-after") or secondary:
            wait = parse_retry_after(h)
            kind = "secondary rate limit" if secondary or h.get("retry-after") else "rate limit"
            raise SourceError(
                f"{self.name}: {kind} exceeded (HTTP 403) on {path}"
                + (f"; retry in {wait:.0f}s" if wait is not None else ""),
                hint="wait and try again; a token with a higher limit (a GitHub App) helps",
            )
        raise RepoForbidden(
            f"{self.name}: refused access (HTTP 403) to {path}"
            + (f": {redact(message[:200])}" if message else ""),
            hint="the token lacks read access to deployments/releases of this repository"
            " (classic: `repo` or `repo_deployment`; fine-grained: Deployments and Contents:"
            " read)",
        )

    def deployments(
        self, repo: str, start: datetime, deadline: float, soft: float | None = None
    ) -> list[Deployment]:
        params: dict[str, str] = {}
        if len(self.cfg.environments) == 1:
            params["environment"] = self.cfg.environments[0]
        path = f"/repos/{repo}/deployments"
        raw = self._pages(path, params, deadline, start, "created_at", soft)
        deps = parse_model(_List, {"items": raw}, self.name, "deployments").items
        return self._each(Deployment, deps, f"/repos/{repo}/deployments")

    def statuses(self, repo: str, dep_id: int, deadline: float) -> list[DeploymentStatus]:
        path = f"/repos/{repo}/deployments/{dep_id}/statuses"
        raw = self._pages(path, {}, deadline, None, "created_at")
        return self._each(DeploymentStatus, raw, path)

    def releases(
        self, repo: str, start: datetime, deadline: float, soft: float | None = None
    ) -> list[Release]:
        path = f"/repos/{repo}/releases"
        raw = self._pages(path, {}, deadline, start, "created_at", soft)
        return self._each(Release, raw, path)

    def _each(self, model: type[_M], raw: list[dict[str, Any]], path: str) -> list[_M]:
        """Every item that parses; one odd item (a release without a tag, a status
        without a state) is a partial note, not the loss of the repository's changes."""
        out: list[_M] = []
        bad: list[str] = []
        for item in raw:
            try:
                out.append(parse_model(model, item, self.name, path))
            except SourceError as exc:
                bad.append(exc.message)
        if bad:
            self._notes.append(
                SourceNote(self.name, "partial", f"{len(bad)} item(s) skipped: {bad[0]}")
            )
        return out

    def fetch_changes(self, start: datetime, end: datetime) -> list[Change]:
        """Every repository's changes. The time budget is the gather's when it is shorter
        (`tracing.Clock`): no new request starts once `SOFT` of it is spent and every
        request ends by `HARD`, so what was read reaches the gather, with a partial note.
        A repository that fails (a 404, a 403 for it alone, a 5xx) is a partial note
        while another answered; a 401 (the token itself) fails the source at once."""
        clock = Clock.start(self.http.budget_s)
        out: list[Change] = []
        failures: list[str] = []
        unread: list[str] = []
        last: SourceError | AuthError | None = None
        for repo, service in self.cfg.repos.items():
            if clock.spent():
                unread.append(repo)
                continue
            try:
                out.extend(self._repo_changes(repo, service, start, end, clock))
            except RepoForbidden as exc:
                failures.append(exc.message)
                last = exc
            except AuthError:
                raise
            except SourceError as exc:
                if "answered HTTP 404" in exc.message and f"/repos/{repo}/" in exc.message:
                    # GitHub answers 404, not 403, for a private repository the token
                    # cannot see: name both causes, not "a bug in the request"
                    exc = SourceError(
                        f"{self.name}: repository {repo} not found, or the token cannot see"
                        " it (GitHub answers 404 for private repositories it hides)",
                        hint="check `sources.github.repos` in the profile and the token's"
                        " access to that repository",
                    )
                failures.append(exc.message)
                last = exc
        if last is not None and len(failures) == len(self.cfg.repos):
            raise last
        for f in failures:
            self._notes.append(SourceNote(self.name, "partial", f))
        if unread:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"time budget spent: {len(unread)} repositor"
                    f"{'y' if len(unread) == 1 else 'ies'} not read ({', '.join(unread)})",
                )
            )
        out.sort(key=lambda c: c.ts)
        return out

    def _repo_changes(
        self, repo: str, service: str, start: datetime, end: datetime, clock: Clock
    ) -> list[Change]:
        out: list[Change] = []
        deadline = clock.hard
        deps = self.deployments(repo, start, deadline, clock.soft)
        if self.cfg.environments:
            deps = [d for d in deps if d.environment in self.cfg.environments]
        deps.sort(key=lambda d: _sort_key(d.created_at))
        prev_ref: dict[str, str] = {}
        unread = 0
        why = ""
        for d in deps:
            created = _dt(d.created_at, self.name)
            prev = prev_ref.get(d.environment)
            prev_ref[d.environment] = d.ref or d.sha[:12]
            if created > end or (
                created < start and _dt(d.updated_at or d.created_at, self.name) < start
            ):
                continue
            sts: list[DeploymentStatus] | None = None
            if not why and clock.spent():
                why = "time budget spent"
            if not why:
                try:
                    sts = self.statuses(repo, d.id, deadline)
                except SourceError as exc:
                    # one failure (a rate limit, a hung or failing endpoint) would
                    # repeat for every deployment: stop asking, keep the deployments
                    why = exc.message
            if sts is None:
                unread += 1
                final = "status unknown"
                sts = []
            else:
                sts.sort(key=lambda s: _sort_key(s.created_at))
                final = sts[-1].state if sts else "pending"
            began = next((s for s in sts if s.state in ("in_progress", "success")), None)
            ts = _dt(began.created_at, self.name) if began else created
            if ts < start or ts > end:
                continue
            link = next(
                (s.log_url or s.target_url for s in reversed(sts) if s.log_url or s.target_url),
                None,
            )
            version = d.ref or d.sha[:12]
            env = f" to {d.environment}" if d.environment else ""
            out.append(
                Change(
                    id=f"gh-deploy-{d.id}",
                    ts=ts,
                    service=service,
                    kind="deploy",
                    summary=f"{repo} {d.task or 'deploy'} {version}{env} ({final})"
                    + (f": {d.description}" if d.description else ""),
                    version=version,
                    previous_version=prev,
                    author=d.creator.login if d.creator else None,
                    url=link or f"{_html_base(self.http.base_url)}/{repo}/deployments",
                    source=self.name,
                    ref=f"{self.http.base_url}/repos/{repo}/deployments/{d.id}",
                )
            )
        if unread:
            self._notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"{repo}: statuses of {unread} deployment(s) not read, so each is timed"
                    f" at its creation: {why}",
                )
            )
        if self.cfg.releases:
            rels = [
                r for r in self._releases_or_note(repo, start, clock, bool(deps)) if not r.draft
            ]
            rels.sort(key=lambda r: _sort_key(r.published_at or r.created_at))
            prev_tag: str | None = None
            for r in rels:
                tag = r.tag_name or r.name or f"release-{r.id}"
                ts = _dt(r.published_at or r.created_at, self.name)
                if start <= ts <= end:
                    out.append(
                        Change(
                            id=f"gh-release-{r.id}",
                            ts=ts,
                            service=service,
                            kind="deploy",
                            summary=f"{repo} release {tag} published"
                            + (" (pre-release)" if r.prerelease else ""),
                            version=tag,
                            previous_version=prev_tag,
                            author=r.author.login if r.author else None,
                            url=r.html_url or None,
                            source=self.name,
                            ref=f"{self.http.base_url}/repos/{repo}/releases/{r.id}",
                        )
                    )
                prev_tag = tag
        return out

    def _releases_or_note(
        self, repo: str, start: datetime, clock: Clock, answered: bool
    ) -> list[Release]:
        """The repository's releases; when its deployments answered, a release list
        that fails (or no time left to ask) is a partial note, not the loss of them."""
        if answered and clock.spent():
            self._notes.append(
                SourceNote(self.name, "partial", f"{repo}: time budget spent: releases not read")
            )
            return []
        try:
            return self.releases(repo, start, clock.hard, clock.soft)
        except SourceError as exc:
            if not answered:
                raise
            self._notes.append(
                SourceNote(self.name, "partial", f"{repo}: releases not read: {exc.message}")
            )
            return []

    def check(self) -> Health:
        def ver(d: Any) -> str | None:
            core = (d.get("resources") or {}).get("core") or {}
            return f"rate limit {core.get('remaining')}/{core.get('limit')}" if core else None

        return probe(self.http, "/rate_limit", ver, needs_auth=True)


def _dt(value: str, source: str) -> datetime:
    try:
        return to_datetime(value)
    except TimestampError as exc:
        raise SourceError(f"{source}: unreadable timestamp: {exc}") from None


def _sort_key(value: str) -> float:
    """A timestamp as unix seconds for ordering: GitHub's strings sort as text only
    while every one has the same shape (`...:05Z` sorts before `...:05.250Z`)."""
    try:
        return to_datetime(value).timestamp()
    except TimestampError:
        return 0.0


def _html_base(api: str) -> str:
    if "api.github.com" in api:
        return "https://github.com"
    return api.removesuffix("/api/v3")


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """The `github` source type (sources/catalog.py)."""

    def build(cfg: GitHubSource, env: SourceEnv) -> GitHub:
        return GitHub(
            cfg,
            token=env.token(cfg.token_name),
            client=env.client,
            budget_s=env.budget_s,
        )

    register(
        SourceType(
            "github",
            ("changes",),
            build,
            GitHubSource,
            summary="GitHub deployments and releases as changes",
        )
    )
