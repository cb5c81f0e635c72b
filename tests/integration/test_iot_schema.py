"""``python -m jobs.iot.schema``, the chart's schema Job on brook-iot-source, on a real Postgres (the private IoT
instance the CDC tests use, in a scratch database): it creates ``iot_readings`` and gives the Debezium role exactly
what jobs.iot.connector.setup_database gives it locally (SELECT on the captured table, nothing to write), and it
fails, naming the role, while CloudNativePG has not created the role yet (the Job retries)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from jobs.common.settings import PostgresSettings, to_env
from jobs.iot.topics import TABLE
from jobs.local.iot_postgres import instance, up
from jobs.local.services import ServiceError

pytestmark = pytest.mark.integration

PG_PORT = 15448  # the instance of tests/integration/test_iot_cdc.py


def run_schema(pg: PostgresSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **to_env(pg)}
    return subprocess.run(
        [sys.executable, "-m", "jobs.iot.schema", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def scratch() -> Iterator[PostgresSettings]:
    """A fresh database on the private IoT Postgres (started if down, stopped again if started here)."""
    inst = instance(PG_PORT)
    started = not inst.running()
    try:
        up(inst)
    except ServiceError as err:
        pytest.fail(f"IoT Postgres failed to start:\n{err}", pytrace=False)
    admin = inst.settings()
    name = f"iot_schema_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(admin.dsn())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield dataclasses.replace(admin, database=name)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()
        if started:
            inst.down()


def test_schema_job_creates_the_table_and_grants_the_debezium_role_select_only(scratch: PostgresSettings) -> None:
    role = f"brook_test_cdc_{uuid.uuid4().hex[:8]}"
    missing = run_schema(scratch, "--replication-role", role)
    assert missing.returncode == 1 and f"role '{role}' does not exist yet" in missing.stdout + missing.stderr
    with psycopg2.connect(scratch.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} LOGIN REPLICATION")
    conn.close()
    try:
        done = run_schema(scratch, "--replication-role", role)
        assert done.returncode == 0, done.stdout + done.stderr
        with psycopg2.connect(scratch.dsn()) as conn, conn.cursor() as cur:
            privileges = {}
            for table in (TABLE, "iot_windows"):
                cur.execute(
                    "SELECT has_table_privilege(%s, %s, 'SELECT'), has_table_privilege(%s, %s, 'INSERT')",
                    (role, table, role, table),
                )
                privileges[table] = cur.fetchone()
        conn.close()
        assert privileges == {TABLE: (True, False), "iot_windows": (False, False)}
    finally:
        with psycopg2.connect(scratch.dsn()) as conn, conn.cursor() as cur:
            cur.execute(f"DROP OWNED BY {role}")
            cur.execute(f"DROP ROLE {role}")
        conn.close()
