"""QA of `aisre config`, `aisre auth`, `aisre doctor` and the settings they read: what an
on-call engineer hits with a hand-edited, symlinked or damaged config, odd tokens, and
a doctor run against a profile that cannot work."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring
import pytest

from aisre_cli.settings import paths
from tests.conftest import DEMO
from tests.contract_servers.cli import run_cli

# An OSC (window title) and a BEL: click strips only CSI sequences on a pipe, so these
# reach a terminal (and the captured output) unless aisre escapes them.
HOSTILE = "e\x1b]0;pwned\x07Z"


def _write(text: str) -> Path:
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def _no_controls(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, repr(text)


# ------------------------------------------------------------------ config file shape


@pytest.mark.parametrize("body", ["- a\n- b\n", "just a string\n", "42\n"])
def test_a_config_that_is_not_a_mapping_says_so_plainly(body: str) -> None:
    """Was: `config.yaml: : Input should be a valid dictionary or instance of AppConfig`
    (an empty location and a class name of the code)."""
    p = _write(body)
    r = run_cli(["config", "show"])
    assert r.code == 2, r.err
    assert f"{p}: : " not in r.err
    assert "AppConfig" not in r.err and "instance of" not in r.err
    assert "mapping" in r.err


def test_a_profile_that_is_not_a_mapping_names_no_class() -> None:
    _write("version: 1\nprofiles:\n  prod: [1, 2]\n")
    r = run_cli(["config", "show"])
    assert r.code == 2
    assert "profiles.prod" in r.err and "instance of Profile" not in r.err


def test_bom_and_crlf_config_files_are_read() -> None:
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"\xef\xbb\xbfversion: 1\r\nprofiles:\r\n  a:\r\n    environment: x\r\n")
    r = run_cli(["config", "show", "--json"])
    assert r.code == 0, r.err
    assert json.loads(r.out)["config"]["environment"] == "x"


def test_a_dangling_symlink_config_is_an_error_not_the_demo(tmp_path: Path) -> None:
    """Was: config.yaml linked into a dotfiles checkout that moved read as "no config",
    and every command silently fell back to the demo incident's made-up alerts."""
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.symlink_to(tmp_path / "dotfiles" / "aisre.yaml")
    r = run_cli(["config", "show"])
    assert r.code == 2, r.out
    assert "demo" not in r.out
    assert "symlink" in r.err and "does not exist" in r.err
    r = run_cli(["doctor"])
    assert r.code == 2
    # `config init` must not replace the link with a file of its own
    r = run_cli(["config", "init", "-y", "--prometheus-url", "http://prom:9090"])
    assert r.code == 2
    assert p.is_symlink()


def test_writing_a_symlinked_config_keeps_the_link(tmp_path: Path) -> None:
    """Was: `config use` / `config init` replaced a config.yaml symlink (dotfiles) with a
    plain file: the change never reached the linked file, the link was gone."""
    target = tmp_path / "dotfiles" / "aisre.yaml"
    target.parent.mkdir()
    target.write_text(
        "version: 1\ndefault_profile: a\nprofiles:\n"
        "  a: {sources: {prometheus: {url: 'http://a:9090'}}}\n"
        "  b: {sources: {prometheus: {url: 'http://b:9090'}}}\n"
    )
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.symlink_to(target)
    r = run_cli(["config", "use", "b"])
    assert r.code == 0, r.err
    assert p.is_symlink() and p.resolve() == target.resolve()
    assert "default_profile: b" in target.read_text()
    r = run_cli(["config", "init", "-y", "--name", "c", "--prometheus-url", "http://c:9090"])
    assert r.code == 0, r.err
    assert p.is_symlink() and "http://c:9090" in target.read_text()
    assert not list(p.parent.glob("*.tmp"))


# ------------------------------------------------------------------ profile selection


def test_a_default_profile_naming_nothing_says_it_is_the_default() -> None:
    """Was: `profile 'ghost' not found`: the engineer never typed 'ghost'."""
    p = _write(
        "version: 1\ndefault_profile: ghost\nprofiles:\n"
        "  prod: {sources: {prometheus: {url: 'http://p:9090'}}}\n"
    )
    r = run_cli(["config", "show"])
    assert r.code == 2
    assert "default_profile" in r.err and str(p) in r.err and "ghost" in r.err
    assert "config use" in r.err


def test_aisre_profile_naming_nothing_says_it_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write("version: 1\nprofiles:\n  prod: {sources: {prometheus: {url: 'http://p:9090'}}}\n")
    monkeypatch.setenv("AISRE_PROFILE", "staging")
    r = run_cli(["doctor"])
    assert r.code == 2
    assert "AISRE_PROFILE" in r.err and "'staging'" in r.err
    r = run_cli(["config", "list"])
    assert r.code == 0
    assert "picks the active profile" not in r.err  # it picks nothing: it names no profile
    assert "AISRE_PROFILE" in r.err


# ------------------------------------------------------------------ untrusted text


def test_config_values_never_reach_the_terminal_raw(monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: `config list` printed profile names and environments, `config show` the
    profile name and token names, `doctor` the bundle path, with their controls raw."""
    _write(
        "version: 1\n"
        'default_profile: "p\\e]0;t\\aX"\n'
        "profiles:\n"
        '  "p\\e]0;t\\aX":\n'
        '    environment: "e\\e]0;pwned\\aZ"\n'
        "    sources:\n"
        f'      bundle: "{DEMO}/\\e]0;x\\a"\n'
        '      tempo: {url: "http://127.0.0.1:1", token_name: "tok\\e]0;x\\a"}\n'
    )
    for argv in (
        ["config", "list"],
        ["config", "show"],
        ["config", "show", "--json"],
        ["doctor"],
        ["doctor", "--json"],
        ["config", "use", "p\x1b]0;t\x07X"],
    ):
        r = run_cli(argv)
        _no_controls(r.out + r.err)
    monkeypatch.setenv("AISRE_PROFILE", HOSTILE)
    r = run_cli(["config", "list"])
    _no_controls(r.out + r.err)


# ------------------------------------------------------------------ secrets


def test_a_whitespace_only_token_is_missing_not_zero_chars(monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: AISRE_X_TOKEN set to a newline (an unset CI secret piped through echo) was
    "stored: env, 0 chars", and sources sent an empty bearer token."""
    from aisre_cli.settings import secrets

    monkeypatch.setenv("AISRE_PROM_TOKEN", " \n")
    assert secrets.lookup("prom") is None
    r = run_cli(["auth", "status", "prom", "--json"])
    assert r.code == 0
    assert json.loads(r.out)["tokens"][0]["stored"] == "missing"


def test_a_blank_keyring_entry_does_not_hide_the_env_token(
    file_keyring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aisre_cli.settings import secrets

    keyring.set_password("aisre", "prom", "\n")
    monkeypatch.setenv("AISRE_PROM_TOKEN", "from-env-123")
    hit = secrets.lookup("prom")
    assert hit is not None and hit[1] == "env"


def test_auth_set_from_stdin_strips_a_pasted_newline(file_keyring: Path) -> None:
    r = run_cli(["auth", "set", "pagerduty"], input="s3cr3t-token\r\n")
    assert r.code == 0, r.err
    assert keyring.get_password("aisre", "pagerduty") == "s3cr3t-token"
    r = run_cli(["auth", "set", "pagerduty"], input="\n")
    assert r.code == 2 and "empty token" in r.err


def test_a_bad_token_name_in_the_config_names_the_field() -> None:
    """Was: `error: invalid token name 'my token'` from doctor and auth status, without
    saying where in which file."""
    p = _write(
        "version: 1\nprofiles:\n  prod:\n    sources:\n"
        "      prometheus: {url: 'http://127.0.0.1:1', token_name: 'my token'}\n"
    )
    for argv in (["doctor"], ["auth", "status"], ["config", "show"]):
        r = run_cli(argv)
        assert r.code == 2, (argv, r.out, r.err)
        assert str(p) in r.err and "profiles.prod.sources.prometheus.token_name" in r.err


# ------------------------------------------------------------------ doctor


def test_doctor_fails_a_bundle_profile_whose_bundle_is_missing(tmp_path: Path) -> None:
    """Was: `reads the bundle /gone: nothing to check`, exit 0; `aisre alerts` then
    failed with `no such bundle directory`."""
    _write(f"version: 1\nprofiles:\n  b:\n    sources:\n      bundle: {tmp_path / 'gone'}\n")
    r = run_cli(["doctor", "--json"])
    assert r.code == 3, r.out + r.err
    doc = json.loads(r.out)
    row = next(s for s in doc["sources"] if s["source"] == "bundle")
    assert row["ok"] is False and "no such bundle directory" in row["detail"]
    r = run_cli(["doctor"])
    # the table wraps its cells to the terminal, and how depends on the temp path's length
    assert r.code == 3 and "no such bundle directory" in " ".join(r.out.split())


def test_doctor_passes_a_good_bundle_profile_with_a_bundle_row() -> None:
    _write(f"version: 1\nprofiles:\n  b:\n    sources:\n      bundle: {DEMO}\n")
    r = run_cli(["doctor", "--json"])
    assert r.code == 0, r.out + r.err
    doc = json.loads(r.out)
    row = next(s for s in doc["sources"] if s["source"] == "bundle")
    assert row["ok"] is True and row["reachable"] is True


def test_doctor_checks_the_bundle_given_with_the_global_option(tmp_path: Path) -> None:
    """`aisre --bundle DIR doctor` checked the profile's sources and ignored DIR, which
    triage with the same option reads."""
    r = run_cli(["--bundle", str(tmp_path / "gone"), "doctor", "--json"])
    assert r.code == 3, r.out + r.err
    row = next(s for s in json.loads(r.out)["sources"] if s["source"] == "bundle")
    assert "no such bundle directory" in row["detail"]
    r = run_cli(["--bundle", str(DEMO), "doctor", "--json"])
    assert r.code == 0, r.out + r.err
    row = next(s for s in json.loads(r.out)["sources"] if s["source"] == "bundle")
    assert row["ok"] is True and row["url"] == str(DEMO)


def test_doctor_json_has_the_same_top_level_keys_for_bundle_and_live_profiles() -> None:
    _write(
        "version: 1\nprofiles:\n"
        f"  b: {{sources: {{bundle: '{DEMO}'}}}}\n"
        "  l: {sources: {prometheus: {url: 'http://127.0.0.1:1', http: {retries: 0}}}}\n"
    )
    bundle = json.loads(run_cli(["doctor", "-p", "b", "--json"]).out)
    live = json.loads(run_cli(["doctor", "-p", "l", "--json"]).out)
    assert set(bundle) == set(live)
    assert {"schema", "profile", "keyring", "kubernetes", "sources", "spool"} <= set(bundle)


def test_doctor_warns_about_a_readable_config_holding_a_password() -> None:
    """A hand-edited source URL with a password in a group/world-readable config.yaml:
    doctor said nothing."""
    p = _write(
        "version: 1\nprofiles:\n  prod:\n    sources:\n"
        "      prometheus: {url: 'http://admin:hunter2pass@127.0.0.1:1', http: {retries: 0}}\n"
    )
    os.chmod(p, 0o644)
    r = run_cli(["doctor", "--json"])
    assert "hunter2pass" not in r.out + r.err
    doc = json.loads(r.out)
    assert any("readable by other users" in w for w in doc["warnings"]), doc.get("warnings")
    r = run_cli(["doctor"])
    assert "readable by other users" in r.out + r.err and "chmod 600" in r.out + r.err
    os.chmod(p, 0o600)
    doc = json.loads(run_cli(["doctor", "--json"]).out)
    assert not any("readable by other users" in w for w in doc["warnings"])


def test_doctor_warns_about_a_readable_insecure_token_file() -> None:
    r = run_cli(["auth", "set", "pd", "--insecure-storage"], input="tok-123456\n")
    assert r.code == 0, r.err
    store = paths.config_dir() / "secrets.yaml"
    os.chmod(store, 0o644)
    _write(f"version: 1\nprofiles:\n  b:\n    sources:\n      bundle: {DEMO}\n")
    doc = json.loads(run_cli(["doctor", "--json"]).out)
    assert any(str(store) in w and "chmod 600" in w for w in doc["warnings"]), doc["warnings"]


@pytest.mark.parametrize("name", ["prod[eu]", "prod[/]"])
def test_doctor_shows_a_profile_name_with_brackets_as_written(name: str) -> None:
    """Was: the name went into the table title as rich markup: `prod[eu]` showed as
    `prod`, and `prod[/]` ended in `internal error: MarkupError` (exit 1)."""
    _write(
        f"version: 1\nprofiles:\n  '{name}':\n    sources:\n"
        "      prometheus: {url: 'http://127.0.0.1:1', http: {retries: 0}}\n"
    )
    r = run_cli(["doctor"])
    assert r.code == 3, r.err
    assert f"profile {name}" in r.out


def test_doctor_finishes_within_its_budget_when_kubectl_hangs(tmp_path: Path) -> None:
    """Was: the `kubectl auth can-i` checks ran first, one after another, each allowed
    15 s whatever the profile's budget: a kubectl stuck (an exec credential plugin waiting
    for an SSO login) made a 2 s doctor take 15 s + the sources' time."""
    import subprocess
    import time

    from tests.fakes.env import AISRE, make_env, write_config

    home = tmp_path / "home"
    write_config(
        home,
        {
            "gather_budget_s": 2,
            "sources": {"prometheus": {"url": "http://127.0.0.1:9", "http": {"retries": 0}}},
        },
    )
    env = make_env(
        home,
        FAKE_KUBECTL_HANG="auth can-i",
        FAKE_KUBECTL_PIDS=str(tmp_path / "pids.jsonl"),
    )
    t0 = time.monotonic()
    cp = subprocess.run(
        [*AISRE, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    took = time.monotonic() - t0
    assert cp.returncode == 3, cp.stdout + cp.stderr
    doc = json.loads(cp.stdout)
    assert doc["kubernetes"]["can_i"] and all(
        a["answer"] == "error" for a in doc["kubernetes"]["can_i"]
    )
    assert took < 12, f"doctor took {took:.1f}s with a 2 s budget"


def test_config_edit_of_a_symlinked_config_keeps_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    target = tmp_path / "dotfiles" / "aisre.yaml"
    target.parent.mkdir()
    target.write_text(
        "version: 1\nprofiles:\n  a: {sources: {prometheus: {url: 'http://a:9090'}}}\n"
    )
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.symlink_to(target)
    good = "version: 1\nprofiles:\n  b: {sources: {loki: {url: 'http://l:3100'}}}\n"
    script = tmp_path / "ed.py"
    script.write_text(f"import sys, pathlib\npathlib.Path(sys.argv[1]).write_text({good!r})\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    r = run_cli(["config", "edit"])
    assert r.code == 0, r.err
    assert p.is_symlink() and target.read_text() == good
    assert not list(p.parent.glob("*.edit.yaml")) and not list(target.parent.glob("*.tmp"))
