"""Session fixtures: real local services (Kafka, Postgres, MinIO) shared by every integration test.

Services already running and healthy (e.g. after `make services-up`) are reused and left running; otherwise the
fixture starts them and stops them at the end of the session. A service that fails to start fails the run with its
log tail, never a silent skip.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Iterator

import psycopg2
import pytest

from jobs.bets.topics import BetsTopics
from jobs.common.migrate import migrate
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, load
from jobs.local.services import LocalServices, ServiceError
from jobs.telecom.topics import TelecomTopics


@pytest.fixture(scope="session")
def local_env() -> Iterator[dict[str, str]]:
    """BROOK_* variables pointing at the running local services."""
    local = LocalServices()
    already = local.status()
    try:
        env = local.up()
    except ServiceError as err:
        pytest.fail(f"local services failed to start:\n{err}", pytrace=False)
    # Flink jobs the tests start as subprocesses ship the local connector jars (in an image they are on the lib path).
    if "BROOK_FLINK_JARS" in env:
        os.environ.setdefault("BROOK_FLINK_JARS", env["BROOK_FLINK_JARS"])
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


def unique_topic(request: pytest.FixtureRequest, prefix: str) -> str:
    """A topic name unique to this test (topics are created by the code under test)."""
    return f"{prefix}-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40] + "-" + secrets.token_hex(3)


@pytest.fixture
def bets_topics(request: pytest.FixtureRequest) -> BetsTopics:
    """Bets/DLQ topics unique to this test."""
    name = unique_topic(request, "bets")
    return BetsTopics(bets=name, dlq=f"{name}.dlq")


@pytest.fixture
def telecom_topics(request: pytest.FixtureRequest) -> TelecomTopics:
    """A telecom topic unique to this test."""
    return TelecomTopics(events=unique_topic(request, "telecom"))


# The suites `make test` selects by marker (mk/verbs.mk MARKERS); `fuzz` only scales tests that carry one of these.
SUITES = frozenset({"unit", "integration", "charts", "e2e", "faults", "k8s_api", "k8s_node", "upstream"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test in no suite would be deselected by `make test` without a word (it happened twice): refuse it."""
    orphans = [item.nodeid for item in items if not SUITES & {mark.name for mark in item.iter_markers()}]
    if orphans:
        raise pytest.UsageError(
            "tests in no suite (mark them with one of " + ", ".join(sorted(SUITES)) + "):\n  " + "\n  ".join(orphans)
        )
