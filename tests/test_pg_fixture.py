"""The throwaway PostgreSQL cluster itself (tests/pg.py): isolation and authentication."""

from __future__ import annotations

import psycopg
import pytest

from tests.pg import PgCluster


def test_each_test_gets_its_own_empty_database(pg_cluster: PgCluster, pg_url: str) -> None:
    db = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_cluster.dsn(db, user="aisre"), autocommit=True) as c:
        c.execute("CREATE TABLE t (x int)")
        c.execute("INSERT INTO t VALUES (1)")
        assert c.execute("SELECT current_user, count(*) FROM t GROUP BY 1").fetchone() == (
            "aisre",
            1,
        )
    other = pg_cluster.create_database()
    with psycopg.connect(pg_cluster.dsn(other.rsplit("/", 1)[1], user="aisre")) as c:
        n = c.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'"
        ).fetchone()
        assert n == (0,)


def test_a_wrong_password_is_refused(pg_cluster: PgCluster, pg_url: str) -> None:
    db = pg_url.rsplit("/", 1)[1]
    bad = f"postgresql://aisre:not-the-password@127.0.0.1:{pg_cluster.port}/{db}"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bad, connect_timeout=10)


def test_the_server_does_not_run_as_root(pg_cluster: PgCluster) -> None:
    with psycopg.connect(pg_cluster.dsn()) as c:
        c.execute("CREATE TEMP TABLE who (u text)")
        c.execute("COPY who FROM PROGRAM 'id -u'")
        row = c.execute("SELECT u FROM who").fetchone()
    assert row is not None and row[0].strip() != "0"
