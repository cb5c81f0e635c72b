"""Consumer faults on real services: workers killed mid-batch, the broker and Postgres restarted mid-stream, the DLQ
unavailable. Each test ends with the conservation audit: stored = valid distinct, DLQ sources = invalid, every
stored row exported once (the Flink rows are shown but not checked: no Flink job runs here)."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from jobs.bets.contract import InvalidEvent, parse_bet
from jobs.bets.topics import BetsTopics
from jobs.common.audit import read_topic
from jobs.common.kafka import committed_offsets
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings
from tests.faults.bets_steps import acknowledged, audit_bets, bets_env, drain, export, produce_bad
from tests.faults.fault_harness import Deployment, Job, Stack, committed_total, end_total, kill_pid, wait_until

pytestmark = pytest.mark.faults

EVENTS = 3000  # per test: a few seconds of producing at the rates below
BAD = 25


def behind(kafka: KafkaSettings, topics: BetsTopics, group: str) -> int:
    """Messages in the topic that the group has not committed (what a kill right now leaves in flight)."""
    return end_total(kafka, topics.bets) - committed_total(kafka, group)


def test_consumer_workers_killed_mid_batch_then_restarted(
    stack: Stack, kafka: KafkaSettings, topics: BetsTopics, pg: PostgresSettings, s3: S3Settings, log_dir: Path
) -> None:
    """Two worker processes (BROOK_CONSUMER_WORKERS=2) consume while the producer runs. kill -9 one worker mid-stream
    (uncommitted messages in flight); the other keeps committing its partitions; then kill -9 it too, and restart
    the group like a Deployment: every valid event stored once, every invalid one dead-lettered.

    A killed member keeps its partitions until its session times out (kafka-python's default, 45 s): the restart
    waits for that, which is most of this test's run time."""
    group = topics.bets + "-group"
    # Batches that wait up to a second: at the producer's 250 events/s a worker always holds uncommitted messages.
    env = bets_env(stack, topics, pg, s3, group, BROOK_CONSUMER_BATCH_ROWS="1000", BROOK_CONSUMER_BATCH_MS="1000")
    two = {**env, "BROOK_CONSUMER_WORKERS": "2"}
    in_flight_now = lambda: behind(kafka, topics, group) > 0  # noqa: E731
    produced = produce_bad(env, log_dir, BAD)
    producer = Deployment(
        "producer", "jobs.bets.producer", env, log_dir, "--count", str(EVENTS), "--seed", "901", "--rate", "250"
    )
    workers = Deployment("consumer", "jobs.bets.consumer", two, log_dir)
    restarted: Deployment | None = None
    try:
        wait_until(lambda: len(workers.current.children()) == 2, "the two worker processes", 60)
        wait_until(lambda: committed_total(kafka, group) >= 500, "500 committed offsets", 180, tend=[producer])
        first, second = workers.current.children()
        wait_until(in_flight_now, "uncommitted messages to kill the worker with", 120, tend=[producer])
        kill_pid(first)
        in_flight = behind(kafka, topics, group)
        print(f"[faults] killed worker {first} with {in_flight} messages not committed", flush=True)
        assert in_flight > 0, "the kill did not happen mid-stream"
        mark = committed_total(kafka, group)
        wait_until(
            lambda: committed_total(kafka, group) >= mark + 200, "the surviving worker to commit more", 120,
            tend=[producer],
        )  # fmt: skip
        wait_until(in_flight_now, "uncommitted messages to kill the second worker with", 120, tend=[producer])
        kill_pid(second)
        in_flight = behind(kafka, topics, group)
        print(f"[faults] killed worker {second} with {in_flight} messages not committed", flush=True)
        assert in_flight > 0, "the second kill did not happen mid-stream"
        workers.current.wait(60)  # the parent exits once its workers are gone
        restarted = Deployment("consumer-restarted", "jobs.bets.consumer", two, log_dir)
        wait_until(producer.finished, "the producer to finish", 180, tend=[producer, restarted])
        drain(kafka, topics, group, [restarted], pg=pg)
        assert restarted.stop() == 0, restarted.current.tail()
        produced += acknowledged(producer)
    finally:
        for job in (producer, workers, restarted):
            if job is not None:
                job.ensure_stopped()
    export(env, log_dir)
    audit_bets(
        stack,
        topics,
        pg,
        s3,
        produced,
        "consumer workers killed -9 mid-batch (one, then the other), restarted",
        log_dir,
    )


def test_broker_killed_and_restarted_mid_stream(
    stack: Stack, kafka: KafkaSettings, topics: BetsTopics, pg: PostgresSettings, s3: S3Settings, log_dir: Path
) -> None:
    """The broker is killed -9 while the producer and the consumer run, and comes back. Both are restarted whenever they
    exit non-zero (a Deployment); ``produced`` = what the producer runs say Kafka acknowledged. The idempotent
    producer must not write a retried batch twice (in Kafka = produced), the consumer must lose nothing."""
    group = topics.bets + "-group"
    env = bets_env(stack, topics, pg, s3, group, BROOK_CONSUMER_BATCH_ROWS="200")
    produced = produce_bad(env, log_dir, BAD)
    producer = Deployment(
        "producer", "jobs.bets.producer", env, log_dir, "--count", str(EVENTS), "--seed", "902", "--rate", "300"
    )
    consumer = Deployment("consumer", "jobs.bets.consumer", env, log_dir)
    try:
        wait_until(
            lambda: committed_total(kafka, group) >= 600, "600 committed offsets", 180, tend=[producer, consumer]
        )
        with stack.outage("kafka", crash=True):
            time.sleep(3)  # the outage itself (no assertion depends on it)
            assert producer.current.running(), "the producer finished before the outage: raise EVENTS or lower --rate"
        wait_until(producer.finished, "the producer to finish", 300, tend=[producer, consumer])
        drain(kafka, topics, group, [consumer])
        assert consumer.stop() == 0, consumer.current.tail()
        produced += acknowledged(producer)
        print(f"[faults] producer restarts: {producer.restarts}, consumer restarts: {consumer.restarts}", flush=True)
    finally:
        producer.ensure_stopped()
        consumer.ensure_stopped()
    export(env, log_dir)
    audit_bets(stack, topics, pg, s3, produced, "Kafka broker killed -9 and restarted mid-stream", log_dir)


def test_postgres_restarted_mid_stream(
    stack: Stack, kafka: KafkaSettings, topics: BetsTopics, pg: PostgresSettings, s3: S3Settings, log_dir: Path
) -> None:
    """Postgres stops (fast shutdown: connections cut) while the consumer writes, and comes back. The consumer
    retries and reconnects, or exits non-zero without committing and is restarted: nothing lost, nothing twice."""
    group = topics.bets + "-group"
    env = bets_env(stack, topics, pg, s3, group, BROOK_CONSUMER_BATCH_ROWS="200")
    produced = produce_bad(env, log_dir, BAD)
    producer = Deployment(
        "producer", "jobs.bets.producer", env, log_dir, "--count", str(EVENTS), "--seed", "903", "--rate", "300"
    )
    consumer = Deployment("consumer", "jobs.bets.consumer", env, log_dir)
    try:
        wait_until(
            lambda: committed_total(kafka, group) >= 600, "600 committed offsets", 180, tend=[producer, consumer]
        )
        with stack.outage("postgres"):
            time.sleep(3)
            assert producer.current.running(), "the producer finished before the outage: raise EVENTS or lower --rate"
        wait_until(producer.finished, "the producer to finish", 300, tend=[producer, consumer])
        drain(kafka, topics, group, [consumer])
        assert consumer.stop() == 0, consumer.current.tail()
        produced += acknowledged(producer)
        print(f"[faults] consumer restarts: {consumer.restarts}", flush=True)
    finally:
        producer.ensure_stopped()
        consumer.ensure_stopped()
    export(env, log_dir)
    audit_bets(stack, topics, pg, s3, produced, "Postgres stopped and restarted mid-stream", log_dir)


def dlq_rejecting_writes(kafka: KafkaSettings, topic: str, reject: bool) -> None:
    """Create the DLQ topic, or change it, so that it refuses every write (max.message.bytes below any batch)."""
    admin = KafkaAdminClient(client_id="brook-faults", **kafka.client_options())
    size = "16" if reject else "1048588"
    try:
        if topic not in admin.list_topics():
            admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": size})])
        else:
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": size})])
    finally:
        admin.close()


def first_invalid(kafka: KafkaSettings, topic: str) -> dict[int, int]:
    """The offset of the first contract-invalid message in each partition that has one."""
    found: dict[int, int] = {}
    for partition, offset, value, _ in read_topic(kafka, topic):
        try:
            parse_bet(value)
        except InvalidEvent:
            found[partition] = min(offset, found.get(partition, offset))
    return found


def test_dlq_unavailable_stops_the_consumer_without_committing(
    stack: Stack, kafka: KafkaSettings, topics: BetsTopics, pg: PostgresSettings, s3: S3Settings, log_dir: Path
) -> None:
    """The DLQ topic refuses writes: the consumer must exit non-zero and commit no offset past an invalid message it
    could not dead-letter (dropping it would lose it). With the DLQ writable again, a rerun stores everything once."""
    group = topics.bets + "-group"
    env = bets_env(stack, topics, pg, s3, group, BROOK_CONSUMER_BATCH_ROWS="100")
    dlq_rejecting_writes(kafka, topics.dlq, reject=True)
    good = Job("producer", "jobs.bets.producer", env, log_dir, "--count", "500", "--seed", "904")
    good.succeed(120)
    produced = good.summary("producer")["sent"] + produce_bad(env, log_dir, BAD)
    more = Job("producer-more", "jobs.bets.producer", env, log_dir, "--count", "500", "--seed", "905")
    more.succeed(120)
    produced += more.summary("producer")["sent"]
    poison = first_invalid(kafka, topics.bets)
    assert poison, "no invalid message reached the topic"

    blocked = Job("consumer-dlq-down", "jobs.bets.consumer", env, log_dir, "--exit-when-idle", "15")
    code = blocked.wait(240)
    committed = {tp.partition: offset for tp, offset in committed_offsets(kafka, group).items()}
    print(f"[faults] consumer exit {code}; committed {committed}; first invalid offsets {poison}", flush=True)
    past = {p: committed.get(p, 0) for p, offset in poison.items() if committed.get(p, 0) > offset}
    dropped = end_total(kafka, topics.dlq)
    assert code != 0 and not past, (
        f"with the DLQ refusing writes the consumer exited {code} and committed past an invalid message it could "
        f"not dead-letter (partition → committed: {past}; first invalid: {poison}; DLQ holds {dropped}): "
        f"those messages are lost\n{blocked.tail()}"
    )

    dlq_rejecting_writes(kafka, topics.dlq, reject=False)
    rerun = Job("consumer-dlq-back", "jobs.bets.consumer", env, log_dir, "--exit-when-idle", "10")
    rerun.succeed(240)
    export(env, log_dir)
    audit_bets(stack, topics, pg, s3, produced, "DLQ topic refusing writes, then writable again", log_dir)
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) = count(DISTINCT bet_id) FROM bets")
        assert cur.fetchone()[0]
