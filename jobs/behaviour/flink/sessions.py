"""Flink job: behaviour events → per-user event-time sessions and per-minute counts → Postgres (JDBC upserts).

``python -m jobs.behaviour.flink.sessions [--bounded] [--explain]`` (also PythonDriver ``-pym`` in the Flink image);
bounded with ``--bounded`` or ``BROOK_FLINK_BOUNDED=true`` (reads to the end offsets at start, then every window
closes: tests, demo), else unbounded.

Flink SQL only (no Python UDF on the hot path), one read of the topic for both tables. Contract-valid events
(``jobs/behaviour/flink_sql.py``) with watermark = max event time − ``BROOK_WATERMARK_DELAY_SECONDS`` feed:

- a SESSION window TVF per ``user_id`` with gap ``BROOK_BEHAVIOUR_SESSION_GAP_SECONDS`` → ``behaviour_sessions``
  (events, page views, distinct pages, deepest funnel stage, converted). Two events of a user exactly ``gap``
  apart fall into *one* session (Flink merges session windows that touch; pinned by
  tests/integration/test_behaviour_flink.py); one more millisecond splits them.
- a 1-minute TUMBLE window → ``behaviour_minute`` (distinct users, count per event type).

A window's row is written once, when the watermark passes its end. An event whose window the watermark has already
closed is dropped by Flink's window operator: for a minute that is an event later than the watermark delay, for a
session one later than delay + gap (it still extends or opens a session whose end lies past the watermark).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs.behaviour import flink_sql
from jobs.behaviour.topics import BehaviourTopics
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

if TYPE_CHECKING:
    from pyflink.table import StatementSet

JOB_NAME = "behaviour-sessions"
GROUP_ID = "brook-flink-behaviour-sessions"
VALID_VIEW = "behaviour_valid"


@dataclass(frozen=True, kw_only=True)
class BehaviourFlinkSettings:
    session_gap_seconds: int = setting(
        "BEHAVIOUR_SESSION_GAP_SECONDS",
        1800,
        help="Session gap (s): a user's session ends when their next event is more than this later than the last "
        "one (30 min, the usual web-analytics gap). behaviour_sessions.session_end = last event + gap.",
    )

    def validate(self) -> None:
        if self.session_gap_seconds < 1:
            raise ConfigError(
                f"BROOK_BEHAVIOUR_SESSION_GAP_SECONDS={self.session_gap_seconds}: must be at least 1 (seconds)."
            )


def build(
    kafka: KafkaSettings,
    topics: BehaviourTopics,
    pg: PostgresSettings,
    flink: FlinkSettings,
    cfg: BehaviourFlinkSettings,
) -> StatementSet:
    """The statement set writing behaviour_sessions and behaviour_minute from one read of the topic."""
    t_env = table_environment(flink, JOB_NAME)
    t_env.get_config().set("table.local-time-zone", "UTC")  # window bounds are UTC wall-clock times
    source = with_clause(kafka_source_options(kafka, topics.events, GROUP_ID, flink))
    t_env.execute_sql(flink_sql.source_ddl("behaviour_source", source, flink.watermark_delay_seconds))
    t_env.create_temporary_view(VALID_VIEW, t_env.sql_query(flink_sql.valid_events_view("behaviour_source")))
    statements = t_env.create_statement_set()
    for table, query in (
        ("behaviour_sessions", flink_sql.sessions_query(VALID_VIEW, cfg.session_gap_seconds)),
        ("behaviour_minute", flink_sql.minute_query(VALID_VIEW)),
    ):
        t_env.execute_sql(flink_sql.sink_ddl(table, with_clause(jdbc_sink_options(pg, table, flink))))
        statements.add_insert_sql(f"INSERT INTO sink_{table} {query}")
    return statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.behaviour.flink.sessions", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--explain", action="store_true", help="print the optimised plan and exit")
    parser.add_argument(
        "--bounded", action="store_true", help="read to the end offsets at start, then finish (BROOK_FLINK_BOUNDED)"
    )
    args = parser.parse_args(argv)
    kafka, topics, pg = load(KafkaSettings), load(BehaviourTopics), load(PostgresSettings)
    flink, cfg = load(FlinkSettings), load(BehaviourFlinkSettings)
    if args.bounded:
        flink = dataclasses.replace(flink, bounded=True)
    statements = build(kafka, topics, pg, flink, cfg)
    return run_statements(statements, JOB_NAME, flink.bounded, args.explain)


if __name__ == "__main__":
    sys.exit(exit_code(main, JOB_NAME))
