"""Session fixtures: real local services (Kafka, Postgres, MinIO) shared by every integration test.

Services already running and healthy (e.g. after `make services-up`) are reused and left running; otherwise the
fixture starts them and stops them at the end of the session. A service that fails to start fails the run with its
log tail, never a silent skip.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Iterator

import psycopg2
import pytest

from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, load
from jobs.contract.migrate import migrate
from jobs.local.services import LocalServices, ServiceError


@pytest.fixture(scope="session")
def local_env() -> Iterator[dict[str, str]]:
    """BROOK_* variables pointing at the running local services."""
    local = LocalServices()
    already = local.status()
    try:
        env = local.up()
    except ServiceError as err:
        pytest.fail(f"local services failed to start:\n{err}", pytrace=False)
    yield env
    started_here = [name for name, ok in already.items() if not ok]
    if started_here:
        local.down(started_here)


@pytest.fixture(scope="session")
def kafka_settings(local_env: dict[str, str]) -> KafkaSettings:
    return load(KafkaSettings, local_env)


@pytest.fixture(scope="session")
def pg_settings(local_env: dict[str, str]) -> PostgresSettings:
    return load(PostgresSettings, local_env)


@pytest.fixture(scope="session")
def s3_settings(local_env: dict[str, str]) -> S3Settings:
    return load(S3Settings, local_env)


@pytest.fixture
def pg_schema(pg_settings: PostgresSettings, request: pytest.FixtureRequest) -> Iterator[PostgresSettings]:
    """A private, migrated schema for one test (other tests share the database); dropped afterwards."""
    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + "_" + secrets.token_hex(3)
    with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {name}")
    settings = dataclasses.replace(pg_settings, schema=name)
    migrate(settings.dsn())
    yield settings
    with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def bets_topics(kafka_settings: KafkaSettings, request: pytest.FixtureRequest) -> KafkaSettings:
    """Kafka settings whose bets/DLQ topics are unique to this test (topics are created by the code under test)."""
    suffix = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40] + "-" + secrets.token_hex(3)
    return dataclasses.replace(kafka_settings, topic_bets=f"bets-{suffix}", topic_bets_dlq=f"bets-{suffix}.dlq")
