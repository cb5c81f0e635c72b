"""``python -m jobs.telecom.generator`` against the real broker: topic with 3 partitions, keys, replay of a file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from jobs.common.cli import read_summary
from jobs.common.kafka import offset_range
from jobs.common.settings import KafkaSettings, to_env
from jobs.telecom.contract import parse_telecom
from jobs.telecom.topics import TelecomTopics

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).parents[1] / "data" / "telecom_windows.jsonl"


def generate(kafka: KafkaSettings, topics: TelecomTopics, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jobs.telecom.generator", *args],
        env=to_env(kafka, topics),
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_all(kafka: KafkaSettings, topics: TelecomTopics) -> list:
    consumer = KafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    partitions = list(offset_range(kafka, topics.events))
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    records = []
    while any(consumer.position(tp) < ends[tp] for tp in partitions):
        for batch in consumer.poll(timeout_ms=1000).values():
            records += batch
    consumer.close()
    return records


def test_generated_events_are_keyed_by_masked_subscriber_over_three_partitions(
    kafka_settings: KafkaSettings, telecom_topics: TelecomTopics
) -> None:
    done = generate(
        kafka_settings,
        telecom_topics,
        "--count",
        "600",
        "--seed",
        "3",
        "--rate",
        "20",
        "--start",
        "2026-03-10T00:00:00+00:00",
    )
    assert done.returncode == 0, done.stderr
    summary = read_summary(done.stdout, "telecom-generator")
    assert (summary["sent"], summary["failed"]) == (600, 0)
    assert len(offset_range(kafka_settings, telecom_topics.events)) == 3
    records = read_all(kafka_settings, telecom_topics)
    assert len(records) == 600
    assert len({r.partition for r in records}) == 3
    for record in records:
        event = parse_telecom(record.value)
        assert record.key == event.subscriber_id.encode()


def test_input_file_is_replayed_verbatim(kafka_settings: KafkaSettings, telecom_topics: TelecomTopics) -> None:
    done = generate(kafka_settings, telecom_topics, "--input", str(EVENTS))
    assert done.returncode == 0, done.stderr
    sent = sorted(EVENTS.read_bytes().splitlines())
    records = read_all(kafka_settings, telecom_topics)
    assert sorted(r.value for r in records) == sent
    assert sum(r.key is None for r in records) == 1, "only the malformed line has no subscriber to key by"


def test_start_without_rate_is_a_usage_error(kafka_settings: KafkaSettings, telecom_topics: TelecomTopics) -> None:
    done = generate(kafka_settings, telecom_topics, "--start", "2026-03-10T00:00:00+00:00", "--count", "1")
    assert done.returncode == 2 and "--start needs --rate" in done.stderr
