"""The cinema tables on one of the pipeline's own databases: ``python -m jobs.cinema.schema [--replication-role R]``.

In Kubernetes the chart runs this as a post-install/upgrade Job per cinema database (templates/pipeline-databases.yaml),
``BROOK_PG_*`` mapped onto that database: the publisher and the subscriber both need the tables, since logical
replication copies rows, not DDL (docs/cinema.md). On the publisher, ``--replication-role`` then grants the role
CloudNativePG created (``managed.roles``; CNPG cannot grant table privileges) what
:func:`jobs.cinema.replication.setup_publisher` grants locally: ``USAGE`` on the schema and ``SELECT`` on the
published tables only. A role not created yet is an error (exit 1): the Job retries while the operator catches up.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import psycopg2
from psycopg2 import sql

from jobs.cinema.replication import PUBLISHED
from jobs.common.cli import run, summary
from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, load

CINEMA_SQL = Path(__file__).resolve().parent / "sql"


def grant(dsn: str, role: str) -> None:
    """``USAGE`` on the current schema and ``SELECT`` on the published tables to ``role`` (which must exist)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cur.fetchone() is None:
            raise RuntimeError(f"role {role!r} does not exist yet (CloudNativePG creates it from managed.roles)")
        cur.execute("SELECT current_schema()")
        schema = sql.Identifier(cur.fetchone()[0])
        tables = sql.SQL(", ").join(sql.Identifier(t) for t in PUBLISHED)
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, sql.Identifier(role)))
        cur.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(tables, sql.Identifier(role)))
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.cinema.schema", description=__doc__.splitlines()[0])
    parser.add_argument("--replication-role", default="", help="publisher only: the role to grant SELECT to")
    args = parser.parse_args(argv)
    pg = load(PostgresSettings)
    applied = migrate(pg.dsn(), [CINEMA_SQL])
    if args.replication_role:
        grant(pg.dsn(), args.replication_role)
    summary("cinema-schema", applied=len(applied), granted=args.replication_role or None)
    return 0


if __name__ == "__main__":
    run(main, "cinema-schema")
