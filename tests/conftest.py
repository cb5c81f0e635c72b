"""Session fixtures: real local services (Kafka, Postgres, MinIO) shared by every integration test.

Services already running and healthy (e.g. after `make services-up`) are reused and left running; otherwise the
fixture starts them and stops them at the end of the session. A service that fails to start fails the run with its
log tail, never a silent skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, load
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
