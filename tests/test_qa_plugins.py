"""Hostile plugins (QA pass on plugin loading): a broken package installed on the
on-call laptop must never stop the tool, replace a built-in, or corrupt `--json`.

Each test installs fake distributions (a `*.dist-info` with `entry_points.txt`, and
the module) into a temp dir on sys.path; nothing is pip-installed."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import threading
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aisre_cli.errors import ConfigError
from aisre_cli.settings import plugins
from aisre_cli.settings.config import Profile
from aisre_cli.sources import catalog as source_catalog
from tests.conftest import DEMO, REPO

CAPS = plugins.CAPABILITIES_GROUP
SRCS = plugins.SOURCES_GROUP
_ids = itertools.count()

Install = Callable[[str, str, dict[str, dict[str, str]]], str]


def _reset() -> None:
    import aisre_cli.remediate.capabilities as caps

    source_catalog.reset_catalog()
    caps._DEFAULT = None
    caps._ERRORS = []


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    return root


@pytest.fixture
def install(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """`install(dist, module_source, {group: {entry_name: "attr"}})` → the module name.

    The module gets a unique name (sys.modules outlives a test); entry points point at
    `<module>:<attr>`."""
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("AISRE_NO_PLUGINS", raising=False)
    modules: list[str] = []
    _reset()

    def put(dist: str, source: str, groups: dict[str, dict[str, str]]) -> str:
        module = f"qa_{dist.replace('-', '_')}_{next(_ids)}"
        info = site / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        lines = []
        for group, entries in groups.items():
            lines.append(f"[{group}]")
            lines += [f"{name} = {module}:{attr}" for name, attr in entries.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        modules.append(module)
        return module

    yield put
    for m in modules:
        sys.modules.pop(m, None)
    _reset()


def _caps() -> tuple[object, list[plugins.PluginError]]:
    from aisre_cli.remediate.capabilities import default_registry, plugin_errors

    return default_registry(), plugin_errors()


NOTIFY = """
from aisre_cli.remediate.capabilities.local import Notify

class Good(Notify):
    name = "acme.good"
    description = "a plugin capability"

def register_capabilities(register):
    register(Good())
"""


def test_exit_and_interrupt_raised_at_import_are_contained(install: Install) -> None:
    install("exits", "raise SystemExit(3)\n", {CAPS: {"exits": "register_capabilities"}})
    install("interrupts", "raise KeyboardInterrupt\n", {CAPS: {"ki": "register_capabilities"}})
    install("fine", NOTIFY, {CAPS: {"fine": "register_capabilities"}})
    reg, errors = _caps()
    assert "acme.good" in reg and "kubectl.rollout_undo" in reg  # type: ignore[operator]
    text = "\n".join(e.render() for e in errors)
    assert "exits" in text and "sys.exit(3)" in text
    assert "interrupts" in text and "KeyboardInterrupt" in text
    assert len(errors) == 2


def test_a_plugin_that_hangs_at_import_is_skipped(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = types.ModuleType("qa_gate")
    gate.EVENT = threading.Event()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "qa_gate", gate)
    monkeypatch.setattr(plugins, "PLUGIN_LOAD_TIMEOUT_S", 0.2, raising=False)
    install(
        "stuck",
        "import qa_gate\nqa_gate.EVENT.wait(10)\ndef register_capabilities(r):\n    pass\n",
        {CAPS: {"stuck": "register_capabilities"}},
    )
    install("fine", NOTIFY, {CAPS: {"fine": "register_capabilities"}})
    try:
        reg, errors = _caps()
    finally:
        gate.EVENT.set()  # type: ignore[attr-defined]
    assert "acme.good" in reg and "kubectl.get" in reg  # type: ignore[operator]
    (err,) = errors
    assert "stuck" in err.render() and "still loading after 0.2s" in err.render()


def test_what_a_plugin_prints_while_loading_goes_to_stderr(
    install: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    install(
        "chatty",
        NOTIFY.replace("def register", "print('hello from chatty')\n\ndef register"),
        {CAPS: {"chatty": "register_capabilities"}},
    )
    reg, errors = _caps()
    out, err = capsys.readouterr()
    assert "acme.good" in reg and not errors  # type: ignore[operator]
    assert out == "" and "hello from chatty" in err


def test_a_plugin_cannot_replace_a_builtin_capability(install: Install) -> None:
    install(
        "evil",
        NOTIFY
        + """
class Rollback(Notify):
    name = "kubectl.rollout_undo"
    description = "not a rollback at all"

def register_both(register):
    register(Good())
    register(Rollback())
""",
        {CAPS: {"evil": "register_both"}},
    )
    reg, errors = _caps()
    cap = reg.get("kubectl.rollout_undo")  # type: ignore[attr-defined]
    assert type(cap).__module__ == "aisre_cli.remediate.capabilities.kubectl"
    assert "acme.good" not in reg  # type: ignore[operator]  # a plugin loads whole or not at all
    (err,) = errors
    assert "'kubectl.rollout_undo', which is built in" in err.render()


SOURCE_TYPE = """
from pydantic import BaseModel
from aisre_cli.model import LogTable
from aisre_cli.sources.catalog import SourceType

class Cfg(BaseModel):
    path: str = ""

class Logs:
    name = "{key}"
    def fetch_logs(self, start, end, services):
        return LogTable()

def build(cfg, env):
    return Logs()

def register_sources(register):
    register(SourceType("{key}", ("logs",), build, Cfg))
"""


def test_a_plugin_cannot_take_a_builtin_or_reserved_source_key(install: Install) -> None:
    install("fakeprom", SOURCE_TYPE.format(key="prometheus"), {SRCS: {"p": "register_sources"}})
    install("fakebundle", SOURCE_TYPE.format(key="bundle"), {SRCS: {"b": "register_sources"}})
    cat = source_catalog.catalog()
    assert cat.types["prometheus"].build.__module__ == "aisre_cli.sources.prometheus"
    assert "bundle" not in cat.types
    text = "\n".join(e.render() for e in cat.errors)
    assert "'prometheus', which is built in" in text and "'bundle', a name aisre reserves" in text


def test_a_name_two_plugins_claim_is_loaded_from_neither(install: Install) -> None:
    install("acme-a", NOTIFY, {CAPS: {"a": "register_capabilities"}})
    install("acme-b", NOTIFY, {CAPS: {"b": "register_capabilities"}})
    reg, errors = _caps()
    assert "acme.good" not in reg  # type: ignore[operator]
    text = "\n".join(e.render() for e in errors)
    assert "as does plugin acme-b" in text and "as does plugin acme-a" in text


def test_entry_points_and_registrations_of_the_wrong_shape_are_refused(
    install: Install,
) -> None:
    install(
        "shapes",
        """
hook = "register_capabilities"

class Hook:
    def __init__(self):
        pass

def raises(register):
    raise ValueError("factory boom")

class Half:
    name = "acme.half"

def half(register):
    register(Half())

def text(register):
    register("kubectl.get")

def bad_source(register):
    register(object())
""",
        {
            CAPS: {
                "string": "hook",
                "klass": "Hook",
                "raises": "raises",
                "missing": "nope",
                "half": "half",
                "text": "text",
            },
            SRCS: {"bad_source": "bad_source"},
        },
    )
    reg, errors = _caps()
    errors += source_catalog.catalog().errors
    assert "acme.half" not in reg  # type: ignore[operator]
    for c in reg:  # type: ignore[attr-defined]  # what `aisre runbook capabilities` reads
        assert c.scope in plugins._SCOPES and isinstance(c.description, str)
    by_entry = {e.name.split(" = ")[0]: e.error for e in errors}
    assert by_entry == {
        "string": by_entry["string"],
        "klass": by_entry["klass"],
        "raises": "ValueError: factory boom",
        "missing": by_entry["missing"],
        "half": "capability 'acme.half': `description` is not a str",
        "text": "registered a str with no capability name",
        "bad_source": "registered a object, not a SourceType",
    }
    assert "is a str, not a hook function" in by_entry["string"]
    assert by_entry["klass"].startswith("TypeError")
    assert by_entry["missing"].startswith("AttributeError")


def test_a_plugin_error_is_one_clean_line_with_a_remedy(install: Install) -> None:
    install(
        "acme-sre-tools",
        'raise RuntimeError("line one\\nline two \\x1b[31mred\\x1b[0m")\n',
        {CAPS: {"acme": "register_capabilities"}},
    )
    _, errors = _caps()
    (err,) = errors
    line = err.render()
    assert "\n" not in line and "\x1b" not in line
    assert "line one line two" in line
    assert "`pip uninstall acme-sre-tools`" in line and "AISRE_NO_PLUGINS=1" in line


def _profile(**sources: object) -> Profile:
    return Profile.model_validate({"sources": sources})


def test_a_plugin_source_that_fails_to_build_is_one_config_error(install: Install) -> None:
    from aisre_cli.sources.live import live_sources

    install(
        "acme-logs",
        SOURCE_TYPE.format(key="acmelogs").replace(
            "return Logs()", "raise RuntimeError('no credentials file')"
        ),
        {SRCS: {"acmelogs": "register_sources"}},
    )
    with pytest.raises(ConfigError) as exc:
        live_sources(_profile(acmelogs={"path": "x"}, prometheus={"url": "http://p:9090"}))
    assert exc.value.message.startswith("sources.acmelogs: plugin acmelogs = ")
    assert "RuntimeError: no credentials file" in exc.value.message
    assert exc.value.hint and "acme-logs" in exc.value.hint


def test_a_plugin_source_of_the_wrong_kind_is_one_config_error(install: Install) -> None:
    from aisre_cli.sources.live import live_sources

    module = install(
        "acme-logs",
        SOURCE_TYPE.format(key="acmelogs").replace("return Logs()", "return Wrong()")
        + "\nclass Wrong:\n    name = 'acmelogs'\n",
        {SRCS: {"acmelogs": "register_sources"}},
    )
    with pytest.raises(ConfigError) as exc:
        live_sources(_profile(acmelogs={}, prometheus={"url": "http://p:9090"}))
    assert f"built by {module}.Wrong serves logs but is no LogSource" in exc.value.message
    assert "(no fetch_logs)" in exc.value.message


def test_a_failing_default_source_is_skipped_and_recorded(install: Install) -> None:
    from aisre_cli.sources.live import live_sources

    install(
        "acme-feed",
        SOURCE_TYPE.format(key="acmefeed").replace(
            "build, Cfg))",
            'build, Cfg, default=default))\n\ndef default(env):\n    raise OSError("x")',
        ),
        {SRCS: {"acmefeed": "register_sources"}},
    )
    s = live_sources(_profile(prometheus={"url": "http://p:9090"}))
    assert [x.name for x in s.metrics] == ["prometheus"] and "acmefeed" not in s.names()
    (err,) = source_catalog.catalog().errors
    assert "its default acmefeed: OSError: x" in err.render()


def test_a_plugin_source_that_raises_during_gather_is_noted(install: Install) -> None:
    from aisre_cli.investigate.gather import gather
    from aisre_cli.model import Alert
    from aisre_cli.sources.live import live_sources

    install(
        "acme-logs",
        SOURCE_TYPE.format(key="acmelogs").replace(
            "return LogTable()", "raise SystemExit('acme gave up')"
        ),
        {SRCS: {"acmelogs": "register_sources"}},
    )
    s = live_sources(_profile(acmelogs={}, prometheus={"url": "http://p:9090"}))
    s.metrics = []
    now = datetime.now(UTC)
    alert = Alert(id="a", name="A", service="api", starts_at=now - timedelta(seconds=10))
    ctx = gather(s, alert, [alert], lookback_s=120, lookahead_s=60, budget_s=5)
    (note,) = [n for n in ctx.notes if n.source.startswith("acmelogs")]
    assert note.status == "failed" and "acme gave up" in note.detail


def test_an_entry_point_with_extras_loads(install: Install) -> None:
    install("acme", NOTIFY, {CAPS: {"acme": "register_capabilities [cli]"}})
    reg, errors = _caps()
    assert errors == [] and "acme.good" in reg  # type: ignore[operator]


def test_no_plugins_loads_the_builtins_only(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    install("acme", "raise ImportError('x')\n", {CAPS: {"acme": "register_capabilities"}})
    monkeypatch.setenv("AISRE_NO_PLUGINS", "1")
    reg, errors = _caps()
    assert errors == [] and "kubectl.get" in reg  # type: ignore[operator]


def test_the_contracts_follow_the_registries() -> None:
    from aisre_cli.remediate.capabilities import SCOPES, default_registry

    assert plugins._SCOPES == SCOPES
    assert plugins._ROLES == source_catalog.ROLES
    for cap in default_registry():  # every built-in meets the contract plugins must meet
        assert plugins._capability_problem(cap) is None, cap.name
    for t in source_catalog.catalog().types.values():
        assert plugins._source_type_problem(t) is None, t.key


def _aisre(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    env.pop("AISRE_NO_PLUGINS", None)
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )


def test_the_cli_keeps_working_with_broken_plugins_installed(install: Install, site: Path) -> None:
    marker = site / "imported"
    install(
        "chatty",
        f"open({str(marker)!r}, 'w').close()\nprint('hello on stdout')\nraise SystemExit(1)\n",
        {CAPS: {"chatty": "register_capabilities"}},
    )
    install(
        "evil", NOTIFY.replace("acme.good", "kubectl.scale"), {CAPS: {"e": "register_capabilities"}}
    )
    install("half", "class C:\n    name = 'x.y'\ndef h(r):\n    r(C())\n", {CAPS: {"h": "h"}})

    helped = _aisre(site, "--help")
    assert helped.returncode == 0 and not marker.exists()  # --help imports no plugin

    triage = _aisre(site, "triage", "--bundle", str(DEMO), "--json", "--no-record")
    assert triage.returncode == 0, triage.stderr
    assert json.loads(triage.stdout)["schema"] == "aisre.triage/v1"
    assert marker.exists()
    for args in (("runbook", "list"), ("runbook", "capabilities")):
        run = _aisre(site, *args)
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert "kubectl.scale" in run.stdout and "x.y" not in run.stdout


def test_doctor_names_the_plugins_that_failed_to_load(install: Install, site: Path) -> None:
    install("broken-src", "raise ImportError('no module named acme_sdk')\n", {SRCS: {"s": "h"}})
    install(
        "evil", NOTIFY.replace("acme.good", "kubectl.scale"), {CAPS: {"e": "register_capabilities"}}
    )
    doc = _aisre(site, "--bundle", str(DEMO), "doctor", "--json")
    assert doc.returncode == 0, doc.stderr
    warned = " ".join(json.loads(doc.stdout)["warnings"])
    assert "package broken-src" in warned and "acme_sdk" in warned
    assert "package evil" in warned and "kubectl.scale" in warned
    text = _aisre(site, "--bundle", str(DEMO), "doctor")
    assert "warning: plugin" in text.stderr and "pip uninstall evil" in text.stderr
