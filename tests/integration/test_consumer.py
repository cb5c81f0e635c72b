"""The consumer on real Kafka + Postgres: duplicates, malformed and invalid input, DLQ reasons, offsets."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaConsumer, KafkaProducer

from jobs.bets.consumer import BetConsumer, ConsumerSettings
from jobs.bets.contract import BETS_PARTITIONS
from jobs.bets.topics import BetsTopics
from jobs.common.kafka import committed_offsets, ensure_topics, offset_range
from jobs.common.lifecycle import Stop
from jobs.common.migrate import migrate
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env

pytestmark = pytest.mark.integration


def event(n: int, **changes: object) -> dict:
    base = {
        "bet_id": f"00000000-0000-4000-8000-{n:012d}",
        "user_id": f"user-{n % 3}",
        "game": "roulette",
        "amount": 10 + n,
        "currency": "EUR",
        "odds": 2.5,
        "status": "placed",
        "event_time": "2026-11-25T10:00:00+00:00",
    }
    base.update(changes)
    return base


VALID = [event(n) for n in range(1, 21)]
BAD = [
    (b"{broken json", "invalid_json"),
    (json.dumps(event(100, amount="12")).encode(), "wrong_type"),
    (json.dumps({k: v for k, v in event(101).items() if k != "game"}).encode(), "missing_field"),
    (json.dumps(event(102, amount=-5)).encode(), "bad_value"),
    (json.dumps(event(103, status="pending")).encode(), "bad_value"),
]


def send_all(kafka: KafkaSettings, topics: BetsTopics, values: list[bytes]) -> None:
    ensure_topics(kafka, {topics.bets: BETS_PARTITIONS, topics.dlq: 1})
    producer = KafkaProducer(**kafka.client_options())
    for value in values:
        producer.send(topics.bets, value=value, key=b"k" + value[:8])
    producer.flush()
    producer.close()


def run_consumer(
    kafka: KafkaSettings, topics: BetsTopics, pg: PostgresSettings, group: str, batch_rows: int = 7
) -> BetConsumer:
    consumer = BetConsumer(kafka, pg, ConsumerSettings(group=group, batch_rows=batch_rows, batch_ms=200), topics)
    stop = Stop()
    consumer.run(stop, idle_exit=3.0)
    consumer.close()
    return consumer


def dlq_messages(kafka: KafkaSettings, topics: BetsTopics) -> list:
    reader = KafkaConsumer(topics.dlq, auto_offset_reset="earliest", consumer_timeout_ms=3000, **kafka.client_options())
    messages = list(reader)
    reader.close()
    return messages


def test_duplicates_and_bad_input(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings
) -> None:
    values = [json.dumps(e).encode() for e in VALID]
    values += [json.dumps(e).encode() for e in VALID[:5]]  # the same five events delivered twice
    values += [raw for raw, _ in BAD]
    send_all(kafka_settings, bets_topics, values)

    consumer = run_consumer(kafka_settings, bets_topics, pg_schema, group=bets_topics.bets)

    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT bet_id::text, amount, user_id FROM bets ORDER BY bet_id")
        rows = cur.fetchall()
    assert [r[0] for r in rows] == [e["bet_id"] for e in VALID]
    assert [int(r[1]) for r in rows] == [e["amount"] for e in VALID]
    counts = consumer.counts
    assert (counts.consumed, counts.stored, counts.duplicates, counts.dead_lettered) == (30, 20, 5, 5)

    dead = dlq_messages(kafka_settings, bets_topics)
    assert sorted(m.value for m in dead) == sorted(raw for raw, _ in BAD)
    by_value = {m.value: dict(m.headers) for m in dead}
    for raw, code in BAD:
        hdrs = by_value[raw]
        assert hdrs["brook.error.code"].decode() == code
        assert hdrs["brook.error"]
        assert hdrs["brook.source.topic"].decode() == bets_topics.bets
        source = (int(hdrs["brook.source.partition"]), int(hdrs["brook.source.offset"]))
        assert 0 <= source[0] < BETS_PARTITIONS and source[1] >= 0

    # Offsets: the group committed exactly the end of every partition.
    committed = committed_offsets(kafka_settings, bets_topics.bets)
    ends = {tp: end for tp, (_, end) in offset_range(kafka_settings, bets_topics.bets).items()}
    assert len(ends) == BETS_PARTITIONS
    assert {tp: committed.get(tp, 0) for tp in ends} == ends


def test_replay_from_scratch_changes_nothing(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings
) -> None:
    send_all(kafka_settings, bets_topics, [json.dumps(e).encode() for e in VALID])
    run_consumer(kafka_settings, bets_topics, pg_schema, group="first-" + bets_topics.bets)
    again = run_consumer(
        kafka_settings, bets_topics, pg_schema, group="second-" + bets_topics.bets
    )  # a new group rereads all
    assert (again.counts.consumed, again.counts.stored, again.counts.duplicates) == (20, 0, 20)
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM bets")
        assert cur.fetchone()[0] == 20


def test_offsets_not_committed_when_the_database_fails(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings
) -> None:
    send_all(kafka_settings, bets_topics, [json.dumps(e).encode() for e in VALID[:3]])
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE bets RENAME TO bets_gone")  # every insert now fails
    consumer = BetConsumer(
        kafka_settings, pg_schema, ConsumerSettings(group=bets_topics.bets, batch_ms=200), bets_topics
    )
    with pytest.raises(psycopg2.errors.UndefinedTable):
        consumer.run(Stop(), idle_exit=3.0)
    consumer.close()
    committed = committed_offsets(kafka_settings, bets_topics.bets)
    assert all(offset <= 0 for offset in committed.values()), committed
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE bets_gone RENAME TO bets")
    assert run_consumer(kafka_settings, bets_topics, pg_schema, group=bets_topics.bets).counts.stored == 3


def test_sigterm_drains_and_exits(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings, tmp_path: Path
) -> None:
    send_all(kafka_settings, bets_topics, [json.dumps(e).encode() for e in VALID])
    consumer = BetConsumer(
        kafka_settings, pg_schema, ConsumerSettings(group=bets_topics.bets, batch_ms=200), bets_topics
    )
    stop = Stop()
    seen = threading.Event()

    def after_batch(counts: object) -> None:
        seen.set()
        stop.requested = True  # what the SIGTERM handler does

    counts = consumer.run(stop, on_batch=after_batch)
    consumer.close()
    assert seen.is_set() and counts.consumed == counts.stored > 0


def test_two_worker_processes_share_the_partitions(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings
) -> None:
    values = [json.dumps(event(n, user_id=f"user-{n}")).encode() for n in range(1, 601)]
    send_all(kafka_settings, bets_topics, values)
    env = {
        **os.environ,
        **to_env(kafka_settings, bets_topics, pg_schema),
        "BROOK_CONSUMER_GROUP": bets_topics.bets,
        "BROOK_CONSUMER_WORKERS": "2",
        "BROOK_CONSUMER_BATCH_ROWS": "50",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.bets.consumer", "--exit-when-idle", "5"], env=env, capture_output=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    done = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.startswith('{"brook_summary"')]
    assert [d["brook_summary"] for d in done] == ["consumer", "consumer"], proc.stdout.decode()
    assert sum(d["stored"] for d in done) == 600
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT bet_id) FROM bets")
        assert cur.fetchone() == (600, 600)


def test_a_batch_of_a_partition_revoked_since_it_was_read_still_finishes(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings
) -> None:
    """A rebalance may revoke a partition while its batch is being stored (the next poll rejoins the group). The
    batch's metrics must not ask Kafka about it: kafka-python's highwater() of a partition no longer owned raised
    IllegalStateError, which stopped the consumer (seen on a real node, where two replicas start together)."""
    from jobs.bets.consumer import InFlight
    from jobs.bets.store import Stored

    consumer = BetConsumer(
        kafka_settings, pg_schema, ConsumerSettings(group=bets_topics.bets, batch_ms=200), bets_topics
    )
    try:
        revoked = (bets_topics.bets, 0)
        assert revoked not in {(tp.topic, tp.partition) for tp in consumer.consumer.assignment()}
        batch = InFlight(offsets={revoked: 7}, consumed=1, valid=1, bad=0, rows=[], sources=[])
        consumer._observe(batch, Stored(inserted=1))  # returns; the stored rows are not undone by a metric
    finally:
        consumer.close()


@pytest.fixture
def empty_schema(pg_settings: PostgresSettings, request: pytest.FixtureRequest) -> Iterator[PostgresSettings]:
    """A schema with no tables yet: what a consumer of a fresh helm install meets before the migration hook ran."""
    name = "t_empty_" + secrets.token_hex(4)
    with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {name}")
    yield dataclasses.replace(pg_settings, schema=name)
    with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA {name} CASCADE")


def consumer_process(kafka: KafkaSettings, topics: BetsTopics, pg: PostgresSettings, **env: str) -> subprocess.Popen:
    variables = {**os.environ, **to_env(kafka, topics, pg), "BROOK_CONSUMER_GROUP": topics.bets, **env}
    command = [sys.executable, "-m", "jobs.bets.consumer", "--exit-when-idle", "5"]
    return subprocess.Popen(command, env=variables, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_start_before_the_migration_waits_for_its_tables_then_consumes(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, empty_schema: PostgresSettings
) -> None:
    """A fresh helm install starts the consumer before its post-install migration Job: the consumer waits, saying
    what for, and consumes once the tables exist (it exited and was restarted by the Deployment before)."""
    send_all(kafka_settings, bets_topics, [json.dumps(e).encode() for e in VALID])
    proc = consumer_process(kafka_settings, bets_topics, empty_schema, BROOK_CONSUMER_SCHEMA_WAIT_SECONDS="120")
    assert proc.stdout is not None
    waiting = proc.stdout.readline()  # the first line it prints: it is waiting, not consuming
    assert "waiting for the table(s) bets, consumer_offsets" in waiting, waiting
    migrate(empty_schema.dsn())
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-2000:]
    done = [json.loads(line) for line in out.splitlines() if line.startswith('{"brook_summary"')]
    assert done and done[-1]["stored"] == len(VALID), out


@contextmanager
def forwarding(listener: socket.socket, host: str, port: int) -> Iterator[None]:
    """Accept on ``listener`` (already bound, so a client can be refused before) and relay each connection to
    host:port: Postgres starting to accept connections on that port, as a CNPG Cluster does after its bootstrap."""
    listener.listen()
    done = threading.Event()

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def accept() -> None:
        listener.settimeout(0.5)
        while not done.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection((host, port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        listener.close()


def test_a_refused_login_fails_the_start_at_once_naming_the_settings(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, empty_schema: PostgresSettings
) -> None:
    """Waiting for Postgres must not hide a configuration error: a wrong password is refused by a running server,
    and no wait mends it, so the start fails at once (exit 2) naming the settings to check, not after the wait."""
    wrong = dataclasses.replace(empty_schema, password=secrets.token_urlsafe(12))
    proc = consumer_process(kafka_settings, bets_topics, wrong, BROOK_CONSUMER_SCHEMA_WAIT_SECONDS="3600")
    out, err = proc.communicate(timeout=120)  # within the wait's hour only if the refusal ended the start
    assert proc.returncode == 2, out + err
    assert "refused the login" in err and "BROOK_PG_PASSWORD" in err, err
    assert "waiting for Postgres" not in out, out


def test_a_start_before_postgres_accepts_connections_waits_then_consumes(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, empty_schema: PostgresSettings
) -> None:
    """With the chart's CNPG Cluster, a fresh helm install starts the consumer before Postgres accepts connections
    (its bootstrap runs beside the Deployments): the consumer waits, saying what for, within
    BROOK_CONSUMER_SCHEMA_WAIT_SECONDS, and consumes once Postgres is up and migrated (on the node of `make k8s-e2e` it
    exited 'cannot reach Postgres' and was restarted 3 times before)."""
    send_all(kafka_settings, bets_topics, [json.dumps(e).encode() for e in VALID])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # bound, not listening: connections to it are refused
    closed = dataclasses.replace(empty_schema, host="127.0.0.1", port=listener.getsockname()[1])
    proc = consumer_process(kafka_settings, bets_topics, closed, BROOK_CONSUMER_SCHEMA_WAIT_SECONDS="120")
    assert proc.stdout is not None
    waiting = proc.stdout.readline()
    assert "waiting for Postgres to accept connections" in waiting and "refused" in waiting, waiting
    with forwarding(listener, empty_schema.host, empty_schema.port):
        migrate(empty_schema.dsn())
        out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-2000:]
    done = [json.loads(line) for line in out.splitlines() if line.startswith('{"brook_summary"')]
    assert done and done[-1]["stored"] == len(VALID), out


def test_postgres_still_refusing_after_the_wait_fails_naming_it(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, empty_schema: PostgresSettings
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        closed = dataclasses.replace(empty_schema, host="127.0.0.1", port=listener.getsockname()[1])
        proc = consumer_process(kafka_settings, bets_topics, closed, BROOK_CONSUMER_SCHEMA_WAIT_SECONDS="2")
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"cannot reach Postgres at 127.0.0.1:{closed.port}" in err, err


def test_tables_still_missing_after_the_wait_fail_naming_the_setting_and_the_migration(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, empty_schema: PostgresSettings
) -> None:
    proc = consumer_process(kafka_settings, bets_topics, empty_schema, BROOK_CONSUMER_SCHEMA_WAIT_SECONDS="1")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "BROOK_CONSUMER_SCHEMA_WAIT_SECONDS=1" in err and "python -m jobs.common.migrate" in err, err
