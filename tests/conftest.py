"""Shared fixtures. Every test runs with AISRE_HOME in a temp dir (no user files)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.pg import PgCluster

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "aisre_cli" / "data" / "demo"
PETSHOP = REPO.parent / "shared" / "datasets" / "petshop"
SUITE = REPO / "scenarios" / "suite"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# the team store's PostgreSQL fixtures (`cluster`, `url`), for the modules that ask
pytest_plugins = ["tests.pg_fixtures"]


def _hypothesis_profiles() -> None:
    """Property tests (tests/test_fuzz.py) run a fixed, derandomized example budget so
    CI is deterministic; `HYPOTHESIS_PROFILE=explore` searches wider with random seeds."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # the test extra is not installed: test_fuzz.py skips itself
        return
    common = {
        "deadline": None,
        "database": None,
        "print_blob": True,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    }
    settings.register_profile("ci", max_examples=25, derandomize=True, **common)
    settings.register_profile("explore", max_examples=500, **common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_hypothesis_profiles()


@pytest.fixture(autouse=True)
def _aisre_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "aisre-home"
    home.mkdir()
    monkeypatch.setenv("AISRE_HOME", str(home))
    monkeypatch.setenv("AISRE_RAISE_ERRORS", "0")
    monkeypatch.delenv("AISRE_PROFILE", raising=False)
    # A workstation unless a test says otherwise: `CI` changes defaults (`aisre change
    # record` does not spool under CI); `IN_CI` above was read before this runs.
    monkeypatch.delenv("CI", raising=False)
    # Keyring: never touch the developer's real keyring from tests.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture(autouse=True)
def _kubectl_pinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every call of the fake kubectl (tests/fakes/kubectl) in a test is logged to a
    per-test file; the test fails if one of them did not pass `--context` (issue 13:
    no kubectl invocation in the suite may act on whatever context is current)."""
    from tests.fakes.env import unpinned_calls

    log = tmp_path / "kubectl-audit.jsonl"
    monkeypatch.setenv("FAKE_KUBECTL_AUDIT", str(log))
    yield
    bad = unpinned_calls(log)
    if bad:
        pytest.fail(
            f"{len(bad)} kubectl call(s) without --context, e.g. kubectl {' '.join(bad[0])}",
            pytrace=False,
        )


def require_binary(path: str) -> None:
    """Skip when a server binary is missing, but fail under CI (it must be installed)."""
    if not Path(path).exists():
        if IN_CI:
            pytest.fail(f"{path} is missing under CI: .ci/run must install it")
        pytest.skip(f"{path} not installed")


# ---------------------------------------------------------------- PostgreSQL


def require_postgres() -> None:
    """Skip without the PostgreSQL binaries (initdb, pg_ctl); fail under CI, where
    .ci/run installs them."""
    from tests.pg import find_bin_dir

    if find_bin_dir() is None:
        if IN_CI:
            pytest.fail("PostgreSQL (initdb, pg_ctl) is missing under CI: .ci/run must install it")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster per test session (per xdist worker); see tests/pg.py.

    Skips when the binaries are missing, but fails under CI (.ci/run installs them)."""
    from tests.pg import PgCluster

    require_postgres()
    cluster = PgCluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database of its own for this test, as a password-less `memory_url`.

    The app role's password is where the tool looks for it (`AISRE_MEMORY_TOKEN`, the
    environment fallback of the keyring entry `memory`)."""
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", pg_cluster.app_password)
    return pg_cluster.create_database()


@pytest.fixture()
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A file-backed test keyring (tests.contract_servers.fake_keyring) as the backend."""
    import keyring

    from tests.contract_servers.fake_keyring import FileKeyring

    previous = keyring.get_keyring()  # before the env var names the test backend
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("AISRE_TEST_KEYRING_FILE", str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.contract_servers.fake_keyring.FileKeyring")
    keyring.set_keyring(FileKeyring())
    yield path
    keyring.set_keyring(previous)
