"""The cinema tables on one of the pipeline's own databases: ``python -m jobs.cinema.schema [--replication-role R]``.

In Kubernetes the chart runs this as a post-install/upgrade Job per cinema database (templates/pipeline-databases.yaml),
``BROOK_PG_*`` mapped onto that database: the publisher and the subscriber both need the tables, since logical
replication copies rows, not DDL (docs/cinema.md). On the publisher, ``--replication-role`` then grants the role
CloudNativePG created (``managed.roles``; CNPG cannot grant table privileges) what
:func:`jobs.cinema.replication.setup_publisher` grants locally: ``USAGE`` on the schema and ``SELECT`` on the
published tables only. A role not created yet is an error (exit 1): the Job retries while the operator catches up.
"""

from __future__ import annotations

from pathlib import Path

from jobs.cinema.replication import PUBLISHED
from jobs.common.cli import run
from jobs.common.replication_source import schema_job

CINEMA_SQL = Path(__file__).resolve().parent / "sql"


def main(argv: list[str] | None = None) -> int:
    return schema_job("jobs.cinema.schema", "cinema-schema", CINEMA_SQL, PUBLISHED, argv, __doc__)


if __name__ == "__main__":
    run(main, "cinema-schema")
