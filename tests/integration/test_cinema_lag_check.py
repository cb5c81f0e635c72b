"""The cinema DAG's own entry points on the tests' real Postgres pair: ``python -m jobs.cinema.lag_check`` (both
databases from their scoped ``BROOK_CINEMA_*_PG_*`` sets) and the schema Job's grant to the replication role."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import psycopg2
import pytest

from jobs.cinema import replication, store
from jobs.cinema.databases import OLTP, WAREHOUSE, scoped_env
from jobs.cinema.generator import Generator, write_catalogue
from jobs.common.replication_source import RoleMissing, grant_read
from jobs.common.rules import encode
from jobs.common.settings import PostgresSettings
from tests.integration.cinema_pair import cinema_fresh, cinema_pair  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


def grant(dsn: str, role: str) -> None:
    """What the chart's schema Job (jobs.cinema.schema --replication-role) does on the publisher."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        grant_read(cur, role, replication.PUBLISHED)
    conn.close()


def lag_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs.cinema.lag_check", "--timeout", "60"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def count(pg: PostgresSettings, table: str) -> int:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        value = cur.fetchone()[0]
    conn.close()
    return int(value)


def test_lag_check_returns_once_every_row_is_in_the_warehouse(
    cinema_fresh: tuple[PostgresSettings, PostgresSettings],  # noqa: F811
) -> None:
    oltp, warehouse = cinema_fresh
    gen = Generator(7, 5, 4, 2, datetime(2026, 3, 1, tzinfo=UTC))
    conn = psycopg2.connect(oltp.dsn())
    try:
        write_catalogue(conn, gen)
        loaded = store.load(conn, [encode(event) for event in gen.sessions()]).loaded
    finally:
        conn.close()
    done = lag_check({**scoped_env(OLTP, oltp), **scoped_env(WAREHOUSE, warehouse)})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["bytes"], summary["tables_ready"], summary["tables"]) == (0, 3, 3)
    assert loaded > 0 and count(warehouse, "cinema_events") == loaded == count(oltp, "cinema_events")


def test_lag_check_names_the_missing_scoped_setting(
    cinema_fresh: tuple[PostgresSettings, PostgresSettings],  # noqa: F811
) -> None:
    oltp, _ = cinema_fresh
    done = lag_check(scoped_env(OLTP, oltp))
    assert done.returncode == 2
    assert "BROOK_CINEMA_WAREHOUSE_PG_HOST is not set" in done.stderr


def test_schema_grant_gives_the_role_the_published_tables_only(
    cinema_fresh: tuple[PostgresSettings, PostgresSettings],  # noqa: F811
) -> None:
    oltp, _ = cinema_fresh
    role = f"brook_test_reader_{uuid.uuid4().hex[:8]}"
    with pytest.raises(RoleMissing, match="does not exist yet"):
        grant(oltp.dsn(), role)
    with psycopg2.connect(oltp.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} LOGIN REPLICATION")
    conn.close()
    try:
        grant(oltp.dsn(), role)
        with psycopg2.connect(oltp.dsn()) as conn, conn.cursor() as cur:
            privileges = {}
            for table in (*replication.PUBLISHED, "cinema_dead_letters"):
                cur.execute(
                    "SELECT has_table_privilege(%s, %s, 'SELECT'), has_table_privilege(%s, %s, 'INSERT')",
                    (role, table, role, table),
                )
                privileges[table] = cur.fetchone()
        conn.close()
        assert privileges == {
            **{t: (True, False) for t in replication.PUBLISHED},
            "cinema_dead_letters": (False, False),
        }
    finally:
        with psycopg2.connect(oltp.dsn()) as conn, conn.cursor() as cur:
            cur.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
        conn.close()
