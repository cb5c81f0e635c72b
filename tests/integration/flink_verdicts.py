"""One bounded Flink job over a batch of raw messages: which ones the Flink SQL contract accepts, typed as Flink
read them, and (bets) the window tables the real aggregation job writes from them.

Messages go to a one-partition topic in the given order, so a message's Kafka offset is its index. The job is the
production code (``jobs.bets.flink.skeleton.declare`` / ``jobs.telecom.contract``) with the offset carried as a
Kafka metadata column into one extra JDBC sink, ``accepted``. One job per batch: a Flink job costs ~15-30 s, so
callers batch many messages into one run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg2
from kafka import KafkaProducer

from jobs.common.kafka import ensure_topics
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env

OFFSET = "`offset` BIGINT METADATA VIRTUAL"
ACCEPTED = {
    "bets": (
        "bet_id text, user_id text, game text, amount numeric(12,2), currency text, odds numeric(12,4), "
        "status text, ts timestamp(3)"
    ),
    "telecom": (
        "event_id text, event_type text, subscriber_id text, region text, duration bigint, data_mb numeric(18,3), "
        "amount numeric(18,2), ts timestamp(3)"
    ),
}

SCRIPT = textwrap.dedent(
    """
    import os
    from jobs.common.settings import KafkaSettings, PostgresSettings, load
    from jobs.flink.environment import execute, jdbc_sink_options, kafka_source_options, table_environment, with_clause
    from jobs.flink.settings import FlinkSettings

    pipeline, windows = os.environ["VERDICT_PIPELINE"], os.environ["VERDICT_WINDOWS"] == "1"
    kafka, pg, settings = load(KafkaSettings), load(PostgresSettings), load(FlinkSettings)
    t_env = table_environment(settings, "verdicts-" + pipeline)
    t_env.get_config().set("table.local-time-zone", "UTC")
    offset = "`offset` BIGINT METADATA VIRTUAL"
    if pipeline == "bets":
        from jobs.bets.flink import skeleton
        from jobs.bets.topics import BetsTopics
        skeleton.declare(t_env, kafka, load(BetsTopics), settings, "verdicts", (offset,))
        statements = skeleton.insert_into(t_env, list(skeleton.AGGREGATIONS) if windows else [], pg, settings)
        view = "bets_valid"
        columns = "bet_id STRING, user_id STRING, game STRING, amount DECIMAL(12, 2), currency STRING, "
        columns += "odds DECIMAL(12, 4), status STRING"
    else:
        from jobs.telecom import contract
        from jobs.telecom.topics import TelecomTopics
        source = with_clause(kafka_source_options(kafka, load(TelecomTopics).events, "verdicts", settings))
        t_env.execute_sql(contract.source_ddl("telecom_source", source, 120, (offset,)))
        t_env.create_temporary_view(
            "telecom_valid", t_env.sql_query(contract.valid_events_view("telecom_source", ("`offset`",)))
        )
        statements = t_env.create_statement_set()
        view = "telecom_valid"
        columns = "event_id STRING, event_type STRING, subscriber_id STRING, region STRING, duration BIGINT, "
        columns += "data_mb DECIMAL(18, 3), amount DECIMAL(18, 2)"
    sink = with_clause(jdbc_sink_options(pg, "accepted", settings))
    t_env.execute_sql(
        f"CREATE TEMPORARY TABLE accepted (kafka_offset BIGINT, {columns}, ts TIMESTAMP(3), "
        f"PRIMARY KEY (kafka_offset) NOT ENFORCED) {sink}"
    )
    names = ", ".join(part.split()[0] for part in columns.split(", ") if not part[0].isdigit())
    statements.add_insert_sql(f"INSERT INTO accepted SELECT `offset`, {names}, CAST(ts AS TIMESTAMP(3)) FROM {view}")
    execute(statements, wait=True)
    """
)


def produce(kafka: KafkaSettings, topic: str, messages: Sequence[bytes | None]) -> None:
    """Send ``messages`` in order to a new one-partition topic (offset = index)."""
    ensure_topics(kafka, {topic: 1})
    producer = KafkaProducer(**kafka.client_options(), acks="all", max_request_size=4 * 1024 * 1024)
    for value in messages:
        producer.send(topic, value=value)
    producer.flush()
    producer.close()


def run(
    pipeline: str,
    messages: Sequence[bytes | None],
    kafka: KafkaSettings,
    topics: Any,
    pg: PostgresSettings,
    tmp_path: Path,
    windows: bool = False,
) -> dict[int, tuple[Any, ...]]:
    """Offset → the row Flink accepted (columns of ``ACCEPTED[pipeline]``, ts as UTC naive) for ``messages``."""
    produce(kafka, topics.bets if pipeline == "bets" else topics.events, messages)
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE accepted (kafka_offset bigint PRIMARY KEY, {ACCEPTED[pipeline]})")
    env = {
        **os.environ,
        **to_env(kafka, topics, pg),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
        "BROOK_WATERMARK_DELAY_SECONDS": "0",
        "VERDICT_PIPELINE": pipeline,
        "VERDICT_WINDOWS": "1" if windows else "0",
    }
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-8000:]
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM accepted ORDER BY kafka_offset")
        rows = {row[0]: tuple(row[1:]) for row in cur.fetchall()}
        cur.execute("DROP TABLE accepted")
    return rows
