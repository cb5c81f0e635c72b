"""Why no single row can stop a Flink aggregation, and what happens if one did (real Kafka, Flink, Postgres).

Flink's JDBC sink has no per-row escape: a row Postgres refuses fails the whole flush, ``sink.max-retries``
resends the same rows, the task fails, and the restart replays the same input from the last checkpoint, so the
job dies (bounded) or restarts forever (unbounded). Brook's defence is therefore that such a row cannot reach the
sink: the contract predicate keeps out what Postgres cannot store (owned by the contract), and the window tables
are no stricter than the Flink sink types. The first test shows the failure mode the second one rules out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaProducer

from jobs.bets.flink_sql import SINKS
from jobs.bets.topics import BetsTopics
from jobs.common.kafka import ensure_topics
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env
from tests.integration.test_consumer import event

pytestmark = pytest.mark.integration


def test_a_window_row_postgres_refuses_stops_the_job(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings, tmp_path: Path
) -> None:
    """A sink table stricter than the predicate (here a CHECK) is fatal to the job: hence the invariant below."""
    ensure_topics(kafka_settings, {bets_topics.bets: 1})
    producer = KafkaProducer(**kafka_settings.client_options())
    for n, game in enumerate(["roulette", "poison", "blackjack"], start=1):
        producer.send(bets_topics.bets, value=json.dumps(event(n, game=game)).encode())
    producer.flush()
    producer.close()
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE top_games ADD CONSTRAINT no_poison CHECK (game <> 'poison')")
    env = {
        **os.environ,
        **to_env(kafka_settings, bets_topics, pg_schema),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
    }
    command = [sys.executable, "-m", "jobs.bets.flink.top_games"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert 'violates check constraint "no_poison"' in output, output[-5000:]


def sink_columns(pg: PostgresSettings, table: str) -> dict[str, tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, domain_name "
            "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
        return {name: rest for name, *rest in cur.fetchall()}


def holds(flink_type: str, pg_type: tuple) -> bool:
    """Whether a Postgres column (type, max length, precision, scale, domain) stores every value of a Flink type."""
    data_type, max_length, precision, scale, domain = pg_type
    if domain is not None:
        return False  # a domain may carry a CHECK: stricter than the type
    if flink_type.startswith("DECIMAL("):
        p, s = (int(part) for part in flink_type[len("DECIMAL(") : -1].split(","))
        return data_type == "numeric" and precision >= p and scale == s
    expected = {"STRING": "text", "BIGINT": "bigint", "TIMESTAMP(3)": "timestamp with time zone"}
    return data_type == expected.get(flink_type) and max_length is None


@pytest.mark.parametrize("table", sorted(SINKS))
def test_window_tables_are_no_stricter_than_their_flink_sinks(pg_schema: PostgresSettings, table: str) -> None:
    """Every value of the sink's Flink types fits its Postgres column, and no CHECK, foreign key, unique index,
    exclusion constraint or trigger can refuse a row: only the primary key (the upsert key) and NOT NULL."""
    columns, _ = SINKS[table]
    found = sink_columns(pg_schema, table)
    assert set(found) == {name for name, _ in columns}
    for name, flink_type in columns:
        assert holds(flink_type, found[name]), (table, name, flink_type, found[name])
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT contype, conname FROM pg_constraint WHERE conrelid = %s::regclass", (table,))
        constraints = cur.fetchall()
        cur.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass", (table,))
        indexes = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", (table,))
        triggers = cur.fetchall()
    assert {kind for kind, _ in constraints} <= {"p", "n"}, constraints  # 'n': NOT NULL as a constraint (PG 18)
    assert indexes == [f"{table}_pkey"], indexes
    assert triggers == [], triggers
