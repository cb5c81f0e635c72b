"""Flink job: the Debezium change stream of ``iot_readings`` → 1-minute windows per device and sensor
(``iot_windows``), threshold alerts (``iot_alerts``) and unusable change events (``iot_dead_letters``).

``python -m jobs.iot.flink.windows [--explain]``

Semantics (docs/iot.md): the analytics tables describe the readings that exist now. The topic is read with
``debezium-json`` as a changelog: an insert adds a reading, an update (a late correction) retracts the old image
and adds the new one, a delete (a retraction) removes it. So a corrected reading counts once, with its corrected
value, in its window (in the new window if its event time moved), and a retracted one counts nowhere; a window left
without readings is deleted. The windows are a regular GROUP BY on the minute bucket ``FLOOR(ts TO MINUTE)``, not
a window TVF: Flink 2.0 plans a TUMBLE aggregation over this changelog, but it emits a window once, when the
watermark passes its end, and drops later changes, which late corrections and retractions are; the GROUP BY
re-emits a window on every change. ``last_value`` is the value of the window's latest reading by event time (ties:
highest reading_id), a Top-1 joined to the aggregate.
Events ``debezium-json`` cannot read are skipped by it and caught by a second, raw read of the same topic, which
writes each with its reason and its (partition, offset) to ``iot_dead_letters``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from jobs.common.cli import exit_code
from jobs.common.settings import KafkaSettings, PostgresSettings, load
from jobs.flink.environment import (
    jdbc_sink_options,
    kafka_source_options,
    run_statements,
    table_environment,
    with_clause,
)
from jobs.flink.settings import FlinkSettings
from jobs.iot import flink_sql
from jobs.iot.topics import IotTopics

if TYPE_CHECKING:
    from pyflink.table import StatementSet

JOB_NAME = "brook-iot-windows"
GROUP_ID = "brook-flink-iot-windows"


def source_options(kafka: KafkaSettings, topic: str, group: str, flink: FlinkSettings, fmt: str) -> dict[str, str]:
    """The platform's Kafka source options with this pipeline's format (``debezium-json`` or ``raw``)."""
    options = kafka_source_options(kafka, topic, group, flink)
    for key in ("format", "json.ignore-parse-errors", "json.fail-on-missing-field"):
        options.pop(key)
    options["format"] = fmt
    if fmt == "debezium-json":
        options["debezium-json.ignore-parse-errors"] = "true"  # the raw read below keeps them, with a reason
    return options


def build(kafka: KafkaSettings, topics: IotTopics, pg: PostgresSettings, flink: FlinkSettings) -> StatementSet:
    """One statement set: windows, alerts and dead letters from two reads of the change topic."""
    t_env = table_environment(flink, JOB_NAME)
    conf = t_env.get_config()
    conf.set("table.local-time-zone", "UTC")
    conf.set("table.exec.source.cdc-events-duplicate", "true")  # at-least-once Connect: a re-sent change is a no-op
    changes = source_options(kafka, topics.changes, GROUP_ID, flink, "debezium-json")
    raw = source_options(kafka, topics.changes, f"{GROUP_ID}-raw", flink, "raw")
    t_env.execute_sql(flink_sql.changes_ddl("iot_changes", with_clause(changes)))
    t_env.execute_sql(flink_sql.raw_ddl("iot_raw", with_clause(raw)))
    t_env.create_temporary_view(
        "iot_valid",
        t_env.sql_query(
            "SELECT reading_id, device_id, site, sensor, `value`, unit, "
            f"{flink_sql.event_ts('event_time')} AS ts FROM iot_changes WHERE {flink_sql.row_valid(flink_sql.typed)}"
        ),
    )
    t_env.create_temporary_view(
        "iot_bucketed",
        t_env.sql_query(
            "SELECT reading_id, device_id, sensor, `value`, ts, FLOOR(ts TO MINUTE) AS bucket FROM iot_valid"
        ),
    )
    for table in flink_sql.SINKS:
        t_env.execute_sql(flink_sql.sink_ddl(table, with_clause(jdbc_sink_options(pg, table, flink))))
    statements = t_env.create_statement_set()
    statements.add_insert_sql(
        "INSERT INTO sink_iot_windows SELECT a.bucket, a.bucket + INTERVAL '1' MINUTE, a.device_id, a.sensor, a.n, "
        "a.lo, a.hi, a.mean, l.`value` FROM ("
        "SELECT bucket, device_id, sensor, COUNT(*) AS n, MIN(`value`) AS lo, MAX(`value`) AS hi, "
        "AVG(`value`) AS mean FROM iot_bucketed GROUP BY bucket, device_id, sensor) a JOIN ("
        "SELECT bucket, device_id, sensor, `value` FROM (SELECT bucket, device_id, sensor, `value`, ROW_NUMBER() "
        "OVER (PARTITION BY bucket, device_id, sensor ORDER BY ts DESC, reading_id DESC) AS rn FROM iot_bucketed) "
        "WHERE rn = 1) l ON a.bucket = l.bucket AND a.device_id = l.device_id AND a.sensor = l.sensor"
    )
    direction, threshold = flink_sql.alert_columns()
    statements.add_insert_sql(
        "INSERT INTO sink_iot_alerts SELECT reading_id, device_id, site, sensor, `value`, unit, ts, direction, "
        f"threshold FROM (SELECT *, {direction} AS direction, {threshold} AS threshold FROM iot_valid) "
        "WHERE direction IS NOT NULL"
    )
    statements.add_insert_sql(
        "INSERT INTO sink_iot_dead_letters SELECT `partition`, `offset`, reason, SUBSTRING(line FROM 1 FOR 4000) "
        f"FROM (SELECT *, {flink_sql.reason_sql()} AS reason FROM iot_raw) WHERE reason IS NOT NULL"
    )
    return statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.iot.flink.windows", description=__doc__.splitlines()[0])
    parser.add_argument("--explain", action="store_true", help="print the optimised plan and exit")
    args = parser.parse_args(argv)
    kafka, topics, pg, flink = load(KafkaSettings), load(IotTopics), load(PostgresSettings), load(FlinkSettings)
    return run_statements(build(kafka, topics, pg, flink), JOB_NAME, flink.bounded, args.explain)


if __name__ == "__main__":
    sys.exit(exit_code(main, JOB_NAME))
