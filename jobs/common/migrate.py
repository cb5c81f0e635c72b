"""Apply Brook's versioned SQL migrations (``jobs/<pipeline>/sql/NNN_name.sql``) exactly once, in order.

``python -m jobs.common.migrate [--status]`` — run by ``make demo``, the tests and the chart's migration Job.
Safe to run concurrently (a Postgres advisory lock serialises runners) and repeatedly (applied versions are
recorded in ``schema_migrations``). An applied file whose text later changed is refused: migrations are
append-only, a fix is a new file.

Each pipeline keeps its tables in its own folder (``jobs/bets/sql``, ``jobs/telecom/sql``, …); versions are one
sequence across all folders (a pipeline takes the next free number), so one history table orders every schema
change of the database, and a version used twice is refused wherever the two files live.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from jobs.common.cli import run, summary
from jobs.common.settings import PostgresSettings, load

JOBS_DIR = Path(__file__).resolve().parent.parent


def sql_dirs() -> list[Path]:
    """Every pipeline's migration folder: ``jobs/*/sql`` (the core knows no pipeline by name)."""
    return sorted(path for path in JOBS_DIR.glob("*/sql") if path.is_dir())


_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
LOCK_KEY = 0x62726F6F6B  # "brook": one advisory lock id shared by every migration runner


class MigrationError(RuntimeError):
    """The database's migration history disagrees with the files in this release."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(folders: list[Path] | None = None) -> list[Migration]:
    """The migration files of ``folders`` (default: every pipeline's) in version order; a misnamed or
    duplicate-version file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted((p for folder in folders or sql_dirs() for p in folder.glob("*.sql")), key=lambda p: p.name):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_lower_snake.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} already used by {found[version].name}")
        found[version] = Migration(version, match.group(2), path.read_text())
    return [found[v] for v in sorted(found)]


_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


def migrate(dsn: str, folders: list[Path] | None = None) -> list[Migration]:
    """Apply pending migrations; return the ones applied by this call."""
    pending = migrations(folders)
    applied_now: list[Migration] = []
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        conn.commit()
        with conn, conn.cursor() as cur:
            cur.execute(_HISTORY)
        with conn.cursor() as cur:
            cur.execute("SELECT version, name, checksum FROM schema_migrations")
            history = {v: (n, c) for v, n, c in cur.fetchall()}
        conn.commit()
        for mig in pending:
            if mig.version in history:
                name, checksum = history[mig.version]
                if checksum != mig.checksum:
                    raise MigrationError(
                        f"migration {mig.version:03d}_{name} was applied with different text; migrations are "
                        "append-only: revert the edit and add a new NNN_*.sql file instead"
                    )
                continue
            with conn, conn.cursor() as cur:
                cur.execute(mig.sql)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (mig.version, mig.name, mig.checksum),
                )
            applied_now.append(mig)
    finally:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            conn.commit()
        finally:
            conn.close()
    return applied_now


def status(dsn: str) -> list[tuple[int, str, str]]:
    """(version, name, 'applied'|'pending') for every migration file."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        exists = cur.fetchone()[0]
        applied: set[int] = set()
        if exists:
            cur.execute("SELECT version FROM schema_migrations")
            applied = {row[0] for row in cur.fetchall()}
    return [(m.version, m.name, "applied" if m.version in applied else "pending") for m in migrations()]


MIGRATION_HINT = "the migration creates them (python -m jobs.common.migrate; in Kubernetes the chart's hook Job)"


def missing_tables(dsn: str, tables: Sequence[str]) -> list[str]:
    """The names in ``tables`` that do not resolve to a relation on the connection's search path."""
    with closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NULL", (list(tables),))
        return [row[0] for row in cur.fetchall()]


# libpq's words for a login Postgres refuses (wrong password, no pg_hba.conf line, unknown role or database, TLS
# the server does not offer): no wait mends a configuration, so a start fails at once rather than after the wait.
LOGIN_REFUSED = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",
    "server does not support SSL",
)


def login_refused(err: psycopg2.OperationalError) -> bool:
    """True when Postgres answered and refused this login: a configuration error, not a server still starting."""
    return any(words in str(err) for words in LOGIN_REFUSED)


def wait_for_tables(dsn: str, tables: Sequence[str], timeout: float, who: str, every: float = 10.0) -> list[str]:
    """Wait up to ``timeout`` seconds for ``tables`` to exist; the ones still missing then (empty: all there).

    On a fresh ``helm install`` the migration Job is a post-install hook: it runs after the Deployments start, so a
    writer may start before its tables exist. With the chart's CloudNativePG Cluster, Postgres itself may not accept
    connections yet either (its bootstrap runs beside the Deployments; seen on the node of `make k8s-e2e`): that is
    waited for too, within the same ``timeout``, after which the last connection error is raised; a refused login
    (:func:`login_refused`) is raised at once. Waiting, and saying what for, beats a crash and a restart loop."""
    deadline, said = time.monotonic() + timeout, float("-inf")
    while True:
        try:
            missing, refused = missing_tables(dsn, tables), None
        except psycopg2.OperationalError as err:
            if time.monotonic() >= deadline or login_refused(err):
                raise
            missing, refused = list(tables), err
        if not missing or time.monotonic() >= deadline:
            return missing
        if time.monotonic() - said >= every:
            if refused is not None:
                reason = str(refused).strip().splitlines()[0]
                print(f"[{who}] waiting for Postgres to accept connections ({reason})", flush=True)
            else:
                print(f"[{who}] waiting for the table(s) {', '.join(missing)}: {MIGRATION_HINT}", flush=True)
            said = time.monotonic()
        time.sleep(min(1.0, every))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.common.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--status", action="store_true", help="list migrations and whether they are applied")
    args = parser.parse_args(argv)
    dsn = load(PostgresSettings).dsn()
    try:
        if args.status:
            for version, name, state in status(dsn):
                print(f"{version:03d}_{name}: {state}")
            return 0
        applied = migrate(dsn)
    except (MigrationError, psycopg2.Error) as err:
        print(f"migration failed: {err}", file=sys.stderr)
        return 1
    names = [f"{m.version:03d}_{m.name}" for m in applied]
    print(f"schema up to date ({len(applied)} applied now: {', '.join(names)})")
    summary("migrate", applied=names)
    return 0


if __name__ == "__main__":
    run(main, "migrate")
