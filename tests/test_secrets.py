"""Secrets: keyring first, then the 0600 file store, then AISRE_<NAME>_TOKEN; refusal
without a usable keyring; `aisre auth` never takes or prints a token."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from pydantic import SecretStr

from aisre_cli.errors import AuthError, ConfigError
from aisre_cli.settings import secrets
from tests.contract_servers.cli import run_cli


def test_env_var_name() -> None:
    assert secrets.env_var("pagerduty") == "AISRE_PAGERDUTY_TOKEN"
    assert secrets.env_var("gh-enterprise.prod") == "AISRE_GH_ENTERPRISE_PROD_TOKEN"


def test_invalid_name_is_refused() -> None:
    with pytest.raises(ConfigError):
        secrets.get_token("../etc")


def test_env_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", "from-env-123")
    hit = secrets.lookup("pagerduty")
    assert hit is not None and hit[1] == "env"
    assert hit[0].get_secret_value() == "from-env-123"
    assert "from-env" not in repr(hit[0])


def test_no_usable_keyring_refuses_clearly() -> None:
    # conftest selects keyring's `fail` backend
    info = secrets.keyring_info()
    assert not info.usable
    with pytest.raises(AuthError) as exc:
        secrets.set_token("pagerduty", SecretStr("x" * 20))
    assert "--insecure-storage" in (exc.value.hint or "")


# ------------------------------------------------- the keyring that cannot be reached

_NO_BUS = ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "PYTHON_KEYRING_BACKEND")


@pytest.fixture()
def headless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Linux host with no session bus, no keyring config and keyring not yet loaded."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the shortcut is for Linux hosts")
    for var in _NO_BUS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "run").mkdir()
    for mod in [m for m in sys.modules if m == "keyring" or m.startswith("keyring.")]:
        monkeypatch.delitem(sys.modules, mod)
    return tmp_path


def test_a_headless_host_is_answered_without_loading_keyring(headless: Path) -> None:
    info = secrets.keyring_info()
    assert (info.usable, info.backend) == (False, "keyring.backends.fail.Keyring")
    assert "keyring" not in sys.modules


@pytest.mark.parametrize(
    "reach",
    [
        "session bus address",
        "bus socket",
        "x11 autolaunch",
        "config file",
        "named backend",
        "third-party backend",
        "keyring loaded",
    ],
)
def test_anything_that_could_give_keyring_a_backend_lets_keyring_decide(
    headless: Path, monkeypatch: pytest.MonkeyPatch, reach: str
) -> None:
    assert secrets._keyring_unreachable() is not None  # the baseline: certain
    if reach == "session bus address":
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    elif reach == "bus socket":
        (headless / "run" / "bus").touch()
    elif reach == "x11 autolaunch":
        monkeypatch.setenv("DISPLAY", ":0")
    elif reach == "config file":
        cfg = headless / "config" / "python_keyring" / "keyringrc.cfg"
        cfg.parent.mkdir(parents=True)
        cfg.write_text("[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n")
    elif reach == "named backend":
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    elif reach == "third-party backend":
        dist = headless / "site" / "keyrings_fake-1.0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: keyrings-fake\nVersion: 1.0\n")
        (dist / "entry_points.txt").write_text("[keyring.backends]\nfake = keyrings_fake\n")
        monkeypatch.syspath_prepend(str(headless / "site"))
    else:
        monkeypatch.setitem(sys.modules, "keyring", keyring)
    assert secrets._keyring_unreachable() is None


def test_the_shortcut_agrees_with_keyrings_own_detection(headless: Path) -> None:
    """In a fresh interpreter on the headless environment, keyring's detection (which
    loads every backend and probes for a bus) ends where the shortcut says it would."""
    code = (
        "import sys; from aisre_cli.settings import secrets\n"
        "short = secrets._keyring_unreachable()\n"
        "import keyring\n"
        "kr = keyring.get_keyring()\n"
        "print(short.backend if short else None, type(kr).__module__ + '.' + type(kr).__name__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in _NO_BUS}
    env["XDG_RUNTIME_DIR"] = str(headless / "run")
    env["XDG_CONFIG_HOME"] = str(headless / "config")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    short, detected = out.stdout.split()
    assert short == detected == "keyring.backends.fail.Keyring"


def test_an_env_token_on_a_headless_host_loads_no_keyring(
    headless: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", "pw-from-env-123")
    hit = secrets.lookup("memory")
    assert hit is not None and hit[1] == "env"
    assert "keyring" not in sys.modules


def test_insecure_storage_is_0600(monkeypatch: pytest.MonkeyPatch) -> None:
    where = secrets.set_token("github", SecretStr("ghp_filetoken"), insecure_storage=True)
    assert where == "file"
    mode = stat.S_IMODE(os.stat(secrets.insecure_file()).st_mode)
    assert mode == 0o600
    monkeypatch.setenv("AISRE_GITHUB_TOKEN", "env-loses")
    hit = secrets.lookup("github")
    assert hit is not None and hit[1] == "file"
    assert secrets.delete_token("github") == ["file"]
    hit = secrets.lookup("github")
    assert hit is not None and hit[1] == "env"


def test_keyring_wins_over_env(file_keyring: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", "env-value-xyz")
    assert secrets.keyring_info().usable
    assert secrets.set_token("pagerduty", SecretStr("kr-value-abc")) == "keyring"
    hit = secrets.lookup("pagerduty")
    assert hit is not None and hit[1] == "keyring"
    assert hit[0].get_secret_value() == "kr-value-abc"
    assert secrets.delete_token("pagerduty") == ["keyring"]
    hit = secrets.lookup("pagerduty")
    assert hit is not None and hit[1] == "env"


def test_auth_cli_set_status_delete(file_keyring: Path) -> None:
    r = run_cli(["auth", "set", "pagerduty"], input="tok-from-stdin-42\n")
    assert r.code == 0, r.err
    assert "tok-from-stdin-42" not in r.out + r.err
    r = run_cli(["auth", "status", "pagerduty", "--json"])
    assert r.code == 0 and '"stored": "keyring"' in r.out
    assert "tok-from-stdin-42" not in r.out + r.err
    r = run_cli(["auth", "delete", "pagerduty"])
    assert r.code == 0
    r = run_cli(["auth", "delete", "pagerduty"])
    assert r.code == 2


def test_auth_cli_refuses_without_keyring() -> None:
    r = run_cli(["auth", "set", "pagerduty"], input="tok\n")
    assert r.code == 4
    assert "no usable OS keyring" in r.err and "--insecure-storage" in r.err
    assert "Traceback" not in r.err


def test_auth_cli_insecure_storage_warns() -> None:
    r = run_cli(["auth", "set", "pagerduty", "--insecure-storage"], input="tok-insecure-1\n")
    assert r.code == 0
    assert "PLAINTEXT" in r.err


def test_no_token_flag_exists() -> None:
    r = run_cli(["auth", "set", "pagerduty", "--token", "x"])
    assert r.code == 2


def test_auth_status_lists_the_team_store_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """QA 2026-12-03: in a team profile `auth status` said no token was configured."""
    from aisre_cli.settings import paths

    cfg = paths.config_dir() / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        "version: 1\ndefault_profile: team\nprofiles:\n  team:\n"
        "    memory_url: postgresql://aisre@127.0.0.1:5432/team\n"
        "    sources:\n      tempo: {url: 'http://127.0.0.1:3200', token_name: tempo}\n"
    )
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", "pw-from-env-123")
    r = run_cli(["auth", "status", "--json"])
    assert r.code == 0, r.err
    import json

    rows = {t["name"]: t for t in json.loads(r.out)["tokens"]}
    assert rows["memory"]["stored"] == "env" and rows["tempo"]["stored"] == "missing"
    assert "pw-from-env-123" not in r.out + r.err


def test_source_data_loses_credentials_by_name_and_shape_wherever_it_is_read() -> None:
    """Not only a capture: every JSON body a source answers goes through redact_data."""
    from aisre_cli.settings.secrets import redact_data

    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P"
    body = {
        "line": f'login client_secret=s3cr3tv4lue {{"password": "hunter22"}} jwt={jwt}'
        " X-Auth-Token: abc123def",
        "ghp_" + "a" * 36: "ok",
        "kept": 'secret="ingress-tls" max_tokens=512 cache key miss',
    }
    out = redact_data(body)
    text = str(out)
    for leaked in ("s3cr3tv4lue", "hunter22", "abc123def", jwt, "ghp_" + "a" * 36):
        assert leaked not in text
    assert "client_secret=***" in out["line"] and '"password": "***"' in out["line"]
    assert out["kept"] == body["kept"]
