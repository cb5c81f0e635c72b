"""The four Flink aggregations on a fixed event file, against hand-computed window results (real Kafka, Flink
mini-cluster, Postgres). The file has a replayed bet_id, an invalid event, a malformed line, and offsets Z, +02:00
and -01:00 across three 1-minute windows."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaProducer

from jobs.bets.topics import BetsTopics
from jobs.common.kafka import ensure_topics
from jobs.common.produce import ProducerSettings, producer_options
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).parents[1] / "data" / "bets_windows.jsonl"


def w(minute: int) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(f"2026-11-25T10:{minute:02d}:00+00:00")
    return start, start.replace(minute=minute + 1)


D = Decimal
EXPECTED = {
    "top_games": {
        (*w(0), "roulette", 2, D("30.50")),
        (*w(0), "football:ARS-CHE", 1, D("5.25")),
        (*w(0), "blackjack", 1, D("100.00")),
        (*w(1), "roulette", 2, D("10.00")),
        (*w(1), "football:ARS-CHE", 1, D("1000.99")),
        (*w(2), "blackjack", 2, D("3.34")),
    },
    "avg_bet": {
        (*w(0), "roulette", 2, D("15.2500")),
        (*w(0), "football:ARS-CHE", 1, D("5.2500")),
        (*w(0), "blackjack", 1, D("100.0000")),
        (*w(1), "roulette", 2, D("5.0000")),
        (*w(1), "football:ARS-CHE", 1, D("1000.9900")),
        (*w(2), "blackjack", 2, D("1.6700")),
    },
    "bet_status": {
        (*w(0), "placed", 2),
        (*w(0), "won", 1),
        (*w(0), "lost", 1),
        (*w(1), "cancelled", 1),
        (*w(1), "placed", 1),
        (*w(1), "won", 1),
        (*w(2), "lost", 1),
        (*w(2), "placed", 1),
    },
    "active_users": {(*w(0), 3), (*w(1), 2), (*w(2), 2)},
}


def run_flink(module: str, kafka: tuple[KafkaSettings, object], pg: PostgresSettings, tmp_path: Path) -> None:
    """Run a Flink job module bounded, with ``kafka`` = (connection settings, the pipeline's topics)."""
    env = {
        **os.environ,
        **to_env(*kafka, pg),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
    }
    proc = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]


def table_rows(pg: PostgresSettings, table: str) -> set[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(f"SELECT * FROM {table}")
        return set(cur.fetchall())


@pytest.fixture
def filled_topic(kafka_settings: KafkaSettings, bets_topics: BetsTopics) -> tuple[KafkaSettings, BetsTopics]:
    ensure_topics(kafka_settings, {bets_topics.bets: 1})
    # The shipped producer settings (zstd batches): the Flink source must decode what Brook's producer writes.
    producer = KafkaProducer(**kafka_settings.client_options(), **producer_options(ProducerSettings()))
    for line in EVENTS.read_bytes().splitlines():
        producer.send(bets_topics.bets, value=line)
    producer.flush()
    producer.close()
    return kafka_settings, bets_topics


def test_all_four_tables_in_one_job(
    filled_topic: tuple[KafkaSettings, BetsTopics], pg_schema: PostgresSettings, tmp_path: Path
) -> None:
    run_flink("jobs.bets.flink.all", filled_topic, pg_schema, tmp_path)
    for table, expected in EXPECTED.items():
        assert table_rows(pg_schema, table) == expected, table


def test_single_job_module_and_rerun_is_idempotent(
    filled_topic: tuple[KafkaSettings, BetsTopics], pg_schema: PostgresSettings, tmp_path: Path
) -> None:
    run_flink("jobs.bets.flink.bet_status", filled_topic, pg_schema, tmp_path)
    run_flink("jobs.bets.flink.bet_status", filled_topic, pg_schema, tmp_path / "again")  # upserts: same rows
    assert table_rows(pg_schema, "bet_status") == EXPECTED["bet_status"]
    assert table_rows(pg_schema, "top_games") == set()
