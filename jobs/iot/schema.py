"""The IoT tables on the pipeline's operational database: ``python -m jobs.iot.schema [--replication-role R]``.

In Kubernetes the chart runs this as the post-install/upgrade Job of CNPG Cluster brook-iot-source
(templates/pipeline-databases.yaml, ``BROOK_PG_*`` mapped onto it): the simulator writes ``iot_readings`` there and
Debezium decodes it. ``jobs/iot/sql`` also creates the analytics tables (unused on this database: the window job
writes those in Brook's Postgres, which the platform's migration gives the same file). ``--replication-role`` then
grants the role CloudNativePG created (``managed.roles``; CNPG grants no table privileges) what
:func:`jobs.iot.connector.setup_database` grants locally: ``USAGE`` on the schema and ``SELECT`` on ``iot_readings``
(Debezium's initial snapshot). A role not created yet is an error (exit 1): the Job retries while the operator
catches up.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import psycopg2
from psycopg2 import sql

from jobs.common.cli import run, summary
from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, load
from jobs.iot.topics import TABLE

IOT_SQL = Path(__file__).resolve().parent / "sql"


def grant(dsn: str, role: str) -> None:
    """``USAGE`` on the current schema and ``SELECT`` on ``iot_readings`` to ``role`` (which must exist)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cur.fetchone() is None:
            raise RuntimeError(f"role {role!r} does not exist yet (CloudNativePG creates it from managed.roles)")
        cur.execute("SELECT current_schema()")
        schema = sql.Identifier(cur.fetchone()[0])
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, sql.Identifier(role)))
        cur.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(TABLE), sql.Identifier(role)))
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.iot.schema", description=__doc__.splitlines()[0])
    parser.add_argument("--replication-role", default="", help="the Debezium role to grant SELECT to")
    args = parser.parse_args(argv)
    pg = load(PostgresSettings)
    applied = migrate(pg.dsn(), [IOT_SQL])
    if args.replication_role:
        grant(pg.dsn(), args.replication_role)
    summary("iot-schema", applied=len(applied), granted=args.replication_role or None)
    return 0


if __name__ == "__main__":
    run(main, "iot-schema")
