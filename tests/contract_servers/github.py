"""GitHub REST subset: deployments, deployment statuses, releases, rate_limit.

Shapes follow https://docs.github.com/en/rest : `Authorization: Bearer` (or
`token`), `per_page` ≤ 100 and `page`, `Link` header with rel="next"/"last",
errors `{"message": ..., "documentation_url": ...}`, lists newest first. A renamed
repository (`renamed`) answers its old path with `301 Moved Permanently` to
`/repositories/{id}/...` (the query kept), which serves the repository by its id
("HTTP redirects" in docs.github.com/en/rest/using-the-rest-api/best-practices-...).
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.contract_servers.base import ContractServer, Reply, Request

_ids = itertools.count(1000)
DOCS = "https://docs.github.com/rest"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubServer(ContractServer):
    name = "github"

    def __init__(self, token: str = "gh-test-token"):
        self.token = token
        self.deployments: dict[str, list[dict[str, Any]]] = {}
        self.statuses: dict[int, list[dict[str, Any]]] = {}
        self.releases: dict[str, list[dict[str, Any]]] = {}
        self.renamed: dict[str, str] = {}
        """old `owner/repo` → its current name: the old path answers 301."""
        self.rate_limited: str | None = None
        """`primary` or `secondary`: every API call is refused as GitHub does it
        (docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api): 403
        with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (epoch seconds), or 403
        with `retry-after` and a message naming the secondary rate limit."""
        super().__init__()

    def add_deployment(
        self,
        repo: str,
        ref: str,
        created: datetime,
        *,
        environment: str = "production",
        states: list[tuple[str, datetime]] | None = None,
        creator: str = "deployer",
    ) -> dict[str, Any]:
        did = next(_ids)
        d = {
            "id": did,
            "url": f"{self.url}/repos/{repo}/deployments/{did}",
            "sha": f"{did:040x}",
            "ref": ref,
            "task": "deploy",
            "environment": environment,
            "description": f"deploy {ref}",
            "creator": {"login": creator},
            "created_at": _iso(created),
            "updated_at": _iso(created),
            "statuses_url": f"{self.url}/repos/{repo}/deployments/{did}/statuses",
            "payload": {},
        }
        self.deployments.setdefault(repo, []).insert(0, d)
        self.statuses[did] = [
            {
                "id": next(_ids),
                "state": st,
                "description": st,
                "environment": environment,
                "created_at": _iso(ts),
                "log_url": f"https://ci.example.com/runs/{did}",
                "target_url": f"https://ci.example.com/runs/{did}",
            }
            for st, ts in reversed(states or [("success", created)])
        ]
        return d

    def add_release(self, repo: str, tag: str, published: datetime) -> dict[str, Any]:
        rid = next(_ids)
        r = {
            "id": rid,
            "tag_name": tag,
            "name": tag,
            "draft": False,
            "prerelease": False,
            "created_at": _iso(published),
            "published_at": _iso(published),
            "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
            "author": {"login": "releaser"},
        }
        self.releases.setdefault(repo, []).insert(0, r)
        return r

    def error_body(self, status: int, message: str) -> Any:
        return {"message": message, "documentation_url": DOCS}

    def route(self, req: Request) -> Reply:
        auth = req.headers.get("authorization", "")
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            return Reply(401, self.error_body(401, "Bad credentials"))
        if self.rate_limited == "primary":
            reset = str(int(datetime.now(UTC).timestamp()) + 1800)
            return Reply(
                403,
                self.error_body(403, "API rate limit exceeded for user ID 1."),
                {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0"}
                | {"x-ratelimit-reset": reset, "x-ratelimit-resource": "core"},
            )
        if self.rate_limited == "secondary":
            return Reply(
                403,
                self.error_body(
                    403,
                    "You have exceeded a secondary rate limit. Please wait a few minutes"
                    " before you try again.",
                ),
                {"retry-after": "60", "x-ratelimit-remaining": "4321"},
            )
        if req.path == "/rate_limit":
            core = {"limit": 5000, "remaining": 4999, "reset": 1_900_000_000, "used": 1}
            return Reply(200, {"resources": {"core": core}, "rate": core})
        moved = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", req.path)
        if moved and moved.group(1) in self.renamed:
            new = self.renamed[moved.group(1)]
            q = urlencode({k: v[0] for k, v in req.query.items()})
            to = f"{self.url}/repositories/{self.repo_id(new)}{moved.group(2) or ''}"
            to += f"?{q}" if q else ""
            body = {"message": "Moved Permanently", "url": to, "documentation_url": DOCS}
            return Reply(301, body, {"Location": to})
        by_id = re.fullmatch(r"/repositories/(\d+)(/.*)", req.path)
        path = req.path
        if by_id:
            names = [r for r in self._repos() if self.repo_id(r) == int(by_id.group(1))]
            if not names:
                return Reply(404, self.error_body(404, "Not Found"))
            path = f"/repos/{names[0]}{by_id.group(2)}"
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/(deployments|releases)(?:/(\d+)/statuses)?", path)
        if not m:
            return Reply(404, self.error_body(404, "Not Found"))
        repo, what, dep = m.group(1), m.group(2), m.group(3)
        if dep is not None:
            items = self.statuses.get(int(dep))
            if items is None:
                return Reply(404, self.error_body(404, "Not Found"))
        elif what == "deployments":
            if repo not in self.deployments and repo not in self.releases:
                return Reply(404, self.error_body(404, "Not Found"))
            items = self.deployments.get(repo, [])
            env = req.q("environment")
            if env:
                items = [d for d in items if d["environment"] == env]
        else:
            if repo not in self.deployments and repo not in self.releases:
                return Reply(404, self.error_body(404, "Not Found"))
            items = self.releases.get(repo, [])
        return self._page(req, items)

    def _repos(self) -> set[str]:
        return {*self.deployments, *self.releases}

    @staticmethod
    def repo_id(repo: str) -> int:
        """A stable numeric id per repository name (GitHub's never changes on rename)."""
        return 1 + sum(ord(c) * 31**i for i, c in enumerate(repo)) % 1_000_000

    def _page(self, req: Request, items: list[Any]) -> Reply:
        per_page = min(int(req.q("per_page", "30") or 30), 100)
        page = max(1, int(req.q("page", "1") or 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        base = {k: v[0] for k, v in req.query.items()}

        def link(p: int, rel: str) -> str:
            q = urlencode({**base, "per_page": per_page, "page": p})
            return f'<{self.url}{req.path}?{q}>; rel="{rel}"'

        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
            links.append(link(page - 1, "prev"))
        headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999"}
        if links:
            headers["Link"] = ", ".join(links)
        return Reply(200, chunk, headers)
