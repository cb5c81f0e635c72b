"""Metrics exist and move: a short real bets run (producer → consumer → exporter on the local services), each
process's metrics read where Brook exposes them (the consumer's HTTP endpoint while it runs, every process's
BROOK_METRICS_TEXTFILE when it ends), and every counter equal to the audit's independent recount
(jobs.bets.audit: the topic re-read and re-validated, the DLQ by source offset, Postgres, the Parquet objects)."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.bets.audit import kafka_counts, parquet_counts, postgres_counts
from jobs.bets.topics import BetsTopics
from jobs.common.audit import read_topic
from jobs.common.cli import read_summary
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, to_env
from jobs.local.bets_demo import write_faults
from jobs.local.ports import free_ports

pytestmark = pytest.mark.integration
EVENTS, FAULTS = 1500, 4  # FAULTS: replayed events (duplicates) + invalid messages, each


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) → value of every sample in a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(found: dict, name: str, **labels: str) -> float:
    """Sum of ``name`` over every label set that includes ``labels``."""
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls))


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


@pytest.fixture
def s3(s3_settings: S3Settings) -> Iterator[S3Settings]:
    """A bucket of this test's own (the exporter creates it); emptied and removed afterwards."""
    settings = dataclasses.replace(s3_settings, bucket=f"t-metrics-{secrets.token_hex(6)}")
    yield settings
    client = settings.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=settings.bucket, Key=item["Key"])
    client.delete_bucket(Bucket=settings.bucket)


def job(module: str, env: dict[str, str], textfile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**env, "BROOK_METRICS_TEXTFILE": str(textfile)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_counters_equal_the_audit(
    kafka_settings: KafkaSettings,
    bets_topics: BetsTopics,
    pg_schema: PostgresSettings,
    s3: S3Settings,
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        **to_env(kafka_settings, bets_topics, pg_schema, s3),
        "BROOK_CONSUMER_GROUP": bets_topics.bets,
        "BROOK_CONSUMER_BATCH_ROWS": "500",
        "BROOK_PRODUCER_PROGRESS_SECONDS": "0",
        "BROOK_CONSUMER_PROGRESS_SECONDS": "0",
    }
    started = time.time()
    # Two producer runs (two processes, two text files): generated events, then replays and invalid messages.
    job("jobs.bets.producer", env, tmp_path / "producer-1.prom", "--count", str(EVENTS), "--seed", "11")
    faults = tmp_path / "faults.jsonl"
    write_faults(kafka_settings, bets_topics, faults, FAULTS)
    job("jobs.bets.producer", env, tmp_path / "producer-2.prom", "--input", str(faults))
    produced = [samples((tmp_path / f"producer-{i}.prom").read_text()) for i in (1, 2)]

    # The consumer runs until stopped; its endpoint is scraped while it works, until it has consumed everything.
    k = kafka_counts(kafka_settings, bets_topics)
    port = free_ports(23100)
    consumer = subprocess.Popen(
        [sys.executable, "-m", "jobs.bets.consumer"],
        env={
            **env,
            "BROOK_METRICS_PORT": str(port),
            "BROOK_METRICS_ADDR": "127.0.0.1",
            "BROOK_METRICS_TEXTFILE": str(tmp_path / "consumer.prom"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    live: dict = {}
    try:
        deadline = time.monotonic() + 300
        while total(live, "brook_consumer_records_consumed_total") < k.messages:
            assert consumer.poll() is None, consumer.stderr.read()[-3000:] if consumer.stderr else ""
            assert time.monotonic() < deadline, f"consumer stalled: {live}"
            time.sleep(0.5)
            try:
                live = samples(scrape(port))
            except OSError:
                continue  # not listening yet
    finally:
        consumer.send_signal(signal.SIGTERM)
        out, err = consumer.communicate(timeout=120)
    assert consumer.returncode == 0, err[-3000:]
    ended = samples((tmp_path / "consumer.prom").read_text())
    batches = read_summary(out, "consumer")["batches"]

    job("jobs.bets.exporter", env, tmp_path / "exporter.prom")
    exported = samples((tmp_path / "exporter.prom").read_text())

    # The audit's recount, independent of every counter above (the DLQ now holds what the consumer sent it).
    k = kafka_counts(kafka_settings, bets_topics)
    db = postgres_counts(pg_schema)
    objects, parquet_rows, _ = parquet_counts(s3)
    sizes = [
        item["Size"]
        for page in s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
        for item in page.get("Contents", [])
    ]
    value_bytes = sum(len(value or b"") for _, _, value, _ in read_topic(kafka_settings, bets_topics.bets))

    # Producer: what it sent is what the topic holds, byte for byte.
    topic = {"topic": bets_topics.bets}
    assert sum(total(p, "brook_producer_records_sent_total", **topic) for p in produced) == k.messages
    assert k.messages == EVENTS + 2 * FAULTS
    assert sum(total(p, "brook_producer_sent_bytes_total", **topic) for p in produced) == value_bytes
    assert sum(total(p, "brook_producer_records_failed_total") for p in produced) == 0

    # Consumer: scraped live, and the same at exit.
    for seen in (live, ended):
        assert total(seen, "brook_consumer_records_consumed_total") == k.messages
        assert total(seen, "brook_consumer_records_stored_total") == db["stored"] == k.valid_distinct - k.unstorable
        assert total(seen, "brook_consumer_duplicates_total") == (k.messages - k.invalid) - k.valid_distinct
        assert total(seen, "brook_consumer_dead_letters_total") == k.dlq_invalid + k.unstorable == FAULTS
        lags = {ls: v for (n, ls), v in seen.items() if n == "brook_consumer_lag_records"}
        assert lags and set(lags.values()) == {0.0}, lags
    assert total(ended, "brook_consumer_batch_duration_seconds_count") == batches > 0

    # Exporter: rows, objects and bytes are the bucket's; nothing left behind; the success is this run's.
    assert total(exported, "brook_exporter_rows_total") == parquet_rows == db["exported"] == db["stored"]
    assert total(exported, "brook_exporter_objects_total") == objects == len(sizes) > 0
    assert total(exported, "brook_exporter_written_bytes_total") == sum(sizes)
    assert total(exported, "brook_exporter_backlog_age_seconds") == 0
    assert total(exported, "brook_exporter_last_success_timestamp_seconds") >= started
