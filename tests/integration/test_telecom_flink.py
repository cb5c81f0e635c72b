"""The telecom window job on a fixed event file, against hand-computed rows (real Kafka, Flink mini-cluster, Postgres).

tests/data/telecom_windows.jsonl, in topic order (one partition, watermarks emitted on every event, so which event
is late does not depend on timing), window 60 s, watermark = max event time − 120 s:

1–3  10:00:05 call Almaty, 10:00:30 data_session Almaty, 10:00:59.999 sms Astana      → window 10:00
4–6  10:01:00.000 sms Astana (boundary), 10:01:20 recharge Astana, 15:01:30+05:00 call Almaty → window 10:01
7    10:04:10 data_session Astana: max event time → watermark 10:02:10                  → window 10:04
8    10:01:50 call Almaty: window 10:01 already closed (10:01:59.999 ≤ 10:02:10)         → telecom_late_events
9    10:02:30 sms Almaty: behind the watermark, but its window 10:02 is still open      → window 10:02
10   a raw phone number as subscriber_id; 11 malformed JSON                            → dropped by the contract
12   10:03:00 recharge Almaty 500.5                                                     → window 10:03
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaProducer

from jobs.common.kafka import ensure_topics
from jobs.common.produce import ProducerSettings, producer_options
from jobs.common.settings import KafkaSettings, PostgresSettings
from jobs.telecom.contract import parse_telecom
from jobs.telecom.topics import TelecomTopics
from tests.integration.test_bets_flink import run_flink

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).parents[1] / "data" / "telecom_windows.jsonl"
D = Decimal


def w(minute: int) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(f"2026-03-10T10:{minute:02d}:00+00:00")
    return start, start.replace(minute=minute + 1)


# (window_start, window_end, event_type, region, event_count, total_duration, total_data_mb, total_amount)
EXPECTED_METRICS = {
    (*w(0), "call", "Almaty", 1, 60, D("0.000"), D("0.00")),
    (*w(0), "data_session", "Almaty", 1, 120, D("10.500"), D("0.00")),
    (*w(0), "sms", "Astana", 1, 0, D("0.000"), D("0.00")),
    (*w(1), "sms", "Astana", 1, 0, D("0.000"), D("0.00")),
    (*w(1), "balance_recharge", "Astana", 1, 0, D("0.000"), D("1000.00")),
    (*w(1), "call", "Almaty", 1, 30, D("0.000"), D("0.00")),
    (*w(2), "sms", "Almaty", 1, 0, D("0.000"), D("0.00")),
    (*w(3), "balance_recharge", "Almaty", 1, 0, D("0.000"), D("500.50")),
    (*w(4), "data_session", "Astana", 1, 300, D("100.250"), D("0.00")),
}
# (event_id, event_time, window_start, window_end, event_type, region, duration, watermark)
EXPECTED_LATE = {
    (
        "00000000-0000-4000-8000-000000000008",
        datetime.fromisoformat("2026-03-10T10:01:50+00:00"),
        *w(1),
        "call",
        "Almaty",
        45,
        datetime.fromisoformat("2026-03-10T10:02:10+00:00"),
    )
}


def rows(pg: PostgresSettings, query: str) -> set[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(query)
        return set(cur.fetchall())


METRICS = (
    "SELECT window_start, window_end, event_type, region, event_count, total_duration, total_data_mb, total_amount "
    "FROM real_time_metrics"
)
LATE = (
    "SELECT event_id::text, event_time, window_start, window_end, event_type, region, duration, watermark "
    "FROM telecom_late_events"
)


@pytest.fixture
def telecom_topic(kafka_settings: KafkaSettings, telecom_topics: TelecomTopics) -> tuple[KafkaSettings, TelecomTopics]:
    """A unique one-partition topic holding the event file, written with the shipped producer settings (zstd)."""
    name = telecom_topics.events
    ensure_topics(kafka_settings, {name: 1})
    producer = KafkaProducer(**kafka_settings.client_options(), **producer_options(ProducerSettings()))
    for line in EVENTS.read_bytes().splitlines():
        producer.send(name, value=line)
    producer.flush()
    producer.close()
    return kafka_settings, telecom_topics


def test_the_event_file_is_what_the_docstring_says() -> None:
    valid = []
    for line in EVENTS.read_bytes().splitlines():
        try:
            valid.append(parse_telecom(line))
        except ValueError:
            continue
    assert len(valid) == 10 == sum(row[4] for row in EXPECTED_METRICS) + len(EXPECTED_LATE)


def test_windows_and_late_events_match_hand_computed_rows(
    telecom_topic: tuple[KafkaSettings, TelecomTopics],
    pg_schema: PostgresSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BROOK_TELECOM_WATERMARK_EMIT", "on-event")
    run_flink("jobs.telecom.flink.metrics", telecom_topic, pg_schema, tmp_path)
    assert rows(pg_schema, METRICS) == EXPECTED_METRICS
    assert rows(pg_schema, LATE) == EXPECTED_LATE
    # A rerun over the same topic (fresh state) upserts the same keys: nothing doubles.
    run_flink("jobs.telecom.flink.metrics", telecom_topic, pg_schema, tmp_path / "again")
    assert rows(pg_schema, METRICS) == EXPECTED_METRICS
    assert rows(pg_schema, LATE) == EXPECTED_LATE
