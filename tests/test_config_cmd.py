"""`aisre config init|show`, `aisre doctor`, and the canary-token test: a token
placed in the keyring and in the environment never appears in `config show`,
`doctor`, `-vv` debug output, error messages or tracebacks."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
import yaml

from aisre_cli.settings import paths
from tests.conftest import REPO
from tests.contract_servers.base import ContractServer, Reply, Request
from tests.contract_servers.cli import run_cli
from tests.contract_servers.github import GitHubServer
from tests.contract_servers.loki import LokiServer
from tests.contract_servers.pagerduty import PagerDutyServer

CANARY_KR = "CANARY-kr-7f3a9c51d2e8"
CANARY_ENV = "CANARY-env-b41d0e9a77c3"
CANARY_PROM = "CANARY-prom-5e6f7a8b9c0d"


def test_init_non_interactive_writes_0600_and_validates() -> None:
    r = run_cli(
        [
            "config",
            "init",
            "-y",
            "--name",
            "prod",
            "--alertmanager-url",
            "http://am:9093",
            "--prometheus-url",
            "http://prom:9090",
            "--github-repo",
            "acme/checkout=checkout",
            "--pagerduty",
            "--pagerduty-from",
            "me@example.com",
        ]
    )
    assert r.code == 0, r.err
    p = paths.config_file()
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    data = yaml.safe_load(p.read_text())
    assert data["default_profile"] == "prod"
    src = data["profiles"]["prod"]["sources"]
    assert src["github"]["repos"] == {"acme/checkout": "checkout"}
    assert src["pagerduty"]["from_email"] == "me@example.com"
    assert "aisre auth set pagerduty" in r.err
    # a second init of the same profile needs --force
    r = run_cli(["config", "init", "-y", "--name", "prod", "--prometheus-url", "http://p"])
    assert r.code == 2 and "--force" in r.err
    r = run_cli(
        [
            "config",
            "init",
            "-y",
            "--name",
            "staging",
            "--prometheus-url",
            "http://p",
            "--no-default",
        ]
    )
    assert r.code == 0
    data = yaml.safe_load(p.read_text())
    assert set(data["profiles"]) == {"prod", "staging"} and data["default_profile"] == "prod"


def test_init_rejects_bad_repo_and_empty() -> None:
    r = run_cli(["config", "init", "-y", "--github-repo", "nope"])
    assert r.code == 2 and "OWNER/REPO=SERVICE" in r.err
    r = run_cli(["config", "init", "-y"])
    assert r.code == 2 and "no source" in r.err


@pytest.mark.parametrize(
    "flag",
    ["--prometheus-url", "--alertmanager-url", "--loki-url", "--pagerduty-url", "--grafana-url"],
)
def test_init_refuses_a_url_with_a_password(flag: str) -> None:
    """config.yaml says it holds no secrets; init wrote the password in, `show` hid it."""
    extra = [] if flag == "--prometheus-url" else ["--prometheus-url", "http://p:9090"]
    r = run_cli(["config", "init", "-y", *extra, flag, "https://ops:hunter2@h.example:9090/"])
    assert r.code == 2, r.err
    assert f"{flag} 'https://ops:***@h.example:9090/' contains a password" in r.err
    assert "hint:" in r.err and "hunter2" not in r.err + r.out
    if flag != "--grafana-url":
        assert "aisre auth set " in r.err
    assert not paths.config_file().exists()
    r = run_cli(["config", "init", "-y", flag, "https://ops@h.example:9090/", *extra])
    assert r.code == 0, r.err  # a user name alone is no secret


def test_init_stores_file_paths_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths were stored as typed: `aisre doctor` elsewhere could not find them."""
    import certifi

    work = tmp_path / "work"
    (work / "certs").mkdir(parents=True)
    (work / "topology.yaml").write_text("services: {}\n")
    (work / "certs" / "ca.pem").write_text(Path(certifi.where()).read_text())
    monkeypatch.chdir(work)
    r = run_cli(
        [
            "config",
            "init",
            "-y",
            "--prometheus-url",
            "http://p:9090",
            "--loki-url",
            "http://l:3100",
            "--topology-file",
            "topo/../topology.yaml",
            "--ca-file",
            "certs/ca.pem",
        ]
    )
    assert r.code == 0, r.err
    src = yaml.safe_load(paths.config_file().read_text())["profiles"]["prod"]["sources"]
    assert src["topology_file"] == str(work / "topology.yaml")
    assert src["prometheus"]["http"]["ca_file"] == str(work / "certs" / "ca.pem")
    assert src["loki"]["http"]["ca_file"] == str(work / "certs" / "ca.pem")


@pytest.mark.parametrize(
    ("flag", "content", "expect"),
    [
        ("--topology-file", None, "does not exist"),
        ("--ca-file", None, "does not exist"),
        ("--ca-file", "not a certificate\n", "not a readable PEM CA bundle"),
    ],
)
def test_init_refuses_a_file_doctor_would_reject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str, content: str | None, expect: str
) -> None:
    """init wrote a missing or unloadable file into the profile; `aisre doctor` (and, for
    a CA bundle, every command reading a source) then failed on the config just made."""
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / "given.pem").write_text(content)
    r = run_cli(["config", "init", "-y", "--prometheus-url", "http://p:9090", flag, "given.pem"])
    assert r.code == 2, r.err
    assert f"{flag} 'given.pem': {expect}" in r.err and "hint:" in r.err
    assert "Traceback" not in r.err
    assert not paths.config_file().exists()


def test_init_interactive_asks_again_for_a_bad_answer(tmp_path: Path) -> None:
    """A bad URL, repo or path was found only after the last question: every answer was
    lost and the error named a flag the user never typed."""
    topo = tmp_path / "topology.yaml"
    topo.write_text("services: {}\n")
    answers = [
        *("prod", "prod"),
        *("http://u:hunter2@am:9093", "http://am:9093"),  # alertmanager: password, then ok
        *("prom:9090", "http://prom:9090"),  # prometheus: no scheme, then ok
        "",  # loki
        "n",  # pagerduty
        *("acme/checkout", "acme/checkout=checkout"),  # github
        *(str(tmp_path / "missing.yaml"), str(tmp_path), str(topo)),  # topology
        "",  # kube context
        *("grafana", ""),  # grafana: no scheme, then none
    ]
    r = run_cli(["config", "init"], input="\n".join(answers) + "\n", tty=True)
    assert r.code == 0, r.out + r.err
    assert "hunter2" not in r.out + r.err
    assert "did you mean http://prom:9090?" in r.err
    assert "expected OWNER/REPO=SERVICE" in r.err
    assert "does not exist" in r.err and "is a directory" in r.err
    prof = yaml.safe_load(paths.config_file().read_text())["profiles"]["prod"]
    assert prof["sources"]["alertmanager"]["url"] == "http://am:9093"
    assert prof["sources"]["prometheus"]["url"] == "http://prom:9090"
    assert prof["sources"]["github"]["repos"] == {"acme/checkout": "checkout"}
    assert prof["sources"]["topology_file"] == str(topo)
    assert "grafana" not in prof


def test_init_interactive_says_at_once_that_the_profile_exists() -> None:
    r = run_cli(["config", "init", "-y", "--prometheus-url", "http://p:9090"])
    assert r.code == 0, r.err
    before = paths.config_file().read_text()
    r = run_cli(["config", "init"], input="prod\nn\n", tty=True)
    assert r.code == 2
    assert "replace it?" in r.out + r.err and "left unchanged" in r.err
    assert "Environment" not in r.out + r.err  # nothing else was asked
    assert paths.config_file().read_text() == before
    answers = ["prod", "y", "prod", "", "http://prom2:9090", "", "n", "", "", "", ""]
    r = run_cli(["config", "init"], input="\n".join(answers) + "\n", tty=True)
    assert r.code == 0, r.out + r.err
    prof = yaml.safe_load(paths.config_file().read_text())["profiles"]["prod"]
    assert prof["sources"] == {"prometheus": {"url": "http://prom2:9090"}}


@pytest.mark.parametrize("budget", ["-5", "nan", "inf", "0"])
def test_init_refuses_a_budget_that_is_not_positive(budget: str) -> None:
    r = run_cli(["config", "init", "-y", "--prometheus-url", "http://p:9090", "--budget", budget])
    assert r.code == 2, r.err
    assert f"--budget {budget}: the gather budget must be" in r.err and "hint:" in r.err
    assert not paths.config_file().exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gather_budget_s", -5),
        ("gather_budget_s", ".nan"),
        ("gather_budget_s", ".inf"),
        ("lookback_minutes", -1),
        ("lookahead_minutes", ".nan"),
        ("sources.prometheus.http.read_timeout", -1),
        ("sources.prometheus.http.connect_timeout", ".nan"),
        ("limits.max_file_mb", ".inf"),
    ],
)
def test_a_negative_or_nan_number_in_the_file_is_a_config_error(field: str, value: object) -> None:
    prof: dict[str, Any] = {"sources": {"prometheus": {"url": "http://p:9090", "http": {}}}}
    *path, last = field.split(".")
    node = prof
    for k in path:
        node = node.setdefault(k, {})
    node[last] = "@@"  # replaced by the YAML spelling of the value, `.nan` included
    text = yaml.safe_dump({"version": 1, "profiles": {"p": prof}}).replace("'@@'", str(value))
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    r = run_cli(["config", "show"])
    assert r.code == 2, (r.out, r.err)
    assert f"profiles.p.{field}:" in r.err and "Traceback" not in r.err


def test_init_interactive() -> None:
    answers = (
        "\n".join(
            [
                *("prod", "prod", "http://am:9093", "http://prom:9090", "", "n", "", ""),
                *("prod-eu", "shop", "https://grafana.example.com"),
            ]
        )
        + "\n"
    )
    r = run_cli(["config", "init"], input=answers, tty=True)
    assert r.code == 0, r.out + r.err
    data = yaml.safe_load(paths.config_file().read_text())
    prof = data["profiles"]["prod"]
    assert prof["sources"]["alertmanager"]["url"] == "http://am:9093"
    assert prof["kube_context"] == "prod-eu" and prof["namespace"] == "shop"
    assert prof["grafana"] == {"url": "https://grafana.example.com"}


def test_show_redacts_and_reports_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    # `config init` refuses a URL with a password; a hand-edited file may still hold one
    url = "https://user:hunter2pass@prom.example/?api_key=abc123"
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "profiles": {"prod": {"sources": {"prometheus": {"url": url}, "pagerduty": {}}}},
            }
        )
    )
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", CANARY_ENV)
    r = run_cli(["config", "show"])
    assert r.code == 0, r.err
    assert "hunter2pass" not in r.out and "abc123" not in r.out and CANARY_ENV not in r.out
    assert "pagerduty: env" in r.out
    r = run_cli(["config", "show", "--json"])
    body = json.loads(r.out)
    assert body["tokens"][0]["stored"] == "env"
    r = run_cli(["config", "show", "--defaults"])
    assert "max_points" in r.out


def test_show_names_the_user_a_url_connects_as_but_never_its_password() -> None:
    """QA: `config show` dropped the role of `memory_url` (`postgresql://aisre_tool@db/…`
    was shown as `postgresql://db/…`), the first thing to check when the team store
    refuses a login."""
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    prof = {
        "sources": {"prometheus": {"url": "https://grafana_user:s3cretpass@prom.example"}},
        "memory_url": "postgresql://aisre_tool@db.example:5432/aisre?sslmode=require",
    }
    p.write_text(yaml.safe_dump({"version": 1, "profiles": {"prod": prof}}))
    r = run_cli(["config", "show"])
    assert r.code == 0, r.err
    assert "memory_url: postgresql://aisre_tool@db.example:5432/aisre?sslmode=require" in r.out
    assert "url: https://grafana_user:***@prom.example" in r.out
    assert "s3cretpass" not in r.out


class EchoServer(ContractServer):
    """A hostile API: echoes the credentials it received in its error body."""

    def route(self, req: Request) -> Reply:
        echo = f"auth={req.headers.get('authorization')} query={req.query}"
        return Reply(500, {"status": "error", "errorType": "internal", "error": echo})


@pytest.fixture()
def canary_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from tests.contract_servers.fake_keyring import FileKeyring

    previous = keyring.get_keyring()  # before the env var names the test backend
    kr = tmp_path / "kr.json"
    monkeypatch.setenv("AISRE_TEST_KEYRING_FILE", str(kr))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.contract_servers.fake_keyring.FileKeyring")
    keyring.set_keyring(FileKeyring())
    keyring.set_password("aisre", "pagerduty", CANARY_KR)
    keyring.set_password("aisre", "prom", CANARY_PROM)
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", CANARY_ENV)
    monkeypatch.setenv("AISRE_GITHUB_TOKEN", CANARY_ENV)
    monkeypatch.setenv("AISRE_PROM_TOKEN", CANARY_ENV)
    servers = [
        EchoServer(),
        PagerDutyServer(token="other"),
        GitHubServer(token="other"),
        LokiServer(token="other"),
    ]
    echo, pd, gh, loki = servers
    cfg = {
        "version": 1,
        "default_profile": "c",
        "profiles": {
            "c": {
                "gather_budget_s": 3,
                "sources": {
                    "prometheus": {
                        "url": f"{echo.url}/?token={CANARY_PROM}",
                        "token_name": "prom",
                        "http": {"retries": 0},
                    },
                    "alertmanager": {"url": echo.url, "token_name": "prom"},
                    "pagerduty": {"url": pd.url},
                    "github": {"url": gh.url, "repos": {"a/b": "b"}},
                    "loki": {"url": loki.url, "token_name": "pagerduty"},
                },
            }
        },
    }
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(cfg))
    yield {"AISRE_TEST_KEYRING_FILE": str(kr)}
    keyring.set_keyring(previous)
    for s in servers:
        s.stop()
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(logging.WARNING)


def _assert_clean(text: str, what: str) -> None:
    for canary in (CANARY_KR, CANARY_ENV, CANARY_PROM):
        assert canary not in text, f"{what} leaked {canary}:\n{text[-3000:]}"
    # partial leaks: a recognisable 12-char chunk of any canary
    for canary in (CANARY_KR, CANARY_ENV, CANARY_PROM):
        assert canary[-12:] not in text, f"{what} leaked part of a canary"


def test_canary_token_never_leaks(canary_env: dict[str, str]) -> None:
    outputs: list[tuple[str, str]] = []
    for argv in (
        ["config", "show"],
        ["config", "show", "--json"],
        ["auth", "status"],
        ["auth", "status", "--json"],
        ["doctor"],
        ["doctor", "--json"],
        ["-vv", "doctor"],
        ["alerts"],
        ["-v", "triage", "SomeAlert"],
        ["triage", "SomeAlert", "--json"],
    ):
        r = run_cli(argv)
        outputs.append((" ".join(argv), r.out + r.err))
    # doctor saw the failures (so the test exercised the error paths)
    doctor = outputs[5][1]  # doctor --json (the table wraps long reasons)
    assert "HTTP 500" in doctor and "HTTP 401" in doctor
    assert "auth=Bearer ***" in outputs[5][1]  # the echoed header arrived, redacted
    # a real traceback, in a subprocess, with AISRE_RAISE_ERRORS=1
    env = {**os.environ, **canary_env, "AISRE_RAISE_ERRORS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "aisre_cli", "-vv", "triage", "SomeAlert"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" in proc.stderr
    outputs.append(("traceback", proc.stdout + proc.stderr))
    for what, text in outputs:
        _assert_clean(text, what)
