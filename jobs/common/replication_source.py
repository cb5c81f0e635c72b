"""A pipeline database as a logical-replication source: its role, its grants, its publication, its schema Job.

Pipelines whose input is rows in Postgres (cinema: a SUBSCRIPTION; iot: Debezium) publish tables from a database of
their own. Each needs the same three things, locally from its own setup code and in Kubernetes from the chart's
schema Job (CloudNativePG creates the role from ``managed.roles`` but grants no table privileges):
- a replication role: LOGIN REPLICATION, never superuser;
- ``USAGE`` on the schema and ``SELECT`` on the published tables only (the initial copy or snapshot reads them);
- a publication of exactly those tables.

All of it is idempotent, so a demo or a Job may run it on every start.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import cursor

from jobs.common.cli import summary
from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, load


class RoleMissing(RuntimeError):
    """The replication role is not there yet (the operator creates it; the schema Job retries until it has)."""


def ensure_role(cur: cursor, role: str, password: str) -> None:
    """Create ``role`` (LOGIN REPLICATION) or reset its password to ``password``."""
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    verb = sql.SQL("ALTER" if cur.fetchone() else "CREATE")
    statement = sql.SQL("{} ROLE {} WITH LOGIN REPLICATION PASSWORD %s").format(verb, sql.Identifier(role))
    cur.execute(statement, (password,))


def grant_read(cur: cursor, role: str, tables: Sequence[str]) -> None:
    """``USAGE`` on the current schema and ``SELECT`` on ``tables`` to ``role``, which must exist."""
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    if cur.fetchone() is None:
        raise RoleMissing(f"role {role!r} does not exist yet (CloudNativePG creates it from managed.roles)")
    cur.execute("SELECT current_schema()")
    schema = sql.Identifier(cur.fetchone()[0])
    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, sql.Identifier(role)))
    cur.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(_table_list(tables), sql.Identifier(role)))


def ensure_publication(cur: cursor, publication: str, tables: Sequence[str]) -> None:
    """Publish exactly ``tables``. An existing publication is reset to them: a table dropped and re-created (a fresh
    demo) silently leaves a publication without it."""
    cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (publication,))
    verb = "ALTER PUBLICATION {} SET TABLE {}" if cur.fetchone() else "CREATE PUBLICATION {} FOR TABLE {}"
    cur.execute(sql.SQL(verb).format(sql.Identifier(publication), _table_list(tables)))


def _table_list(tables: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(t) for t in tables)


def schema_job(module: str, job: str, sql_dir: Path, tables: Sequence[str], argv: list[str] | None, doc: str) -> int:
    """The chart's schema Job for a pipeline database (templates/pipeline-databases.yaml), ``python -m <module>``:
    the migrations of ``sql_dir`` on the database ``BROOK_PG_*`` points at, then, given ``--replication-role``, its
    read grants on ``tables``. Prints the summary line of ``job``; the caller wraps it in
    :func:`jobs.common.cli.run`."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
    parser.add_argument("--replication-role", default="", help="on a publisher: the role to grant SELECT to")
    args = parser.parse_args(argv)
    pg = load(PostgresSettings)
    applied = migrate(pg.dsn(), [sql_dir])
    if args.replication_role:
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
            grant_read(cur, args.replication_role, tables)
        conn.close()
    summary(job, applied=len(applied), granted=args.replication_role or None)
    return 0
