"""QA pass on the Kubernetes and tracing sources (Tempo, Jaeger): what an SRE would
hit on a page with inputs the real APIs produce. Each test names the defect it
pins: a later page that fails must not cost the pages already read, a hung API
server must not make the gather drop what the source had already learned, and one
oversized trace must cost only that trace."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.model import Alert
from aisre_cli.settings.config import HttpSettings
from aisre_cli.sources.kubernetes import Kubernetes, KubernetesSource, forget_exec_credentials
from tests.conftest import require_binary
from tests.contract_servers.base import Reply, Request
from tests.contract_servers.kube import KubeServer, Pki, kubeconfig, make_pki, shop, status_body
from tests.test_sources_kubernetes import unhealthy_shop

TOKEN = "kube-qa-token-7c1e"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    require_binary("/usr/bin/openssl")
    return make_pki(tmp_path_factory.mktemp("kube-qa-pki"))


@pytest.fixture(autouse=True)
def _fresh_exec_cache() -> Iterator[None]:
    forget_exec_credentials()
    yield
    forget_exec_credentials()


def conn(
    srv: KubeServer,
    pki: Pki,
    tmp_path: Path,
    *,
    budget_s: float = 15,
    read_timeout: float = 10,
    max_body_bytes: int | None = None,
    **kw: Any,
) -> Kubernetes:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(srv, token=TOKEN, ca=pki.ca)))
    http = HttpSettings(read_timeout=read_timeout, retries=1)
    if max_body_bytes is not None:
        http = http.model_copy(update={"max_body_bytes": max_body_bytes})
    cfg = KubernetesSource(kubeconfig=str(path), context="test", http=http, **kw)
    return Kubernetes(cfg, budget_s=budget_s)


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(minutes=60), now + timedelta(minutes=1)


class _FailingPage(KubeServer):
    """Answers the first page of a list, then fails every `continue` request of the
    resources in `fail` with a 500 `Status` (an etcd hiccup mid-list)."""

    fail: tuple[str, ...] = ()

    def route(self, req: Request) -> Reply:
        if req.q("continue") and req.path.rsplit("/", 1)[-1] in self.fail:
            return Reply(
                500,
                status_body(500, "InternalError", "etcdserver: request timed out"),
            )
        return super().route(req)


# ---------------------------------------------------------------- kubernetes


def test_a_later_events_page_failing_keeps_the_events_already_read(
    pki: Pki, tmp_path: Path
) -> None:
    """Defect: a 500 on page 2 of the Warning events threw away page 1 too ("events
    skipped: ..."), so the BackOff/Unhealthy events already answered never reached
    the engine."""
    srv = _FailingPage(token=TOKEN, pki=pki)
    srv.fail = ("events",)
    try:
        unhealthy_shop(srv)
        k = conn(srv, pki, tmp_path, page_size=2)
        events = k.fetch_events(*window(), None)
        notes = [n.detail for n in k.drain_notes()]
        unhealthy = [e for e in events if e.reason == "Unhealthy"]
        assert len(unhealthy) == 2, (unhealthy, notes)  # page 1 kept
        assert any(
            n.startswith("events:") and "after 1 page" in n and "etcdserver" in n for n in notes
        ), notes
    finally:
        srv.stop()


def test_a_later_pods_page_failing_keeps_the_pods_already_read(pki: Pki, tmp_path: Path) -> None:
    """Defect: a 500 on page 2 of the pods (the primary read) failed the whole events
    read, losing the OOMKilled pod on page 1."""
    srv = _FailingPage(token=TOKEN, pki=pki)
    srv.fail = ("pods",)
    try:
        shop(srv)
        first = sorted(p["metadata"]["name"] for p in srv.store["pods"].values())[0]
        srv.oom_kill("shop", first, crash_loop=False)
        k = conn(srv, pki, tmp_path, page_size=1)
        events = k.fetch_events(*window(), None)
        notes = [n.detail for n in k.drain_notes()]
        assert [e.object for e in events if e.reason == "OOMKilled"] == [f"pod/{first}"], notes
        assert any(n.startswith("pods:") and "HTTP 500" in n for n in notes), notes
    finally:
        srv.stop()


def test_a_hung_events_list_does_not_cost_the_pod_states_in_the_gather(
    pki: Pki, tmp_path: Path
) -> None:
    """Defect: the source took its own deadline from its profile budget and ignored
    the gather's, so with the events list hanging the gather gave up on it ("no answer
    within the budget") and dropped the OOMKilled pod it had already read."""
    from aisre_cli.investigate.gather import gather
    from aisre_cli.sources.registry import SourceSet

    srv = KubeServer(token=TOKEN, pki=pki)
    try:
        shop(srv)
        now = datetime.now(UTC)
        pod = srv.pods_of("shop", "checkout")[0]["metadata"]["name"]
        srv.oom_kill("shop", pod, at=now - timedelta(minutes=3), crash_loop=False)
        srv.set_fault("hang", path_prefix="/api/v1/namespaces/shop/events")
        k = conn(srv, pki, tmp_path, budget_s=20, read_timeout=15)
        s = SourceSet()
        s.add("events", k)
        alert = Alert(id="a1", name="X", service="checkout", starts_at=now - timedelta(minutes=2))
        t0 = time.monotonic()
        ctx = gather(s, alert, [alert], lookback_s=1800, lookahead_s=60, budget_s=5)
        took = time.monotonic() - t0
        notes = {n.source: n for n in ctx.notes}
        note = notes["kubernetes events"]
        assert note.status == "partial", note
        assert "events skipped" in note.detail, note
        assert [e.reason for e in ctx.events if e.reason == "OOMKilled"] == ["OOMKilled"]
        assert took < 5.5
    finally:
        srv.stop()


# ---------------------------------------------------------------- tempo

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(minutes=40)


def _bloat_first_error(traces: dict[str, Any]) -> str:
    """Make the first failing trace huge (a 300 kB attribute on each span); its id."""
    huge = sorted(t for t, tr in traces.items() if any(s.error for s in tr.spans))[0]
    for s in traces[huge].spans:
        s.attrs["db.statement"] = "x" * 300_000
    return str(huge)


def _fill_traces(server: Any, n: int = 60, seed: int = 11) -> None:
    """frontend → checkout → payments over the window; late traces fail in payments."""
    from tests.contract_servers.spans import chain_trace

    rnd = random.Random(seed)
    step = (NOW - START).total_seconds() / (n + 1)
    for i in range(n):
        err = i >= n * 3 // 4 and i % 2 == 0
        t0 = START.timestamp() + (i + 0.5) * step
        calls = [
            ("frontend", "GET /", 2.0, err),
            ("checkout", "POST /pay", 5.0, err),
            ("payments", "charge", 8.0 * rnd.uniform(0.9, 1.1), err),
        ]
        server.add(chain_trace(rnd, t0, calls))


def test_one_oversized_tempo_trace_costs_only_that_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect: a trace whose answer was above `http.max_body_bytes` (a fan-out of
    thousands of spans: typically an *error* trace, read first) stopped reading every
    other sampled trace; when it was the first, the whole source failed."""
    from aisre_cli.sources.tempo import Tempo, TempoSource
    from tests.contract_servers.tempo import TempoServer

    monkeypatch.setattr("aisre_cli.sources.tempo.FETCH_WORKERS", 1)
    server = TempoServer()
    try:
        _fill_traces(server)
        every = server.traces["single-tenant"]
        huge = _bloat_first_error(every)
        t = Tempo(
            TempoSource.model_validate(
                {"url": server.url, "max_traces": 200, "http": {"max_body_bytes": 200_000}}
            ),
            budget_s=30,
        )
        spans = t.fetch_spans(START, NOW, {"frontend"})
        got = {s.trace_id for s in spans}
        assert got == set(every) - {huge}
        notes = [n.detail for n in t.drain_notes()]
        assert len(notes) == 1 and "stopped by" not in notes[0], notes
        assert "skipped 1 of" in notes[0] and huge in notes[0] and "cap" in notes[0], notes
    finally:
        server.stop()


# ---------------------------------------------------------------- jaeger


def test_a_jaeger_search_above_the_body_cap_asks_for_fewer_traces() -> None:
    """Defect: Jaeger answers a search with whole traces; one big trace in the first
    error search pushed the answer above `http.max_body_bytes`, and the whole source
    failed ("response exceeds the cap"), with none of the other traces read."""
    from aisre_cli.sources.jaeger import Jaeger, JaegerSource
    from tests.contract_servers.jaeger import JaegerServer

    server = JaegerServer()
    try:
        _fill_traces(server)
        errors = sorted(t for t, tr in server.traces.items() if any(s.error for s in tr.spans))
        huge = _bloat_first_error(server.traces)
        j = Jaeger(
            JaegerSource.model_validate(
                {"url": server.url, "max_traces": 200, "http": {"max_body_bytes": 200_000}}
            ),
            budget_s=30,
        )
        spans = j.fetch_spans(START, NOW, {"checkout"})
        got = {s.trace_id for s in spans}
        assert huge not in got
        # the slices without the big trace are read whole; the one whose most recent
        # trace is the big one is skipped (a search cannot leave one trace out)
        assert len(got) >= len(server.traces) * 3 // 4, len(got)
        assert len(got & set(errors)) >= len(errors) // 2, len(got)
        notes = [n.detail for n in j.drain_notes()]
        assert any("max_body_bytes" in n and "checkout error" in n for n in notes), notes
        limits = [r.q("limit") for r in server.requests if r.path == "/api/traces"]
        assert "1" in limits, limits  # asked again for fewer traces
    finally:
        server.stop()


@pytest.mark.parametrize("parent", ["0", "0000000000000000", " 00000000 ", ""])
def test_an_all_zero_parent_id_is_a_root(parent: str) -> None:
    """W3C trace context: an all-zero span id is invalid, and Zipkin-style converters
    write it (or `0`) for a root's parent. Kept as a parent id, the root was not counted
    as one: no end-to-end latency for its trace."""
    from aisre_cli.model import Span

    s = Span("t1", "s1", parent, "api", "GET /", 0.0, 12.0, False)
    assert s.parent_id is None
    assert Span("t1", "s2", "00000000000000a1", "api", "GET /", 0.0, 1.0, False).parent_id


def test_a_pods_page_above_the_body_cap_is_read_in_smaller_pages(pki: Pki, tmp_path: Path) -> None:
    """Defect: a page of pods above `http.max_body_bytes` (hundreds of pods with long
    `managedFields`) failed the primary read, so the source gave nothing. The same page
    is asked again for fewer pods at a time (a continue token allows any limit)."""
    import json

    srv = KubeServer(token=TOKEN, pki=pki)
    try:
        shop(srv)
        for i in range(6):
            srv.add_deployment("shop", f"svc{i}", f"shop/svc{i}:1.0", replicas=5)
        pods = list(srv.store["pods"].values())
        assert len(pods) >= 30
        one = max(len(json.dumps(p)) for p in pods)
        k = conn(
            srv,
            pki,
            tmp_path,
            page_size=40,
            max_body_bytes=15 * one,
        )
        k.fetch_events(*window(), None)
        notes = [n.detail for n in k.drain_notes()]
        limits = [r.q("limit") for r in srv.requests if r.path.endswith("/pods")]
        assert limits[0] == "40" and "10" in limits, limits
        assert any("above http.max_body_bytes" in n and "10 at a time" in n for n in notes)
        assert not any("pods:" in n and "failed" in n for n in notes), notes
    finally:
        srv.stop()
