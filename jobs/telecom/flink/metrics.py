"""Flink job: telecom events → 1-minute event-time windows per (event_type, region) → ``real_time_metrics``.

``python -m jobs.telecom.flink.metrics [--explain]`` (also PythonDriver ``-pym`` in the Flink image).

Flink SQL only (no Python UDF on the hot path). Each contract-valid event is assigned its tumbling window
(``BROOK_WINDOW_SECONDS``, event time, watermark = max event time − ``BROOK_TELECOM_WATERMARK_SECONDS``), then
split on ``CURRENT_WATERMARK``: an event whose window the watermark has already closed (window_end − 1 ms ≤
watermark: the rule Flink's window operator drops by) goes to ``telecom_late_events``, every other one into the
window aggregation (count, Σ duration, Σ data_mb, Σ amount) upserted into ``real_time_metrics``. The split is
decided where the watermark is never behind the window operator's, so an event lands in exactly one table:
valid events = Σ event_count + late events (the demo audits this).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs.common import sql_rules
from jobs.common.cli import exit_code
from jobs.common.settings import ConfigError, KafkaSettings, PostgresSettings, load, setting
from jobs.flink.environment import (
    jdbc_sink_options,
    kafka_source_options,
    run_statements,
    table_environment,
    with_clause,
)
from jobs.flink.settings import FlinkSettings
from jobs.telecom import contract as telecom
from jobs.telecom.topics import TelecomTopics

if TYPE_CHECKING:
    from pyflink.table import StatementSet

JOB_NAME = "brook-telecom-metrics"
GROUP_ID = "brook-flink-telecom-metrics"
METRICS_SINK = """CREATE TEMPORARY TABLE sink_metrics (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), event_type STRING, region STRING, event_count BIGINT,
  total_duration BIGINT, total_data_mb DECIMAL(18, 3), total_amount DECIMAL(18, 2),
  PRIMARY KEY (window_start, event_type, region) NOT ENFORCED
) """
LATE_SINK = """CREATE TEMPORARY TABLE sink_late (
  event_id STRING, event_time TIMESTAMP(3), window_start TIMESTAMP(3), window_end TIMESTAMP(3), event_type STRING,
  region STRING, duration BIGINT, data_mb DECIMAL(18, 3), amount DECIMAL(18, 2), `watermark` TIMESTAMP(3),
  PRIMARY KEY (event_id) NOT ENFORCED
) """


@dataclass(frozen=True, kw_only=True)
class TelecomFlinkSettings:
    watermark_seconds: int = setting(
        "TELECOM_WATERMARK_SECONDS",
        120,
        help="Telecom watermark delay (s): records from cell sites arrive minutes late, so 2 minutes (seed 002), "
        "not the bets job's BROOK_WATERMARK_DELAY_SECONDS; later events are counted in telecom_late_events.",
    )
    watermark_emit: str = setting(
        "TELECOM_WATERMARK_EMIT",
        "on-periodic",
        help="When the source emits watermarks: on-periodic (every 200 ms, cheap) or on-event (after every record: "
        "which events are late no longer depends on timing; tests use it).",
        choices=("on-periodic", "on-event"),
    )

    def validate(self) -> None:
        if self.watermark_seconds < 0:
            raise ConfigError("BROOK_TELECOM_WATERMARK_SECONDS must be >= 0.")


def build(
    kafka: KafkaSettings, topics: TelecomTopics, pg: PostgresSettings, flink: FlinkSettings, cfg: TelecomFlinkSettings
) -> StatementSet:
    """The statement set writing real_time_metrics and telecom_late_events from one read of the topic."""
    if 86_400 % flink.window_seconds:
        raise ConfigError(f"BROOK_WINDOW_SECONDS={flink.window_seconds} must divide a day (daily_stats sums windows).")
    t_env = table_environment(flink, JOB_NAME)
    t_env.get_config().set("table.local-time-zone", "UTC")  # window_start/end are UTC wall-clock times
    source = kafka_source_options(kafka, topics.events, GROUP_ID, flink)
    source["scan.watermark.emit.strategy"] = cfg.watermark_emit
    t_env.execute_sql(telecom.source_ddl("telecom_source", with_clause(source), cfg.watermark_seconds))
    t_env.create_temporary_view("telecom_valid", t_env.sql_query(telecom.valid_events_view("telecom_source")))
    t_env.create_temporary_view(
        "telecom_assigned",
        t_env.sql_query(
            "SELECT *, CAST(CURRENT_WATERMARK(ts) AS TIMESTAMP(3)) AS wm FROM TABLE(TUMBLE(TABLE telecom_valid, "
            f"DESCRIPTOR(ts), {sql_rules.interval(flink.window_seconds)}))"
        ),
    )
    late = "wm IS NOT NULL AND wm >= window_end - INTERVAL '0.001' SECOND"
    t_env.execute_sql(METRICS_SINK + with_clause(jdbc_sink_options(pg, "real_time_metrics", flink)))
    t_env.execute_sql(LATE_SINK + with_clause(jdbc_sink_options(pg, "telecom_late_events", flink)))
    statements = t_env.create_statement_set()
    statements.add_insert_sql(
        "INSERT INTO sink_metrics SELECT window_start, window_end, event_type, region, COUNT(*), "
        "CAST(SUM(duration) AS BIGINT), CAST(SUM(data_mb) AS DECIMAL(18, 3)), CAST(SUM(amount) AS DECIMAL(18, 2)) "
        f"FROM telecom_assigned WHERE NOT ({late}) GROUP BY window_start, window_end, event_type, region"
    )
    statements.add_insert_sql(
        "INSERT INTO sink_late SELECT event_id, CAST(ts AS TIMESTAMP(3)), window_start, window_end, event_type, "
        f"region, duration, data_mb, amount, wm FROM telecom_assigned WHERE {late}"
    )
    return statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.telecom.flink.metrics", description=__doc__.splitlines()[0])
    parser.add_argument("--explain", action="store_true", help="print the optimised plan and exit")
    args = parser.parse_args(argv)
    kafka, topics, pg = load(KafkaSettings), load(TelecomTopics), load(PostgresSettings)
    flink, cfg = load(FlinkSettings), load(TelecomFlinkSettings)
    statements = build(kafka, topics, pg, flink, cfg)
    return run_statements(statements, JOB_NAME, flink.bounded, args.explain)


if __name__ == "__main__":
    sys.exit(exit_code(main, JOB_NAME))
