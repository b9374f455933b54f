"""The team store's test fixtures: one throwaway PostgreSQL cluster per test module
(`cluster`) and a fresh database with the schema in place for each test (`url`).

Import them into a test module (`from tests.pg_fixtures import cluster, url`); missing
PostgreSQL binaries fail under CI and skip elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from aisre_cli.memory.backend import location_for
from aisre_cli.memory.storage import MemoryStore
from tests.conftest import require_postgres

if TYPE_CHECKING:
    from tests.pg import PgCluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    from tests.pg import PgCluster

    require_postgres()
    c = PgCluster.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def url(cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if not cluster.is_running():  # a test that failed half-way left it stopped
        cluster.start_again()
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", cluster.app_password)
    u = cluster.create_database()
    MemoryStore(location=location_for(u)).close()  # the owner's `memory migrate`
    yield u
    if not cluster.is_running():
        cluster.start_again()
