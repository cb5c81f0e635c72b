"""The producer CLI on the real broker: verbatim replay, clean flush on SIGTERM, clear failure when unreachable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from jobs.bets.topics import BetsTopics
from jobs.common.cli import read_summary
from jobs.common.kafka import offset_range
from jobs.common.settings import KafkaSettings, to_env

pytestmark = pytest.mark.integration


def producer(kafka: KafkaSettings, topics: BetsTopics, *args: str) -> subprocess.Popen:
    env = {**os.environ, **to_env(kafka, topics), "BROOK_PRODUCER_PROGRESS_SECONDS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.bets.producer", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def in_topic(kafka: KafkaSettings, topics: BetsTopics) -> int:
    return sum(end - start for start, end in offset_range(kafka, topics.bets).values())


def test_replay_sends_every_line_verbatim(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, tmp_path: Path
) -> None:
    lines = [b'{"user_id": "u1", "bet_id": "x"}', b"not json at all", b'{"user_id": 5}', b"[1,2]"]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n\n")
    proc = producer(kafka_settings, bets_topics, "--input", str(source))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    reader = KafkaConsumer(
        bets_topics.bets, auto_offset_reset="earliest", consumer_timeout_ms=3000, **kafka_settings.client_options()
    )
    received = {(m.key, m.value) for m in reader}
    reader.close()
    assert received == {(b"u1", lines[0]), (None, lines[1]), (None, lines[2]), (None, lines[3])}


def test_sigterm_flushes_everything_sent(kafka_settings: KafkaSettings, bets_topics: BetsTopics) -> None:
    proc = producer(kafka_settings, bets_topics, "--rate", "2000", "--seed", "1")
    time.sleep(6)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    done = read_summary(out.decode(), "producer")
    sent = done["sent"]
    assert sent > 0 and done["failed"] == 0
    assert in_topic(kafka_settings, bets_topics) == sent


def test_count_and_seed_are_reproducible(kafka_settings: KafkaSettings, bets_topics: BetsTopics) -> None:
    proc = producer(kafka_settings, bets_topics, "--count", "3000", "--seed", "42")
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert in_topic(kafka_settings, bets_topics) == 3000


def test_unreachable_broker_fails_clearly(kafka_settings: KafkaSettings, bets_topics: BetsTopics) -> None:
    from dataclasses import replace

    proc = producer(replace(kafka_settings, bootstrap="127.0.0.1:1"), bets_topics, "--count", "5")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert b"cannot reach Kafka at 127.0.0.1:1" in err


def test_bad_config_names_the_variable(kafka_settings: KafkaSettings, bets_topics: BetsTopics) -> None:
    env = {**os.environ, **to_env(kafka_settings, bets_topics), "BROOK_PRODUCER_COMPRESSION": "brotli"}
    proc = subprocess.run([sys.executable, "-m", "jobs.bets.producer"], env=env, capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert b"BROOK_PRODUCER_COMPRESSION='brotli' is not one of" in proc.stderr
