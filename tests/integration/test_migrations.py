"""Migrations against the real Postgres: idempotent, concurrent-safe, and append-only."""

from __future__ import annotations

import dataclasses
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest

from jobs.common.migrate import MigrationError, migrate, migrations, sql_dirs
from jobs.common.settings import PostgresSettings

pytestmark = pytest.mark.integration


def tables(pg: PostgresSettings) -> set[str]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (pg.schema,))
        return {row[0] for row in cur.fetchall()}


def test_second_run_applies_nothing_and_all_tables_exist(pg_schema: PostgresSettings) -> None:
    assert migrate(pg_schema.dsn()) == []
    assert {"bets", "top_games", "avg_bet", "bet_status", "active_users", "schema_migrations"} <= tables(pg_schema)


def test_concurrent_runners_apply_each_migration_once(pg_settings: PostgresSettings, tmp_path: Path) -> None:
    schema = "t_concurrent_migrate"
    with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    pg = dataclasses.replace(pg_settings, schema=schema)
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: migrate(pg.dsn()), range(4)))
        applied = sorted(m.version for result in results for m in result)
        assert applied == [m.version for m in migrations()]
    finally:
        with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")


def test_edited_applied_migration_is_refused(pg_schema: PostgresSettings, tmp_path: Path) -> None:
    copies = [tmp_path / folder.parent.name for folder in sql_dirs()]
    for folder, copy in zip(sql_dirs(), copies, strict=True):
        shutil.copytree(folder, copy)
    first = sorted(tmp_path.glob("*/001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after release\n")
    with pytest.raises(MigrationError, match="append-only"):
        migrate(pg_schema.dsn(), copies)
