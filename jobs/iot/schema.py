"""The IoT tables on the pipeline's operational database: ``python -m jobs.iot.schema [--replication-role R]``.

In Kubernetes the chart runs this as the post-install/upgrade Job of CNPG Cluster brook-iot-source
(templates/pipeline-databases.yaml, ``BROOK_PG_*`` mapped onto it): the simulator writes ``iot_readings`` there and
Debezium decodes it. ``jobs/iot/sql`` also creates the analytics tables (unused on this database: the window job
writes those in Brook's Postgres, which the platform's migration gives the same file). ``--replication-role`` then
grants the role CloudNativePG created (``managed.roles``; CNPG grants no table privileges) what
:func:`jobs.iot.connector.setup_database` grants locally: ``USAGE`` on the schema and ``SELECT`` on ``iot_readings``
(Debezium's initial snapshot). A role not created yet is an error (exit 1): the Job retries while the operator
catches up.
"""

from __future__ import annotations

from pathlib import Path

from jobs.common.cli import run
from jobs.common.replication_source import schema_job
from jobs.iot.topics import TABLE

IOT_SQL = Path(__file__).resolve().parent / "sql"


def main(argv: list[str] | None = None) -> int:
    return schema_job("jobs.iot.schema", "iot-schema", IOT_SQL, [TABLE], argv, __doc__)


if __name__ == "__main__":
    run(main, "iot-schema")
