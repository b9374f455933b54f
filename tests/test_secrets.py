"""Secrets: keyring first, then the 0600 file store, then AISRE_<NAME>_TOKEN; refusal
without a usable keyring; `aisre auth` never takes or prints a token."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from pydantic import SecretStr

from aisre_cli.errors import AuthError, ConfigError
from aisre_cli.settings import secrets
from tests.contract_servers.cli import run_cli


@pytest.fixture()
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from tests.contract_servers.fake_keyring import FileKeyring

    previous = keyring.get_keyring()  # before the env var names the test backend
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("AISRE_TEST_KEYRING_FILE", str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.contract_servers.fake_keyring.FileKeyring")
    keyring.set_keyring(FileKeyring())
    yield path
    keyring.set_keyring(previous)


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
