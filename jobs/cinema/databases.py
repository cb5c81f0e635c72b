"""The cinema pipeline's two databases, named apart in one environment: ``BROOK_CINEMA_OLTP_PG_*`` (the publisher the
generator writes) and ``BROOK_CINEMA_WAREHOUSE_PG_*`` (the subscriber dbt reads), each one ``BROOK_PG_*`` set.

Why: the DAG's pods share one env Secret (chart: ``brook-cinema-env``) and a local Airflow worker one environment,
yet the generator needs the OLTP as its ``BROOK_PG_*`` and dbt the warehouse. Each task maps the set it needs onto
``BROOK_PG_*`` with Kubernetes' ``$(NAME)`` references (:func:`pg_env_from`, jobs/dags/runners.py expands them the
same way locally); the lag check, which needs both, reads both sets (:func:`load_scoped`). No Airflow or database
client is imported here: the DAG file imports this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from jobs.common.settings import PREFIX, ConfigError, PostgresSettings, load, to_env

OLTP = "CINEMA_OLTP"  # the publisher: jobs.cinema.generator writes here
WAREHOUSE = "CINEMA_WAREHOUSE"  # the subscriber: dbt builds the marts here


def _fields() -> list[str]:
    """``PG_HOST``, ``PG_PORT``, …: every PostgresSettings variable without ``BROOK_``."""
    return [f.metadata["env"].removeprefix(PREFIX) for f in dataclasses.fields(PostgresSettings)]


def variable(scope: str, name: str) -> str:
    """``variable(OLTP, "PG_HOST")`` → ``BROOK_CINEMA_OLTP_PG_HOST``."""
    return f"{PREFIX}{scope}_{name}"


def pg_env_from(scope: str) -> dict[str, str]:
    """A task's ``env``: every ``BROOK_PG_*`` taken from the scope's set, e.g. ``$(BROOK_CINEMA_OLTP_PG_HOST)``."""
    return {PREFIX + name: f"$({variable(scope, name)})" for name in _fields()}


def scoped_env(scope: str, pg: PostgresSettings) -> dict[str, str]:
    """The scope's variables for ``pg`` (what the chart's Secret holds; locally: the ``brook_local_env`` Variable)."""
    return {variable(scope, key.removeprefix(PREFIX)): value for key, value in to_env(pg).items()}


def load_scoped(scope: str, environ: Mapping[str, str]) -> PostgresSettings:
    """The scope's ``PostgresSettings``; an error names the scoped variable (``BROOK_CINEMA_OLTP_PG_HOST is not
    set``), not ``BROOK_PG_HOST``."""
    plain = {PREFIX + name: environ[variable(scope, name)] for name in _fields() if variable(scope, name) in environ}
    try:
        return load(PostgresSettings, plain)
    except ConfigError as err:
        message = str(err)
        for name in _fields():
            message = message.replace(PREFIX + name, variable(scope, name))
        raise ConfigError(message) from None
