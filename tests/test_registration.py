"""Sources and capabilities register through one path, built-ins like plugins
(issue 12, part 2): the source table, plugin entry points, typed merges."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aisre_cli.errors import ConfigError
from aisre_cli.settings import plugins
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS, Profile
from aisre_cli.sources import catalog as source_catalog
from tests.conftest import REPO


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[tuple[str, str]]]]:
    """Pretend packages are installed: group → [(name, "module:hook")]."""
    import aisre_cli.remediate.capabilities as caps

    installed: dict[str, list[tuple[str, str]]] = {}
    monkeypatch.setattr(plugins, "_entry_points", lambda group: installed.get(group, []))
    source_catalog.reset_catalog()
    monkeypatch.setattr(caps, "_DEFAULT", None)
    yield installed
    source_catalog.reset_catalog()
    caps._DEFAULT = None


def test_builtin_source_types_in_order() -> None:
    cat = source_catalog.catalog()
    assert list(cat.types) == [
        "alertmanager",
        "pagerduty",
        "prometheus",
        "loki",
        "github",
        "changes_file",
        "topology_file",
        "tempo",
        "jaeger",
        "kubernetes",
    ]
    assert cat.types["prometheus"].roles == ("metrics",)
    assert cat.types["kubernetes"].roles == ("events", "changes")
    assert cat.types["changes_file"].default is not None


def test_live_sources_is_one_loop_over_the_table() -> None:
    src = (REPO / "aisre_cli" / "sources" / "live.py").read_text()
    for name in ("Alertmanager(", "PagerDuty(", "Prometheus(", "Loki(", "GitHub("):
        assert name not in src, name  # no per-type block left


def test_the_service_label_default_is_written_once() -> None:
    literal = re.compile(r"""["']service["'],\s*["']job["'],\s*["']app["']""")
    hits = [
        str(p.relative_to(REPO))
        for p in (REPO / "aisre_cli").rglob("*.py")
        if literal.search(p.read_text(encoding="utf-8"))
    ]
    assert hits == ["aisre_cli/settings/config.py"], hits
    assert Profile().service_labels == list(DEFAULT_SERVICE_LABELS)


def test_a_plugin_source_type_is_configured_and_built(
    entry_points: dict[str, list[tuple[str, str]]], tmp_path: Path
) -> None:
    from aisre_cli.investigate.gather import gather
    from aisre_cli.model import Alert
    from aisre_cli.sources.live import live_sources

    entry_points["aisre.sources"] = [("jsonlogs", "tests.plugins.jsonlogs:register_sources")]
    now = datetime.now(UTC)
    log = tmp_path / "app.jsonl"
    log.write_text(
        f'{{"ts": {now.timestamp() - 30}, "service": "api", "level": "error", "msg": "boom"}}\n'
    )
    prof = Profile.model_validate(
        {"sources": {"jsonlogs": {"path": str(log)}, "prometheus": {"url": "http://p:9090"}}}
    )
    s = live_sources(prof, include_change_file=False)
    assert [x.name for x in s.logs] == ["jsonlogs"]
    # the typed merge puts its records in the Context like a built-in's
    alert = Alert(id="a", name="A", service="api", starts_at=now - timedelta(seconds=10))
    s.metrics = []
    ctx = gather(s, alert, [alert], lookback_s=120, lookahead_s=60, budget_s=5)
    assert list(ctx.logs.msg) == ["boom"], ctx.notes

    bad = Profile.model_validate({"sources": {"jsonlogs": {"path": 1, "nope": True}}})
    with pytest.raises(ConfigError, match=r"sources\.jsonlogs\."):
        live_sources(bad)


def test_an_unknown_source_key_is_refused_with_the_plugin_failure(
    entry_points: dict[str, list[tuple[str, str]]],
) -> None:
    from aisre_cli.sources.live import live_sources

    entry_points["aisre.sources"] = [("broken", "tests.plugins.jsonlogs:broken_hook")]
    prof = Profile.model_validate(
        {"sources": {"prometheus": {"url": "http://p:9090"}, "jsonlogs": {"path": "x"}}}
    )
    with pytest.raises(ConfigError) as exc:
        live_sources(prof)
    assert "sources.jsonlogs: no such source type" in exc.value.message
    assert exc.value.hint and "this plugin is broken" in exc.value.hint
    # the built-ins still load: a broken plugin never stops a triage
    ok = Profile.model_validate({"sources": {"prometheus": {"url": "http://p:9090"}}})
    assert [x.name for x in live_sources(ok).metrics] == ["prometheus"]


def test_capabilities_register_like_plugins(
    entry_points: dict[str, list[tuple[str, str]]],
) -> None:
    from aisre_cli.remediate.capabilities import default_registry, plugin_errors

    entry_points["aisre.capabilities"] = [
        ("acme", "tests.plugins.echo_capability:register_capabilities"),
        ("old", "tests.plugins.echo_capability:broken"),
    ]
    reg = default_registry()
    assert "acme.echo" in reg and "kubectl.get" in reg and "notify" in reg
    (err,) = plugin_errors()
    assert "newer aisre" in err.render() and "aisre.capabilities" in err.render()


def test_builtins_load_through_the_plugin_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import aisre_cli.remediate.capabilities as caps

    seen: list[tuple[str, tuple[str, ...]]] = []
    real = plugins.run_hooks

    def spy(group, builtins, register):  # type: ignore[no-untyped-def]
        seen.append((group, tuple(builtins)))
        return real(group, builtins, register)

    monkeypatch.setattr(caps, "run_hooks", spy)
    monkeypatch.setattr(caps, "_DEFAULT", None)
    monkeypatch.setattr(source_catalog, "run_hooks", spy)
    source_catalog.reset_catalog()
    try:
        caps.default_registry()
        source_catalog.catalog()
    finally:
        source_catalog.reset_catalog()
        caps._DEFAULT = None
    assert [g for g, _ in seen] == ["aisre.capabilities", "aisre.sources"]
    assert all(ref.endswith(":register_capabilities") for ref in seen[0][1])
    assert all(ref.endswith(":register_sources") for ref in seen[1][1])


def test_capture_reads_raw_alerts_through_a_protocol() -> None:
    from aisre_cli.sources.capture import raw_alerts

    class Wire:
        name = "am"
        last_wire = [{"fingerprint": "x"}]

    assert raw_alerts([Wire(), object()]) == [{"fingerprint": "x"}]
