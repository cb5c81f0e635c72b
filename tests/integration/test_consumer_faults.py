"""The consumer's defence in depth on real Kafka + Postgres: rows Postgres refuses, a killed database connection,
a DLQ that cannot be written. One verdict per message (stored, or dead-lettered with a reason) and the offsets rule
(committed only after the DLQ acknowledged and the database committed) must hold through each of them.

The poison rows are made by constraints added to the test's private schema, not by input the contract lets
through today: the defence must work for anything Postgres refuses, whatever the contract becomes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

import psycopg2
import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from jobs.bets.consumer import UNSTORABLE, BetConsumer, ConsumerSettings
from jobs.bets.contract import BETS_PARTITIONS, Bet, parse_bet
from jobs.bets.store import Stored, copy_row, is_data_error, is_infrastructure_error, store_batch
from jobs.bets.topics import BetsTopics
from jobs.common.cli import read_summary
from jobs.common.kafka import committed_offsets, ensure_topics, offset_range
from jobs.common.lifecycle import Stop
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env
from tests.integration.test_consumer import dlq_messages, event

pytestmark = pytest.mark.integration

POISON_GAME = "poison"  # refused by CHECK no_poison: class 23 (integrity constraint violation)
LONG_USER = "u" * 30  # refused by user_id varchar(20): class 22 (data exception), raised by COPY already


def make_poisonous(pg: PostgresSettings) -> None:
    """Constraints stricter than the contract in the private schema: one class-23 and one class-22 refusal."""
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"ALTER TABLE bets ADD CONSTRAINT no_poison CHECK (game <> '{POISON_GAME}')")
        cur.execute("ALTER TABLE bets ALTER COLUMN user_id TYPE varchar(20)")


def produce(kafka: KafkaSettings, topics: BetsTopics, values: list[bytes]) -> list[tuple[int, int]]:
    """Send ``values`` to the bets topic; return each one's (partition, offset)."""
    ensure_topics(kafka, {topics.bets: BETS_PARTITIONS})
    producer = KafkaProducer(**kafka.client_options())
    futures = [producer.send(topics.bets, value=value, key=value[-12:]) for value in values]
    producer.flush()
    placed = [(meta.partition, meta.offset) for meta in (f.get(timeout=30) for f in futures)]
    producer.close()
    return placed


def run_main(kafka: KafkaSettings, topics: BetsTopics, pg: PostgresSettings) -> subprocess.CompletedProcess[str]:
    """The consumer as deployed (``python -m jobs.bets.consumer``), until idle for 3 s."""
    env = {
        **os.environ,
        **to_env(kafka, topics, pg),
        "BROOK_CONSUMER_GROUP": topics.bets,
        "BROOK_CONSUMER_BATCH_ROWS": "50",
        "BROOK_CONSUMER_BATCH_MS": "300",
    }
    command = [sys.executable, "-m", "jobs.bets.consumer", "--exit-when-idle", "3"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def stored_ids(pg: PostgresSettings) -> list[str]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT bet_id::text FROM bets ORDER BY bet_id")
        return [row[0] for row in cur.fetchall()]


def committed_to_end(kafka: KafkaSettings, topics: BetsTopics) -> bool:
    """Whether the group committed exactly the end of every partition of the bets topic."""
    committed = committed_offsets(kafka, topics.bets)
    ends = {tp: end for tp, (_, end) in offset_range(kafka, topics.bets).items()}
    return len(ends) == BETS_PARTITIONS and {tp: committed.get(tp, 0) for tp in ends} == ends


def dlq_by_source(kafka: KafkaSettings, topics: BetsTopics) -> dict[tuple[int, int], list[dict[str, str]]]:
    """DLQ headers (decoded) grouped by the source (partition, offset) they name."""
    found: dict[tuple[int, int], list[dict[str, str]]] = {}
    for message in dlq_messages(kafka, topics):
        hdrs = {key: value.decode() for key, value in message.headers}
        assert hdrs["brook.source.topic"] == topics.bets
        source = (int(hdrs["brook.source.partition"]), int(hdrs["brook.source.offset"]))
        found.setdefault(source, []).append({**hdrs, "value": message.value.decode()})
    return found


def test_refused_rows_are_dead_lettered_and_the_rest_committed(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings
) -> None:
    make_poisonous(pg_schema)
    good = [event(n, user_id=f"user-{n}") for n in range(1, 41)]
    poison = {
        41: event(41, game=POISON_GAME),
        42: event(42, game=POISON_GAME),
        43: event(43, user_id=LONG_USER),
    }
    values = [json.dumps(e).encode() for e in good[:20]]
    values += [json.dumps(e).encode() for e in poison.values()]
    values += [json.dumps(e).encode() for e in good[20:]]
    values.append(b"{broken json")
    placed = produce(kafka_settings, bets_topics, values)

    proc = run_main(kafka_settings, bets_topics, pg_schema)

    assert proc.returncode == 0, proc.stderr[-3000:]
    done = read_summary(proc.stdout, "consumer")
    assert (done["consumed"], done["stored"], done["duplicates"]) == (44, 40, 0), done
    assert (done["unstorable"], done["dead_lettered"]) == (3, 1), done
    assert stored_ids(pg_schema) == sorted(e["bet_id"] for e in good)
    assert committed_to_end(kafka_settings, bets_topics)

    dead = dlq_by_source(kafka_settings, bets_topics)
    assert all(len(copies) == 1 for copies in dead.values()), dead
    source_of = {value: place for value, place in zip(values, placed, strict=True)}
    for n, bet in poison.items():
        (hdrs,) = dead[source_of[json.dumps(bet).encode()]]
        assert hdrs["value"] == json.dumps(bet), n
        assert hdrs["brook.error.code"] == UNSTORABLE
        expected = "value too long for type character varying(20)" if n == 43 else 'check constraint "no_poison"'
        assert expected in hdrs["brook.error"], hdrs["brook.error"]
    assert dead[source_of[b"{broken json"]][0]["brook.error.code"] == "invalid_json"
    assert len(dead) == 4


def store(pg: PostgresSettings, bets: list[Bet]) -> Stored:
    """One batch through :func:`store_batch` on a fresh connection (it manages its own transactions)."""
    conn = psycopg2.connect(pg.dsn())
    try:
        return store_batch(conn, [copy_row(bet) for bet in bets])
    finally:
        conn.close()


@pytest.mark.parametrize(
    "bad",
    [[0], [7], [3, 4], [0, 2, 5, 7], list(range(8))],
    ids=["first", "last", "adjacent", "scattered", "all"],
)
def test_bisection_isolates_exactly_the_refused_rows(pg_schema: PostgresSettings, bad: list[int]) -> None:
    """U+0000 in text (class 22, what Postgres's UTF-8 text cannot hold), built past the contract on purpose."""
    bets = [parse_bet(json.dumps(event(n)).encode()) for n in range(8)]
    bets = [bet._replace(game="rou\x00lette") if i in bad else bet for i, bet in enumerate(bets)]
    stored = store(pg_schema, bets)
    assert [row.index for row in stored.rejected] == bad
    assert all("0x00" in row.error and "22021" in row.error for row in stored.rejected), stored
    assert stored.inserted == 8 - len(bad)
    assert stored_ids(pg_schema) == sorted(bet.bet_id for i, bet in enumerate(bets) if i not in bad)


def test_bisection_without_a_hint_from_the_server(pg_schema: PostgresSettings) -> None:
    """A refusal that names no row (a trigger raising class 22 with no COPY line, no failing row): plain bisection."""
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.game = '{POISON_GAME}' THEN RAISE EXCEPTION 'no poison here' USING ERRCODE = '22023'; END IF; "
            "RETURN NEW; END $$"
        )
        cur.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON bets FOR EACH ROW EXECUTE FUNCTION refuse_poison()")
    bets = [parse_bet(json.dumps(event(n, game=POISON_GAME if n in (1, 6, 7) else "dice")).encode()) for n in range(9)]
    stored = store(pg_schema, bets)
    assert [row.index for row in stored.rejected] == [1, 6, 7]
    assert all(row.error == "no poison here (SQLSTATE 22023)" for row in stored.rejected), stored
    assert stored.inserted == 6 and len(stored_ids(pg_schema)) == 6


def test_bisection_counts_only_new_rows(pg_schema: PostgresSettings) -> None:
    """A replayed batch with a refused row: the old rows collapse (not counted as new), the refused one is reported."""
    make_poisonous(pg_schema)
    bets = [parse_bet(json.dumps(event(n)).encode()) for n in range(6)]
    first = store(pg_schema, bets[:4])
    again = store(pg_schema, [*bets, bets[1]._replace(bet_id=bets[5].bet_id[:-1] + "9", game=POISON_GAME)])
    assert first == Stored(4)
    assert again.inserted == 2 and [row.index for row in again.rejected] == [6]


@pytest.mark.parametrize(
    ("sql", "data", "infrastructure"),
    [
        ("SELECT 1 / 0", True, False),  # 22012 division_by_zero
        ("SELECT 'x'::int", True, False),  # 22P02 invalid_text_representation
        ("INSERT INTO bet_status VALUES (now(), now(), 'placed', NULL)", True, False),  # 23502 not_null_violation
        ("SELECT * FROM no_such_table", False, False),  # 42P01: a schema problem, neither retried nor isolated
        ("SELECT pg_terminate_backend(pg_backend_pid())", False, True),  # 57P01 admin_shutdown (connection lost)
    ],
)
def test_error_classification(pg_schema: PostgresSettings, sql: str, data: bool, infrastructure: bool) -> None:
    conn = psycopg2.connect(pg_schema.dsn())
    try:
        with pytest.raises(psycopg2.Error) as raised, conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()
    assert (is_data_error(raised.value), is_infrastructure_error(raised.value)) == (data, infrastructure), (
        raised.value.pgcode,
        raised.value,
    )


def test_killed_database_connection_is_replaced_and_nothing_is_lost(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings
) -> None:
    first = [json.dumps(event(n, user_id=f"user-{n}")).encode() for n in range(1, 11)]
    later = [json.dumps(event(n, user_id=f"user-{n}")).encode() for n in range(11, 21)]
    produce(kafka_settings, bets_topics, first)
    consumer = BetConsumer(
        kafka_settings, pg_schema, ConsumerSettings(group=bets_topics.bets, batch_rows=5, batch_ms=200), bets_topics
    )
    killed: list[int] = []

    def kill_once(counts: Any) -> None:
        """After the first batch: terminate the consumer's backend, then produce more (so a write must follow)."""
        if killed:
            return
        pid = consumer.conn.get_backend_pid()
        with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            assert cur.fetchone()[0]
        killed.append(pid)
        produce(kafka_settings, bets_topics, later)

    counts = consumer.run(Stop(), idle_exit=4.0, on_batch=kill_once)
    new_pid = consumer.conn.get_backend_pid()
    consumer.close()

    assert killed and new_pid != killed[0]  # the write after the kill went through a new connection
    assert stored_ids(pg_schema) == sorted(event(n)["bet_id"] for n in range(1, 21))
    assert (counts.consumed, counts.stored + counts.duplicates, counts.unstorable) == (20, 20, 0)
    assert committed_to_end(kafka_settings, bets_topics)


def create_unwritable_topic(kafka: KafkaSettings, name: str) -> None:
    """A topic whose broker refuses every record (``max.message.bytes`` = 1): a DLQ that cannot be written."""
    admin = KafkaAdminClient(client_id="brook-test", **kafka.client_options())
    try:
        admin.create_topics([NewTopic(name, 1, 1, topic_configs={"max.message.bytes": "1"})])
    finally:
        admin.close()


@pytest.mark.parametrize("verdict", ["invalid_json", UNSTORABLE])
def test_unwritable_dlq_stops_the_consumer_without_committing(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings, verdict: str
) -> None:
    make_poisonous(pg_schema)
    bad = b"{broken json" if verdict == "invalid_json" else json.dumps(event(99, game=POISON_GAME)).encode()
    good = [json.dumps(event(n, user_id=f"user-{n}")).encode() for n in range(1, 31)]
    values = [*good[:15], bad, *good[15:]]
    placed = produce(kafka_settings, bets_topics, values)
    bad_partition, bad_offset = placed[15]
    broken = replace(bets_topics, dlq=bets_topics.dlq + ".unwritable")
    create_unwritable_topic(kafka_settings, broken.dlq)

    failed = run_main(kafka_settings, broken, pg_schema)

    assert failed.returncode == 1, failed.stdout[-2000:] + failed.stderr[-2000:]
    assert "stopping without committing" in failed.stderr, failed.stderr[-2000:]
    committed = committed_offsets(kafka_settings, bets_topics.bets)
    assert all(offset <= bad_offset for tp, offset in committed.items() if tp.partition == bad_partition), committed

    rerun = run_main(kafka_settings, bets_topics, pg_schema)  # the same group, a DLQ that works

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT bet_id) FROM bets")
        assert cur.fetchone() == (30, 30)
    dead = dlq_by_source(kafka_settings, bets_topics)
    assert list(dead) == [(bad_partition, bad_offset)] and len(dead[bad_partition, bad_offset]) == 1, dead
    assert dead[bad_partition, bad_offset][0]["brook.error.code"] == verdict
    assert committed_to_end(kafka_settings, bets_topics)
