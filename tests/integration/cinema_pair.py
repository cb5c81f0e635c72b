"""The cinema tests' own OLTP + warehouse Postgres pair (ports 15446/15447, data under $BROOK_HOME/cinema), started
once per session if not running and stopped again if the session started it. The demo's pair (15436/15437) and the
shared local Postgres are never touched. Import the fixtures into a test module to use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobs.common.settings import PostgresSettings
from jobs.local.cinema_demo import fresh
from jobs.local.cinema_postgres import Instance, instances, up
from jobs.local.services import ServiceError

TEST_PORTS = (15446, 15447)


@pytest.fixture(scope="session")
def cinema_pair() -> Iterator[tuple[Instance, Instance]]:
    oltp, warehouse = instances(TEST_PORTS)
    started = [inst for inst in (oltp, warehouse) if not inst.running()]
    try:
        up(oltp, warehouse)
    except ServiceError as err:
        pytest.fail(f"cinema Postgres pair failed to start:\n{err}", pytrace=False)
    yield oltp, warehouse
    for inst in reversed(started):
        inst.down()


@pytest.fixture
def cinema_fresh(cinema_pair: tuple[Instance, Instance]) -> tuple[PostgresSettings, PostgresSettings]:
    """Empty cinema tables on both, the publication and a new subscription: (OLTP, warehouse) settings."""
    return fresh(*cinema_pair)
