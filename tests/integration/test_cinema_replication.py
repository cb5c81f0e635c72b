"""Logical replication OLTP → warehouse on two real Postgres instances: inserts, updates and deletes arrive, the lag
check reaches zero, and the subscription dials in as a replication role that cannot write."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg2
import pytest

from jobs.cinema import replication, store
from jobs.cinema.generator import Generator, write_catalogue
from jobs.common.rules import encode
from jobs.common.settings import PostgresSettings
from tests.integration.cinema_pair import cinema_fresh, cinema_pair  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
TABLES = {
    "cinema_viewers": "viewer_id",
    "cinema_films": "film_id",
    "cinema_events": "event_id",
}


def rows(pg: PostgresSettings, table: str) -> list[tuple]:
    """Every row of ``table`` without the load time (set on the publisher; copied as is, but not the point here)."""
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table} ORDER BY {TABLES[table]}")
        found = cur.fetchall()
    conn.close()
    return found


def execute(pg: PostgresSettings, statement: str, params: tuple = ()) -> int:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        count = cur.rowcount
    conn.close()
    return count


def test_inserts_updates_and_deletes_reach_the_warehouse(
    cinema_fresh: tuple[PostgresSettings, PostgresSettings],  # noqa: F811
) -> None:
    oltp, warehouse = cinema_fresh
    gen = Generator(seed=7, viewers=6, films=4, days=4, start=datetime(2026, 3, 1, tzinfo=UTC))
    conn = psycopg2.connect(oltp.dsn())
    write_catalogue(conn, gen)
    counts = store.load(conn, [encode(e) for e in gen.sessions()])
    conn.close()
    assert counts.loaded > 0 and counts.dead == 0

    lag = replication.wait_for_zero_lag(oltp.dsn(), warehouse.dsn())
    assert (lag.bytes, lag.tables_ready, lag.tables, lag.worker_running) == (0, 3, 3, True)
    for table in TABLES:
        assert rows(warehouse, table) == rows(oltp, table), table

    victim = rows(oltp, "cinema_events")[0][0]
    assert execute(oltp, "UPDATE cinema_viewers SET name = 'renamed' WHERE viewer_id = %s", (gen.viewers[0].viewer_id,))
    assert execute(oltp, "UPDATE cinema_events SET position_s = position_s + 1 WHERE event_type = 'seek'") > 0
    assert execute(oltp, "DELETE FROM cinema_events WHERE event_id = %s", (victim,)) == 1
    replication.wait_for_zero_lag(oltp.dsn(), warehouse.dsn())
    for table in TABLES:
        assert rows(warehouse, table) == rows(oltp, table), table
    replica_ids = {row[0] for row in rows(warehouse, "cinema_events")}
    assert victim not in replica_ids
    names = {row[0]: row[1] for row in rows(warehouse, "cinema_viewers")}
    assert names[gen.viewers[0].viewer_id] == "renamed"


def test_replication_role_reads_but_cannot_write_or_administer(
    cinema_fresh: tuple[PostgresSettings, PostgresSettings],  # noqa: F811
) -> None:
    oltp, _ = cinema_fresh
    with psycopg2.connect(oltp.dsn()) as conn, conn.cursor() as cur:
        role = (replication.ROLE,)
        cur.execute("SELECT rolsuper, rolreplication, rolcanlogin FROM pg_roles WHERE rolname = %s", role)
        assert cur.fetchone() == (False, True, True)
        cur.execute(
            "SELECT has_table_privilege(%s, 'cinema_events', 'INSERT'), "
            "has_table_privilege(%s, 'cinema_events', 'SELECT'), "
            "has_table_privilege(%s, 'cinema_dead_letters', 'SELECT')",
            (replication.ROLE,) * 3,
        )
        assert cur.fetchone() == (False, True, False)
    conn.close()


def test_lag_check_names_a_missing_subscription(
    cinema_fresh: tuple[PostgresSettings, PostgresSettings],  # noqa: F811
) -> None:
    oltp, warehouse = cinema_fresh
    replication.drop_subscription(warehouse.dsn())
    with pytest.raises(replication.ReplicationError, match="no replication slot 'cinema_sub'"):
        replication.lag(oltp.dsn(), warehouse.dsn())
