"""The shared skeleton of Brook's bet aggregations: one source, window dedup, one window aggregation per table.

Every job reads the ``bets`` topic through the contract's source (``jobs/bets/flink_sql.py``: raw messages, the
event-time attribute only for events the contract accepts), keeps only valid events, assigns them to tumbling
event-time windows and keeps one row per (window, bet_id) — a replayed event is counted once (window deduplication
keeps the first by event time). A job module only supplies the SELECT that aggregates the deduplicated
``bets_windowed`` view for its table; ``run(["top_games", ...])`` runs one or several of them as a single Flink
job reading the topic once.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from jobs.bets import flink_sql
from jobs.bets.topics import BetsTopics
from jobs.common.cli import exit_code
from jobs.common.settings import KafkaSettings, PostgresSettings, load
from jobs.common.sql_rules import interval
from jobs.flink.environment import (
    jdbc_sink_options,
    kafka_source_options,
    run_statements,
    table_environment,
    with_clause,
)
from jobs.flink.settings import FlinkSettings

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment

AGGREGATIONS: dict[str, str] = {
    "top_games": "SELECT window_start, window_end, game, COUNT(*) AS bets, CAST(SUM(amount) AS DECIMAL(38, 2)) "
    "FROM bets_windowed GROUP BY window_start, window_end, game",
    "avg_bet": "SELECT window_start, window_end, game, COUNT(*) AS bets, CAST(AVG(amount) AS DECIMAL(14, 4)) "
    "FROM bets_windowed GROUP BY window_start, window_end, game",
    "bet_status": "SELECT window_start, window_end, status, COUNT(*) AS bets "
    "FROM bets_windowed GROUP BY window_start, window_end, status",
    "active_users": "SELECT window_start, window_end, COUNT(DISTINCT user_id) AS users "
    "FROM bets_windowed GROUP BY window_start, window_end",
}


def declare(
    t_env: TableEnvironment,
    kafka: KafkaSettings,
    topics: BetsTopics,
    settings: FlinkSettings,
    group: str,
    metadata: tuple[str, ...] = (),
) -> None:
    """Register the source (raw messages, contract-gated event time) and the views ``bets_valid``,
    ``bets_deduplicated`` and ``bets_windowed`` in ``t_env``. ``metadata`` columns are carried into ``bets_valid``."""
    source = with_clause(kafka_source_options(kafka, topics.bets, group, settings))
    t_env.execute_sql(flink_sql.source_ddl("bets_source", source, settings.watermark_delay_seconds, metadata))
    carry = tuple(column.split()[0] for column in metadata)
    t_env.create_temporary_view("bets_valid", t_env.sql_query(flink_sql.valid_bets_view("bets_source", carry)))
    declare_windows(t_env, settings)


def declare_windows(t_env: TableEnvironment, settings: FlinkSettings) -> None:
    """The views ``bets_deduplicated`` and ``bets_windowed`` over a registered ``bets_valid`` (bets_valid's
    columns: bet_id, user_id, game, amount, status and the rowtime ts)."""
    window = interval(settings.window_seconds)
    # Window deduplication keeps the first row per (window, bet_id); its window_time (a rowtime, = window end −
    # 1 ms) feeds a second, identical TUMBLE, so the aggregations below are window aggregations: results are
    # emitted once when the watermark closes the window and their state is dropped, instead of an unbounded
    # updating GROUP BY.
    t_env.create_temporary_view(
        "bets_deduplicated",
        t_env.sql_query(
            "SELECT bet_id, user_id, game, amount, status, window_time AS closed_at FROM (SELECT *, ROW_NUMBER() OVER "
            "(PARTITION BY window_start, window_end, bet_id ORDER BY ts ASC) AS rn FROM TABLE(TUMBLE("
            f"TABLE bets_valid, DESCRIPTOR(ts), {window}))) WHERE rn = 1"
        ),
    )
    t_env.create_temporary_view(
        "bets_windowed",
        t_env.sql_query(f"SELECT * FROM TABLE(TUMBLE(TABLE bets_deduplicated, DESCRIPTOR(closed_at), {window}))"),
    )


def build(
    tables: list[str],
    kafka: KafkaSettings,
    topics: BetsTopics,
    pg: PostgresSettings,
    settings: FlinkSettings,
    name: str,
) -> StatementSet:
    """The statement set writing ``tables`` (a TableEnvironment is created with ``name`` as the job name)."""
    t_env = table_environment(settings, name)
    t_env.get_config().set("table.local-time-zone", "UTC")  # window_start/end are UTC wall-clock times
    group = "brook-flink-" + "-".join(tables) if len(tables) < len(AGGREGATIONS) else "brook-flink-all"
    declare(t_env, kafka, topics, settings, group)
    return insert_into(t_env, tables, pg, settings)


def insert_into(
    t_env: TableEnvironment, tables: list[str], pg: PostgresSettings, settings: FlinkSettings
) -> StatementSet:
    """A statement set with one JDBC sink and INSERT per result table (after :func:`declare`)."""
    statements = t_env.create_statement_set()
    for table in tables:
        t_env.execute_sql(flink_sql.sink_ddl(table, with_clause(jdbc_sink_options(pg, table, settings))))
        statements.add_insert_sql(f"INSERT INTO sink_{table} {AGGREGATIONS[table]}")
    return statements


def run_job(tables: list[str]) -> None:
    """Process entry point of a job module (exit codes: :mod:`jobs.common.cli`)."""
    sys.exit(exit_code(lambda: main(tables), "brook-bets-flink"))


def main(tables: list[str], argv: list[str] | None = None) -> int:
    """Entry point of a job module: ``python -m jobs.bets.flink.<job>`` (also PythonDriver ``-pym`` in the image)."""
    name = "brook-bets-" + ("all" if len(tables) > 1 else tables[0])
    parser = argparse.ArgumentParser(prog=f"python -m jobs.bets.flink.{name[len('brook-bets-') :]}")
    parser.add_argument("--explain", action="store_true", help="print the optimised plan and exit")
    args = parser.parse_args(argv)
    kafka, topics, pg, settings = load(KafkaSettings), load(BetsTopics), load(PostgresSettings), load(FlinkSettings)
    statements = build(tables, kafka, topics, pg, settings, name)
    return run_statements(statements, name, settings.bounded, args.explain)
