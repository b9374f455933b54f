"""Tempo as a trace source, against the Tempo contract server: OTLP shapes (hex and
base64 ids, `scopeSpans` and `instrumentationLibrarySpans`), error marking, the
sampling cap with errors first, tenant and auth headers, the time budget's partial
note, and `bundle capture` writing the spans back as `traces/*.jsonl`."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from aisre_cli.errors import AuthError, SourceError
from aisre_cli.model import Alert, Context, Window
from aisre_cli.sources.bundle import BundleSource
from aisre_cli.sources.capture import capture_bundle
from aisre_cli.sources.tempo import Tempo, TempoSource, parse_trace
from aisre_cli.sources.tracing import TraceNotFound, norm_id, time_slices
from tests.contract_servers.base import Reply
from tests.contract_servers.spans import chain_trace
from tests.contract_servers.tempo import TempoServer, parse_traceql

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(minutes=40)
TOKEN = "tempo-secret-token-123"


def _fill(server: TempoServer, n: int = 120, seed: int = 7, tenant: str = "single-tenant") -> None:
    """n traces frontend → checkout → payments spread over the window; in the last
    quarter payments is slow and every other trace fails there."""
    rnd = random.Random(seed)
    step = (NOW - START).total_seconds() / (n + 1)
    for i in range(n):
        late = i >= n * 3 // 4
        err = late and i % 2 == 0
        t0 = START.timestamp() + (i + 0.5) * step
        calls = [
            ("frontend", "GET /", 2.0, err),
            ("checkout", "POST /pay", 5.0, err),
            ("payments", "charge", 60.0 if late else 8.0 * rnd.uniform(0.9, 1.1), err),
        ]
        server.add(chain_trace(rnd, t0, calls, high_zero=i % 5 == 0), tenant=tenant)


@pytest.fixture
def server() -> Iterator[TempoServer]:
    s = TempoServer()
    _fill(s)
    yield s
    s.stop()


def _tempo(url: str, **kw: object) -> Tempo:
    budget = float(kw.pop("budget_s", 30.0))  # type: ignore[arg-type]
    token = kw.pop("token", None)
    return Tempo(
        TempoSource.model_validate({"url": url, **kw}),
        token=SecretStr(str(token)) if token else None,
        budget_s=budget,
    )


# ---------------------------------------------------------------- ids and shapes


def test_ids_hex_short_hex_and_base64_are_one_form() -> None:
    hex32 = "00000000000000001f2e3d4c5b6a7988"
    assert norm_id(hex32, 16) == hex32
    assert norm_id("1f2e3d4c5b6a7988", 16) == hex32  # leading zeros dropped (search)
    assert norm_id("1F2E3D4C5B6A7988", 16) == hex32
    b64 = "AAAAAAAAAAAfLj1MW2p5iA=="
    assert norm_id(b64, 16) == hex32
    assert norm_id("AAAAAAAAAAAfLj1MW2p5iA", 16) == hex32  # unpadded
    assert norm_id("Hy49TFtqeYg=", 8) == "1f2e3d4c5b6a7988"
    assert norm_id("", 8) == ""


def _otlp(legacy: bool, hex_ids: bool) -> dict[str, object]:
    tid, root, child = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "00f067aa0ba902b7"

    def enc(h: str) -> str:
        import base64

        return h if hex_ids else base64.b64encode(bytes.fromhex(h)).decode()

    scope = "instrumentationLibrarySpans" if legacy else "scopeSpans"
    err = {"code": 2} if legacy else {"code": "STATUS_CODE_ERROR"}
    return {
        "batches": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]
                },
                scope: [
                    {
                        "spans": [
                            {
                                "traceId": enc(tid),
                                "spanId": enc(root),
                                "name": "GET /",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000250000000",
                                "status": {},
                            }
                        ]
                    }
                ],
            },
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "db"}}]
                },
                scope: [
                    {
                        "spans": [
                            {
                                "traceId": enc(tid),
                                "spanId": enc(child),
                                "parentSpanId": enc(root),
                                "name": "SELECT",
                                "startTimeUnixNano": 1700000000010000000,
                                "endTimeUnixNano": 1700000000210000000,
                                "status": err,
                            }
                        ]
                    }
                ],
            },
        ]
    }


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("hex_ids", [False, True])
def test_parse_otlp_old_and_new_key_names_hex_and_base64(legacy: bool, hex_ids: bool) -> None:
    spans = parse_trace(_otlp(legacy, hex_ids))
    by = {s.service: s for s in spans}
    assert set(by) == {"web", "db"}
    assert by["web"].trace_id == by["db"].trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert by["db"].parent_id == by["web"].span_id == "b7ad6b7169203331"
    assert by["web"].parent_id is None
    assert by["db"].error and not by["web"].error
    assert by["web"].duration_ms == pytest.approx(250.0)
    assert by["db"].start == pytest.approx(1700000000.01)


def test_parse_resource_spans_and_v2_envelope_and_http_500_without_status() -> None:
    doc = _otlp(False, True)
    batches = doc["batches"]
    assert isinstance(batches, list)
    batches[0]["scopeSpans"][0]["spans"][0]["attributes"] = [
        {"key": "http.status_code", "value": {"intValue": "503"}}
    ]
    spans = parse_trace({"trace": {"resourceSpans": batches}})
    assert {s.service for s in spans} == {"web", "db"}
    assert all(s.error for s in spans)  # web: a 503 and no status; db: status ERROR


def test_traceql_subset_of_the_contract_server() -> None:
    assert parse_traceql('{resource.service.name="a" && status=error}') == [
        ("service", "a"),
        ("status", "error"),
    ]
    assert parse_traceql("{}") == []
    with pytest.raises(ValueError):
        parse_traceql("{status=}")


def test_time_slices_cover_the_window() -> None:
    s = time_slices(START, NOW)
    assert s[0][0] == START.timestamp() and s[-1][1] == NOW.timestamp()
    assert all(a < b for a, b in s)


# ---------------------------------------------------------------- sampling


def _traces(spans: list) -> dict[str, list]:  # type: ignore[type-arg]
    out: dict[str, list] = {}  # type: ignore[type-arg]
    for s in spans:
        out.setdefault(s.trace_id, []).append(s)
    return out


def test_sampling_cap_prefers_error_then_slow_then_baseline(server: TempoServer) -> None:
    t = _tempo(server.url, max_traces=20)
    spans = t.fetch_spans(START, NOW, {"checkout"})
    traces = _traces(spans)
    assert 10 <= len(traces) <= 20
    failed = [tid for tid, ss in traces.items() if any(s.error for s in ss)]
    assert len(failed) == 8  # the error quota: 2/5 of the cap, and 15 exist
    # the baseline spans the window: traces from before the trouble are kept
    mid = START.timestamp() + (NOW - START).total_seconds() * 0.5
    assert any(min(s.start for s in ss) < mid for ss in traces.values())
    # every span of a kept trace is there (whole traces, parent links intact)
    assert all(len(ss) == 3 for ss in traces.values())
    assert all(s.ref.startswith(f"{server.url}/api/traces/") for s in spans)
    searches = [r.q("q") or "" for r in server.requests if r.path == "/api/search"]
    assert searches[0] == '{resource.service.name="checkout" && status=error}'
    assert any("duration>" in q for q in searches)
    kinds = [
        "error" if "status=error" in q else "slow" if "duration" in q else "n" for q in searches
    ]
    assert kinds.index("n") > max(i for i, k in enumerate(kinds) if k == "error")
    fetched = [r.path for r in server.requests if r.path.startswith("/api/traces/")]
    assert len(fetched) == len(traces)
    assert not t.drain_notes()


def test_error_traces_are_read_first(server: TempoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # one at a time: with several workers the order requests arrive in is a race
    monkeypatch.setattr("aisre_cli.sources.tempo.FETCH_WORKERS", 1)
    t = _tempo(server.url, max_traces=10)
    t.fetch_spans(START, NOW, {"payments"})
    fetched = [
        r.path.rsplit("/", 1)[1] for r in server.requests if r.path.startswith("/api/traces/")
    ]
    errors = {
        tid for tid, tr in server.traces["single-tenant"].items() if any(s.error for s in tr.spans)
    }
    flags = [f.zfill(32) in errors for f in fetched]
    assert flags[0] and flags == sorted(flags, reverse=True), flags


def test_no_service_searches_every_service(server: TempoServer) -> None:
    t = _tempo(server.url, max_traces=6)
    spans = t.fetch_spans(START, NOW, None)
    assert spans
    qs = [r.q("q") for r in server.requests if r.path == "/api/search"]
    assert "{status=error}" in qs and "{}" in qs


def test_tag_search_for_tempo_1x(server: TempoServer) -> None:
    t = _tempo(server.url, max_traces=8, search="tags")
    spans = t.fetch_spans(START, NOW, {"checkout"})
    assert spans
    reqs = [r for r in server.requests if r.path == "/api/search"]
    assert all(r.q("q") is None and r.q("tags") == "service.name=checkout" for r in reqs)
    assert any(r.q("minDuration") for r in reqs)


def test_budget_spent_returns_what_was_read_with_a_partial_note(server: TempoServer) -> None:
    # every trace takes 1 s to read: 4 at a time, at most ~14 fit before 60 % of 6 s
    server.set_fault("delay", path_prefix="/api/traces/", delay_s=1.0)
    t = _tempo(server.url, max_traces=60, budget_s=6.0)
    spans = t.fetch_spans(START, NOW, {"checkout"})
    notes = t.drain_notes()
    assert notes and notes[0].status == "partial", notes
    text = " ".join(n.detail for n in notes)
    assert "time budget" in text, text
    read = len(_traces(spans))
    asked = len([r for r in server.requests if r.path.startswith("/api/traces/")])
    assert read <= asked < 30, (read, asked)
    if "read " in text:  # the note says how many of the sampled traces were read
        assert f"read {read} of " in text and "errors first" in text, text


def test_missing_trace_is_skipped_with_a_note(server: TempoServer) -> None:
    gone = next(iter(server.traces["single-tenant"]))
    orig = server._trace

    def route(raw: str, tenant: str):  # type: ignore[no-untyped-def]
        if raw.zfill(32) == gone:
            return server._text(404, "trace not found")
        return orig(raw, tenant)

    server._trace = route  # type: ignore[method-assign]
    t = _tempo(server.url, max_traces=200)
    spans = t.fetch_spans(START, NOW, {"frontend"})
    assert gone not in {s.trace_id for s in spans}
    assert any("no longer stored" in n.detail for n in t.drain_notes())
    with pytest.raises(TraceNotFound):
        t.trace("deadbeef")


def test_bad_query_is_a_400_with_a_hint(
    server: TempoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = _tempo(server.url)
    monkeypatch.setattr(t, "traceql", lambda *a, **k: "{status=}")
    with pytest.raises(SourceError) as exc:
        t.fetch_spans(START, NOW, {"checkout"})
    assert "HTTP 400" in exc.value.message and "parse error" in exc.value.message
    assert "search: tags" in (exc.value.hint or "")


def test_limit_above_the_servers_max_is_refused() -> None:
    with TempoServer(max_limit=5) as s:
        _fill(s, 40)
        with pytest.raises(SourceError, match="exceeds max limit"):
            _tempo(s.url, max_traces=100).fetch_spans(START, NOW, {"checkout"})


# ---------------------------------------------------------------- auth, tenant


def test_tenant_header_selects_the_tenants_traces() -> None:
    with TempoServer(tenants=True) as s:
        _fill(s, 40, tenant="team-a")
        with pytest.raises(AuthError):
            _tempo(s.url).fetch_spans(START, NOW, {"checkout"})
        assert _tempo(s.url, tenant="team-b").fetch_spans(START, NOW, {"checkout"}) == []
        spans = _tempo(s.url, tenant="team-a").fetch_spans(START, NOW, {"checkout"})
        assert spans
        assert all(r.headers.get("x-scope-orgid") for r in s.requests[1:])


def test_basic_auth_from_the_keyring_and_no_secret_in_errors() -> None:
    with TempoServer(basic=("12345", TOKEN)) as s:
        _fill(s, 20)
        ok = _tempo(s.url, username="12345", token=TOKEN, token_name="tempo")
        assert ok.fetch_spans(START, NOW, {"checkout"})
        bad = _tempo(s.url, username="12345", token="wrong-" + TOKEN, token_name="tempo")
        with pytest.raises(AuthError) as exc:
            bad.fetch_spans(START, NOW, {"checkout"})
        shown = exc.value.message + (exc.value.hint or "")
        assert TOKEN not in shown and "wrong-" not in shown


def test_bearer_token_and_check() -> None:
    with TempoServer(token=TOKEN) as s:
        h = _tempo(s.url, token=TOKEN, token_name="tempo").check()
        assert h.ok and h.version == "2.4.1"
        h = _tempo(s.url, token_name="tempo").check()
        assert not h.ok and h.authenticated is False


def test_401_hint_names_the_token_the_profile_reads() -> None:
    """QA: a 401 said `aisre auth set tempo` whatever the profile named: with no
    `token_name` that token is never read, and with `token_name: traces` it is the
    wrong name."""
    with TempoServer(token=TOKEN) as s:
        _fill(s, 10)
        with pytest.raises(AuthError) as exc:
            _tempo(s.url).fetch_spans(START, NOW, {"checkout"})
        assert exc.value.hint == (
            "no credential was sent: store one with `aisre auth set tempo` and set"
            " `token_name: tempo` under sources.tempo in the profile"
        )
        with pytest.raises(AuthError) as exc:
            _tempo(s.url, token="stale", token_name="traces").fetch_spans(START, NOW, {"checkout"})
        assert exc.value.hint == "store a valid token with `aisre auth set traces`"
        with pytest.raises(AuthError) as exc:
            _tempo(s.url, token_name="traces").fetch_spans(START, NOW, {"checkout"})
        assert exc.value.hint == "no token is stored as 'traces': run `aisre auth set traces`"


# ---------------------------------------------------------------- bundle capture


def test_capture_writes_spans_that_read_back_identically(
    server: TempoServer, tmp_path: Path
) -> None:
    spans = _tempo(server.url, max_traces=12).fetch_spans(START, NOW, {"checkout"})
    alert = Alert(id="f00", name="CheckoutErrors", service="checkout", starts_at=NOW)
    ctx = Context(alert=alert, alerts=[alert], window=Window(START, NOW), spans=spans)
    out = capture_bundle(ctx, tmp_path / "b")
    assert (out / "traces" / "spans.jsonl").is_file()
    back = BundleSource(out).fetch_spans(START, NOW)
    assert len(back) == len(spans)
    for a, b in zip(spans, back, strict=True):
        assert (a.trace_id, a.span_id, a.parent_id, a.service, a.name, a.error) == (
            b.trace_id,
            b.span_id,
            b.parent_id,
            b.service,
            b.name,
            b.error,
        )
        assert b.start == pytest.approx(a.start, abs=1e-6)
        assert b.duration_ms == pytest.approx(a.duration_ms)
    assert back[0].ref == "traces/spans.jsonl:1"


def test_no_spans_no_traces_dir(tmp_path: Path) -> None:
    alert = Alert(id="f00", name="X", service="checkout", starts_at=NOW)
    ctx = Context(alert=alert, alerts=[alert], window=Window(START, NOW))
    out = capture_bundle(ctx, tmp_path / "b")
    assert not (out / "traces").exists()


# ---------------------------------------------------------------- profile and doctor


def test_profile_config_builds_tempo_and_jaeger_and_doctor_checks_them(
    server: TempoServer,
) -> None:
    from aisre_cli.errors import ConfigError
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.jaeger import Jaeger
    from aisre_cli.sources.live import checkables, live_sources

    prof = Profile.model_validate(
        {
            "sources": {
                "loki": {"url": "http://127.0.0.1:9"},
                "tempo": {"url": server.url, "tenant": "a", "max_traces": 5},
                "jaeger": {"url": "http://127.0.0.1:9"},
            }
        }
    )
    built = live_sources(prof, include_change_file=False)
    assert [type(t) for t in built.traces] == [Tempo, Jaeger]
    tempo = built.traces[0]
    assert isinstance(tempo, Tempo) and tempo.cfg.max_traces == 5
    assert tempo.http.headers == {"X-Scope-OrgID": "a"}
    assert any(c is tempo for c in checkables(built))
    bad = Profile.model_validate({"sources": {"tempo": {"url": server.url, "max_trace": 5}}})
    with pytest.raises(ConfigError, match="max_trace"):
        live_sources(bad)


def test_config_show_lists_the_trace_sources_and_their_tokens(
    server: TempoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import yaml

    from aisre_cli.settings import paths
    from aisre_cli.settings.config import AppConfig
    from tests.contract_servers.cli import run_cli

    r = run_cli(["config", "show", "--defaults", "--json"])
    assert r.code == 0, r.err
    sample = json.loads(r.out)["profiles"]["example"]["sources"]
    assert sample["tempo"]["max_traces"] == 200 and sample["tempo"]["search"] == "traceql"
    assert sample["jaeger"]["url"].startswith("http://")
    AppConfig.model_validate({"version": 1, "profiles": {"x": {"sources": sample}}})

    prof = {"sources": {"tempo": {"url": server.url, "token_name": "tempo"}}}
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump({"version": 1, "default_profile": "t", "profiles": {"t": prof}}))
    monkeypatch.setenv("AISRE_TEMPO_TOKEN", TOKEN)
    r = run_cli(["config", "show", "--json"])
    assert r.code == 0, r.err
    body = json.loads(r.out)
    assert {"source": "tempo", "token": "tempo", "stored": "env"}.items() <= body["tokens"][
        0
    ].items()
    assert TOKEN not in r.out


def test_one_unparseable_trace_is_skipped_and_the_rest_read(
    server: TempoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: one trace whose answer did not parse stopped reading every remaining trace,
    with a "stopped by …" note that looked like a budget stop."""
    monkeypatch.setattr("aisre_cli.sources.tempo.FETCH_WORKERS", 1)
    ids = sorted(server.traces["single-tenant"])
    shape = set(ids[::10])  # valid JSON, not a trace
    garbage = set(ids[5::10])  # not JSON at all
    orig = server._trace

    def route(raw: str, tenant: str) -> Reply:
        tid = raw.zfill(32)
        if tid in shape:
            return Reply(200, {"batches": [{"resource": {"attributes": "nope"}}]})
        if tid in garbage:
            return Reply(200, raw=b"<html>upstream hiccup</html>", headers={})
        return orig(raw, tenant)

    server._trace = route  # type: ignore[method-assign]
    t = _tempo(server.url, max_traces=200)
    spans = t.fetch_spans(START, NOW, {"frontend"})
    got = set(_traces(spans))
    assert got == set(ids) - shape - garbage
    notes = [n.detail for n in t.drain_notes()]
    assert len(notes) == 1 and "stopped by" not in notes[0], notes
    bad = len(shape | garbage)
    assert notes[0].startswith(f"skipped {bad} of {len(ids)} sampled traces"), notes


def test_no_trace_parses_is_a_source_error(server: TempoServer) -> None:
    server._trace = lambda raw, tenant: Reply(200, {"batches": "x"})  # type: ignore[method-assign]
    t = _tempo(server.url, max_traces=20)
    with pytest.raises(SourceError, match="no sampled trace could be parsed"):
        t.fetch_spans(START, NOW, {"frontend"})
