"""``python -m jobs.telecom.generator`` against the real broker: topic with 3 partitions, keys, replay of a file."""

from __future__ import annotations

import dataclasses
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from jobs.common.kafka import offset_range
from jobs.common.settings import KafkaSettings, to_env
from jobs.contract.telecom import parse_telecom

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).parents[1] / "data" / "telecom_windows.jsonl"


@pytest.fixture
def topic(kafka_settings: KafkaSettings, request: pytest.FixtureRequest) -> KafkaSettings:
    name = "telecom-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40] + "-" + secrets.token_hex(3)
    return dataclasses.replace(kafka_settings, topic_telecom=name)


def generate(kafka: KafkaSettings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jobs.telecom.generator", *args],
        env=to_env(kafka),
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_all(kafka: KafkaSettings) -> list:
    consumer = KafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    partitions = list(offset_range(kafka, kafka.topic_telecom))
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    records = []
    while any(consumer.position(tp) < ends[tp] for tp in partitions):
        for batch in consumer.poll(timeout_ms=1000).values():
            records += batch
    consumer.close()
    return records


def test_generated_events_are_keyed_by_masked_subscriber_over_three_partitions(topic: KafkaSettings) -> None:
    done = generate(topic, "--count", "600", "--seed", "3", "--rate", "20", "--start", "2026-03-10T00:00:00+00:00")
    assert done.returncode == 0, done.stderr
    assert "sent=600 failed=0" in done.stdout
    assert len(offset_range(topic, topic.topic_telecom)) == 3
    records = read_all(topic)
    assert len(records) == 600
    assert len({r.partition for r in records}) == 3
    for record in records:
        event = parse_telecom(record.value)
        assert record.key == event.subscriber_id.encode()


def test_input_file_is_replayed_verbatim(topic: KafkaSettings) -> None:
    done = generate(topic, "--input", str(EVENTS))
    assert done.returncode == 0, done.stderr
    sent = sorted(EVENTS.read_bytes().splitlines())
    records = read_all(topic)
    assert sorted(r.value for r in records) == sent
    assert sum(r.key is None for r in records) == 1, "only the malformed line has no subscriber to key by"


def test_start_without_rate_is_a_usage_error(topic: KafkaSettings) -> None:
    done = generate(topic, "--start", "2026-03-10T00:00:00+00:00", "--count", "1")
    assert done.returncode == 2 and "--start needs --rate" in done.stderr
