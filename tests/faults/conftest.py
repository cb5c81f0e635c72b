"""Fixtures of the fault suite: one private set of services per session, and per test its own topics, schema,
bucket and log folder. After every test the services are healthy again, whatever the test did to them."""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.bets.topics import BetsTopics
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings
from jobs.local.services import LocalServices, ServiceError
from jobs.telecom.topics import TelecomTopics
from tests.faults.fault_harness import Stack, new_schema, private_home, remove_home


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """Private Kafka, Postgres and MinIO (other ports, own data under BROOK_HOME/faults/<id>), removed at the end."""
    shared = LocalServices().paths
    home = private_home(shared)
    services = Stack(home, shared)
    try:
        services.up()
    except ServiceError as err:
        services.down()
        remove_home(home)
        pytest.fail(f"the fault suite's private services failed to start:\n{err}", pytrace=False)
    yield services
    services.teardown()
    remove_home(home)


@pytest.fixture(autouse=True)
def healthy_afterwards(stack: Stack) -> Iterator[None]:
    """Whatever a test stopped is running again when the next test starts."""
    yield
    stack.heal()


def _slug(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40] + "-" + secrets.token_hex(3)


@pytest.fixture
def log_dir(request: pytest.FixtureRequest) -> Path:
    """This test's job logs, kept after the run under BROOK_HOME/logs/faults/ (the audit tables sit next to them)."""
    path = LocalServices().paths.logs / "faults" / _slug(request)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def kafka(stack: Stack) -> KafkaSettings:
    return stack.settings()[0]


@pytest.fixture
def topics(request: pytest.FixtureRequest) -> BetsTopics:
    name = "bets-" + _slug(request)
    return BetsTopics(bets=name, dlq=f"{name}.dlq")


@pytest.fixture
def telecom_topic(request: pytest.FixtureRequest) -> TelecomTopics:
    return TelecomTopics(events="telecom-" + _slug(request))


@pytest.fixture
def pg(stack: Stack, request: pytest.FixtureRequest) -> PostgresSettings:
    return new_schema(stack, "f_" + _slug(request).replace("-", "_"))


@pytest.fixture
def s3(stack: Stack, request: pytest.FixtureRequest) -> S3Settings:
    """A bucket of this test's own, created empty (the audit lists it even when nothing was exported)."""
    settings = dataclasses.replace(stack.settings()[2], bucket="f-" + _slug(request))
    settings.client().create_bucket(Bucket=settings.bucket)
    return settings
