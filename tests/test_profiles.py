"""Profile selection and profile mistakes (issue 12, items 5 and 6)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from aisre_cli.settings import paths
from tests.contract_servers.cli import run_cli


def _init(name: str, *extra: str) -> None:
    r = run_cli(["config", "init", "-y", "--name", name, *extra])
    assert r.code == 0, r.err


def _shown(args: list[str]) -> str:
    r = run_cli(args)
    assert r.code == 0, r.err
    name: str = json.loads(r.out)["profile"]
    return name


def test_dash_p_before_the_subcommand_beats_aisre_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    _init("a", "--prometheus-url", "http://a:9090")
    _init("b", "--prometheus-url", "http://b:9090")
    monkeypatch.setenv("AISRE_PROFILE", "a")
    assert _shown(["-p", "b", "config", "show", "--json"]) == "b"
    assert _shown(["config", "show", "--json", "-p", "b"]) == "b"
    assert _shown(["config", "show", "--json"]) == "a"
    # the subcommand's own -p beats the root's
    assert _shown(["-p", "a", "config", "show", "--json", "-p", "b"]) == "b"


@pytest.mark.parametrize("url", ["not-a-url", "localhost:9090", "ftp://prom:21", "http://"])
def test_init_refuses_a_url_that_is_not_http(url: str) -> None:
    r = run_cli(["config", "init", "-y", "--name", "x", "--prometheus-url", url])
    assert r.code == 2, (r.out, r.err)
    assert "prometheus.url" in r.err and "is not" in r.err and "hint:" in r.err
    assert not paths.config_file().exists()


def test_localhost_without_scheme_suggests_the_fix() -> None:
    r = run_cli(["config", "init", "-y", "--name", "x", "--alertmanager-url", "localhost:9093"])
    assert r.code == 2 and "did you mean http://localhost:9093" in r.err


def test_a_bad_url_in_the_file_is_a_config_error() -> None:
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("version: 1\nprofiles:\n  p:\n    sources:\n      loki: {url: 'loki:3100'}\n")
    r = run_cli(["-p", "p", "doctor"])
    assert r.code == 2 and "sources.loki.url" in r.err and "Traceback" not in r.err


def test_only_the_first_profile_becomes_the_default_then_config_use() -> None:
    _init("prod", "--prometheus-url", "http://prod:9090")
    _init("staging", "--prometheus-url", "http://staging:9090")
    cfg = yaml.safe_load(paths.config_file().read_text())
    assert cfg["default_profile"] == "prod"
    r = run_cli(["config", "init", "-y", "--name", "dev", "--loki-url", "http://l:3100"])
    assert "still 'prod'" in r.err and "aisre config use dev" in r.err
    _init("qa", "--loki-url", "http://l:3100", "--default")
    assert yaml.safe_load(paths.config_file().read_text())["default_profile"] == "qa"

    r = run_cli(["config", "use", "staging"])
    assert r.code == 0, r.err
    assert yaml.safe_load(paths.config_file().read_text())["default_profile"] == "staging"
    r = run_cli(["config", "use", "nope"])
    assert r.code == 2 and "not found" in r.err and "hint:" in r.err

    r = run_cli(["config", "list", "--json"])
    assert r.code == 0, r.err
    rows = {p["name"]: p for p in json.loads(r.out)["profiles"]}
    assert set(rows) == {"prod", "staging", "dev", "qa", "demo"}
    assert rows["staging"]["default"] and rows["staging"]["active"]
    assert rows["prod"]["sources"] == ["prometheus"]
    r = run_cli(["config", "list"])
    assert r.code == 0
    line = next(x for x in r.out.splitlines() if "staging" in x)
    assert line.startswith("*") and "(default)" in line


def _editor(tmp_path: Path, new_text: str) -> str:
    script = tmp_path / "ed.py"
    script.write_text(f"import sys, pathlib\npathlib.Path(sys.argv[1]).write_text({new_text!r})\n")
    return f"{sys.executable} {script}"


def test_config_edit_saves_only_a_valid_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _init("prod", "--prometheus-url", "http://prod:9090")
    before = paths.config_file().read_text()
    monkeypatch.setenv("EDITOR", _editor(tmp_path, "version: 1\nprofiles:\n  p: {bogus: 1}\n"))
    monkeypatch.delenv("VISUAL", raising=False)
    r = run_cli(["config", "edit"])
    assert r.code == 2 and "not saved" in r.err and "bogus" in r.err
    assert paths.config_file().read_text() == before
    good = "version: 1\ndefault_profile: p\nprofiles:\n  p:\n    sources:\n      loki: {url: 'http://l:3100'}\n"
    monkeypatch.setenv("EDITOR", _editor(tmp_path, good))
    r = run_cli(["config", "edit"])
    assert r.code == 0, r.err
    assert paths.config_file().read_text() == good
    assert (paths.config_file().stat().st_mode & 0o777) == 0o600
    assert not list(paths.config_file().parent.glob("*.edit.yaml"))


def test_a_profile_without_an_alert_source_says_so() -> None:
    _init("metrics-only", "--prometheus-url", "http://127.0.0.1:9")
    for argv in (["alerts"], ["alerts", "--json"], ["triage", "--json"]):
        r = run_cli(argv)
        assert r.code == 2, (argv, r.out, r.err)
        assert "no alert source" in r.err and "hint:" in r.err
        assert "no active alerts" not in r.out + r.err
