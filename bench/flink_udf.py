"""Experiment (issue 17): the bets Flink job with the contract's verdict as a PyFlink Python scalar function.

The function calls ``jobs.bets.contract.parse_bet`` itself once per message and returns the typed fields as one
ROW (NULL when the contract refuses the message); the valid view reads them from it instead of re-parsing. The
four aggregations, sinks and settings are the shipped job's (``jobs.bets.flink.skeleton``); only the source's
event-time attribute and the valid view differ. Results: bench/results/2026-11-28-flink-udf.md.

Watermarks cannot call Python functions, so ``ts`` stays SQL. ``--ts`` chooses how much of the contract it
checks, i.e. which messages may move the watermark:

- ``contract``: the shipped expression (every rule, as today: only accepted events move the watermark);
- ``time``: the message rules (well-formed JSON, unique keys) and the event-time rule only;
- ``field``: the event-time rule only (any message with an in-range ``event_time`` moves the watermark);
- ``none``: a constant (every event in the 1970 window): not a job, only the cost of the Python verdict alone.

Usage (after ``python -m bench.stages fill brook --events N --source TOPIC``)::

    flock /tmp/brook/bench.lock python -m bench.flink_udf --events N --source TOPIC --ts field --mode thread
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from bench.stages import bounded_flink, fresh_schema, jvm_peak_rss_kb, net_runtime
from jobs.bets import flink_sql
from jobs.bets.contract import parse_bet
from jobs.common import sql_rules as sql
from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings, load
from jobs.flink.environment import kafka_source_options, table_environment, with_clause

if TYPE_CHECKING:
    from pyflink.table import TableEnvironment

NAME = "brook_bet_verdict"
FIELDS = ("bet_id", "user_id", "game", "amount", "currency", "odds", "status")  # bets_valid's typed columns


def verdict(message: str | None) -> tuple[Any, ...] | None:
    """The accepted bet's typed fields (lower-case UUID, exact decimals), or None when the contract refuses it."""
    try:
        bet = parse_bet(message)
    except InvalidEvent:
        return None
    return (bet.bet_id, bet.user_id, bet.game, bet.amount, bet.currency, bet.odds, bet.status)


def register(t_env: TableEnvironment, mode: str) -> None:
    """Register :func:`verdict` as :data:`NAME`. Non-deterministic on purpose: declared deterministic, the planner
    pushes the ``IS NOT NULL`` filter below the projection and calls the function twice per message."""
    from pyflink.common import Row
    from pyflink.table import DataTypes
    from pyflink.table.udf import udf

    import jobs

    conf = t_env.get_config()
    conf.set("python.executable", sys.executable)
    conf.set("python.execution-mode", mode)
    # Thread mode (PEMJA) embeds the base interpreter, which does not see a venv's site-packages or the project.
    root = os.path.dirname(os.path.dirname(os.path.abspath(jobs.__file__)))
    conf.set("python.pythonpath", os.pathsep.join([root, *(p for p in sys.path if p.endswith("site-packages"))]))
    types = [DataTypes.STRING()] * 3 + [DataTypes.DECIMAL(12, 2), DataTypes.STRING(), DataTypes.DECIMAL(12, 4)]
    row = DataTypes.ROW([DataTypes.FIELD(n, t) for n, t in zip(FIELDS, [*types, DataTypes.STRING()], strict=True)])

    def as_row(message: str | None) -> Row | None:
        fields = verdict(message)
        return None if fields is None else Row(*fields)

    t_env.create_temporary_system_function(NAME, udf(as_row, result_type=row, deterministic=False))


def _time_only(fields: sql.Fields) -> str:
    return sql.event_time(fields=fields)


def source_ddl(ts: str, with_clause: str, delay: int) -> str:
    """The source with the event-time attribute ``ts`` of the chosen strength (see the module docstring)."""
    if ts == "contract":
        return flink_sql.source_ddl("bets_source", with_clause, delay)
    if ts == "time":
        return sql.source_ddl("bets_source", with_clause, _time_only, delay)
    if ts == "none":
        return source_with("TO_TIMESTAMP_LTZ(0, 3)", with_clause, delay)

    def ms(fields: sql.Fields) -> str:
        return f"CASE WHEN {sql.event_time(fields=fields)} THEN {sql.epoch_ms(fields.text('event_time'))} END"

    valid_ms = f"CASE WHEN {sql.flat()} THEN {ms(sql.FLAT_FIELDS)} ELSE {ms(sql.JSON_FIELDS)} END"
    return source_with(f"TO_TIMESTAMP_LTZ(COALESCE({valid_ms}, {sql.REJECTED_MS}), 3)", with_clause, delay)


def source_with(column: str, with_clause: str, delay: int) -> str:
    """A raw-message source whose event-time attribute ``ts`` is ``column``."""
    return (
        f"CREATE TEMPORARY TABLE bets_source (\n  `{sql.MESSAGE}` STRING,\n  ts AS {column},\n"
        f"  WATERMARK FOR ts AS ts - {sql.interval(delay)}\n) {sql.raw_value(with_clause)}"
    )


def trial(n: int, source: str, ts: str, mode: str, verdict_only: bool = False) -> dict[str, Any]:
    """The shipped four-aggregation job with the Python verdict; Flink's net runtime as in ``bench.stages``."""
    from jobs.bets.flink import skeleton

    settings = bounded_flink("brook-bench-flink-udf-")
    pg = fresh_schema(load(PostgresSettings), "bench_flink_udf")
    t_env = table_environment(settings, "bench-brook-udf")
    t_env.get_config().set("table.local-time-zone", "UTC")
    register(t_env, mode)
    options = kafka_source_options(load(KafkaSettings), source, "brook-bench-udf", settings)
    t_env.execute_sql(source_ddl(ts, with_clause(options), settings.watermark_delay_seconds))
    typed = ", ".join(f"v.{name} AS {name}" for name in FIELDS)
    t_env.create_temporary_view(
        "bets_valid",
        t_env.sql_query(
            f"SELECT {typed}, ts FROM (SELECT {NAME}(message) AS v, ts FROM bets_source) WHERE v IS NOT NULL"
        ),
    )
    if verdict_only:  # the Python verdict alone: accepted rows into a blackhole, no windows
        t_env.execute_sql("CREATE TEMPORARY TABLE sink (bet_id STRING) WITH ('connector' = 'blackhole')")
        statements = t_env.create_statement_set()
        statements.add_insert_sql("INSERT INTO sink SELECT bet_id FROM bets_valid")
    else:
        skeleton.declare_windows(t_env, settings)
        statements = skeleton.insert_into(t_env, list(skeleton.AGGREGATIONS), pg, settings)
    seconds = net_runtime(statements)
    details = {**dataclasses.asdict(settings), "jars": "local", "ts": ts, "mode": mode, "verdict_only": verdict_only}
    return {"count": n, "seconds": seconds, "jvm_peak_rss_kb": jvm_peak_rss_kb(), "settings": details}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, required=True, help="messages in --source (for events/s)")
    parser.add_argument("--source", required=True, help="a topic filled by `python -m bench.stages fill`")
    parser.add_argument("--ts", choices=["contract", "time", "field", "none"], default="field")
    parser.add_argument("--mode", choices=["thread", "process"], default="thread", help="python.execution-mode")
    parser.add_argument("--verdict-only", action="store_true", help="no windows: accepted rows into a blackhole")
    args = parser.parse_args(argv)
    result = trial(args.events, args.source, args.ts, args.mode, args.verdict_only)
    result["events_per_s"] = round(args.events / result["seconds"])
    print("BENCH_RESULT " + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
