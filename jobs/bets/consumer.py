"""Bet consumer: topic ``bets`` → validated rows in Postgres ``bets``; invalid messages → ``bets.dlq``.

``python -m jobs.bets.consumer [--exit-when-idle SECONDS]``

Order per batch, which is what makes it lossless and exactly-once in rows: (1) invalid messages are sent to the
DLQ and every send is confirmed, (2) valid rows are inserted idempotently, rows Postgres refused for a data reason
are sent to the DLQ and confirmed, and the group's position (``consumer_offsets``) is written, all in one
transaction that then commits, (3) only then are the Kafka offsets committed. A crash anywhere replays the batch:
rows collapse on ``bet_id``; a DLQ message may appear twice, and its headers (source partition + offset) identify
the copy. On every partition assignment the consumer starts where the database says (:class:`ResumeFromDatabase`),
so a database restored to an earlier point re-ingests exactly what it lost.

One verdict per message: stored, or dead-lettered with a reason. Bad input never stops the loop. A row the
contract accepted but Postgres refuses (SQLSTATE class 22 or 23, e.g. U+0000 in text or a constraint stricter
than the contract) is isolated by bisecting its batch (:func:`jobs.bets.store.store_batch`) and dead-lettered with
reason ``unstorable`` and the database's message; the rest of the batch commits. Only infrastructure faults
(classes 08, 53, 57, lost connections) are retried, with backoff and a new connection, then the process exits
non-zero without committing offsets; any other database error (e.g. a missing table) exits at once, also without
committing. A DLQ that cannot be written stops the consumer the same way: a message is never dropped.

The consumer reads with confluent-kafka (librdkafka, C): kafka-python decodes every record in Python, which was
~14 µs of CPU per message, the largest single share of this process (bench/results/2026-11-28-consumer.md);
librdkafka's is ~2 µs. Its DLQ producer stays kafka-python, like every other Brook client: it sends only bad messages.
The common message becomes its COPY row in one step (:mod:`jobs.bets.fast_row`, the very row the reference path
writes); any other takes the reference path, which gives a refusal its reason.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections import Counter as Tally
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field

import psycopg2
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from confluent_kafka import KafkaError as RdKafkaError
from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata
from prometheus_client import Counter, Gauge, Histogram

from jobs.bets.contract import BETS_PARTITIONS, InvalidEvent
from jobs.bets.fast_contract import parse_bet_fast
from jobs.bets.fast_row import fast_row
from jobs.bets.store import (
    TABLES,
    Position,
    Rejected,
    Stored,
    copy_row,
    is_infrastructure_error,
    store_batch,
    stored_position,
)
from jobs.bets.topics import BetsTopics
from jobs.common.cli import run, summary
from jobs.common.kafka import ensure_topics, headers
from jobs.common.lifecycle import Stop
from jobs.common.migrate import MIGRATION_HINT, login_refused, wait_for_tables
from jobs.common.settings import ConfigError, KafkaSettings, PostgresSettings, load, setting

Partition = tuple[str, int]  # (topic, partition)
UNSTORABLE = "unstorable"  # DLQ reason: valid by the contract, refused by Postgres (class 22/23)
DLQ_ACK_TIMEOUT = 150.0  # seconds; above the producer's delivery timeout (120 s), so that one decides

# A commit refused with these codes means the partitions moved to another member (it replays them; rows collapse).
REBALANCED = frozenset(
    {RdKafkaError.ILLEGAL_GENERATION, RdKafkaError.UNKNOWN_MEMBER_ID, RdKafkaError.REBALANCE_IN_PROGRESS}
)

# Prometheus metrics (docs/metrics.md), counted once per finished batch, after its offsets were committed.
CONSUMED = Counter("brook_consumer_records_consumed_total", "Messages whose batch was committed.")
STORED = Counter("brook_consumer_records_stored_total", "Rows inserted into Postgres (new bet_id).")
DUPLICATES = Counter("brook_consumer_duplicates_total", "Valid messages whose bet_id was already stored.")
DEAD_LETTERS = Counter("brook_consumer_dead_letters_total", "Messages sent to the DLQ, by reason.", ["reason"])
BATCH_SECONDS = Histogram(
    "brook_consumer_batch_duration_seconds",
    "From validating a batch to committing its offsets (DLQ writes, insert, transaction, Kafka commit).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
LAG = Gauge(
    "brook_consumer_lag_records",
    "Messages in a partition past the group's last committed batch (the broker's high watermark known to the "
    "client minus the committed offset); updated per batch.",
    ["topic", "partition"],
)


@dataclass(frozen=True, kw_only=True)
class ConsumerSettings:
    group: str = setting("CONSUMER_GROUP", "brook-consumer", help="Kafka consumer group (offsets live there).")
    workers: int = setting(
        "CONSUMER_WORKERS",
        1,
        help="Group members run as separate processes by one command (Python is CPU-bound per process; "
        "use up to the topic's partition count). In Kubernetes prefer replicas.",
    )
    batch_rows: int = setting("CONSUMER_BATCH_ROWS", 5000, help="Max messages per database transaction.")
    batch_ms: int = setting("CONSUMER_BATCH_MS", 500, help="Max time a batch waits to fill (ms).")
    db_retries: int = setting("CONSUMER_DB_RETRIES", 5, help="Attempts per batch when Postgres fails.")
    progress_seconds: float = setting("CONSUMER_PROGRESS_SECONDS", 10.0, help="Progress line interval (0 = off).")
    schema_wait_seconds: float = setting(
        "CONSUMER_SCHEMA_WAIT_SECONDS",
        300.0,
        help="How long a start waits for Postgres and its tables (helm install migrates after the Deployments start); "
        "a refused login is not waited for: it exits 2 at once.",
    )

    def validate(self) -> None:
        if self.batch_rows < 1 or self.batch_ms < 1 or self.db_retries < 1 or self.workers < 1:
            raise ConfigError(
                "BROOK_CONSUMER_BATCH_ROWS, BROOK_CONSUMER_BATCH_MS, BROOK_CONSUMER_DB_RETRIES and "
                "BROOK_CONSUMER_WORKERS must be >= 1."
            )


@dataclass
class InFlight:
    """A validated batch on its way to Postgres, with the offsets to commit once it is there."""

    offsets: dict[Partition, int]
    consumed: int
    valid: int
    bad: int
    rows: list[str]  # the valid messages as COPY lines (store.copy_row), rendered on the main thread
    sources: list[Message]  # the record of each row (same index): what an unstorable row dead-letters
    reasons: Tally[str] = field(default_factory=Tally)  # dead-lettered messages by error code
    started: float = field(default_factory=time.monotonic)


@dataclass
class Counts:
    consumed: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    unstorable: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> dict[str, float | int]:
        """The machine-readable counts (the job's JSON summary line)."""
        secs = round(max(time.monotonic() - self.started, 1e-9), 3)
        return {
            "consumed": self.consumed,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "unstorable": self.unstorable,
            "batches": self.batches,
            "seconds": secs,
        }

    def line(self) -> str:
        secs = max(time.monotonic() - self.started, 1e-9)
        return (
            f"consumed={self.consumed} stored={self.stored} duplicates={self.duplicates} "
            f"dlq={self.dead_lettered} unstorable={self.unstorable} batches={self.batches} seconds={secs:.2f} "
            f"msgs/s={self.consumed / secs:.0f}"
        )


class ResumeFromDatabase:
    """On every assignment, start each partition where the database says the group stands (librdkafka's
    ``on_assign``: the partitions are assigned with these offsets).

    The position is committed with the rows (``consumer_offsets``), so it is right even when Kafka's committed
    offsets are not: after the database was restored to an earlier point, Kafka's are ahead and would skip what the
    restore lost; after a crash between the database commit and the Kafka commit, Kafka's are behind (harmless, rows
    collapse, but this skips the replay). A partition the database has no position for starts from Kafka's.
    Nothing is saved on revocation: every finished batch's position is already in the database.
    """

    def __init__(self, pg: PostgresSettings, group: str) -> None:
        self.pg, self.group = pg, group

    def __call__(self, consumer: Consumer, assigned: list[TopicPartition]) -> None:
        try:
            # Its own short connection: the batch writer thread owns the consumer's connection.
            with closing(psycopg2.connect(self.pg.dsn())) as conn:
                stored = stored_position(conn, self.group, [(tp.topic, tp.partition) for tp in assigned])
        except Exception as err:
            where = sorted(f"{tp.topic}/{tp.partition}" for tp in assigned)
            print(f"[consumer] resuming {where} from the database failed: {err!r}", flush=True)
            raise  # confluent-kafka raises it again from consume(): the consumer stops, nothing committed
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is not None:
                tp.offset = offset
        consumer.assign(assigned)


def received(message: Message) -> bool:
    """Whether ``message`` is a record; a consumer error arrives as a message too. A fatal or non-retriable one
    (e.g. not authorised to read the topic) raises; a retriable one is logged and librdkafka carries on."""
    error = message.error()
    if error is None:
        return True
    if error.code() == RdKafkaError._PARTITION_EOF:
        return False
    if error.fatal() or not error.retriable():
        raise KafkaException(error)
    print(f"[consumer] kafka: {error.str()} (retrying)", flush=True)
    return False


def _client_error(error: RdKafkaError) -> None:
    """librdkafka's error callback: connection trouble is retried by librdkafka itself (logged here); a fatal
    error is raised from the next consume()."""
    if error.fatal():
        raise KafkaException(error)
    print(f"[consumer] kafka: {error.str()}", flush=True)


class BetConsumer:
    """One consumer-group member with its own DLQ producer and database connection."""

    def __init__(
        self, kafka: KafkaSettings, pg: PostgresSettings, settings: ConsumerSettings, topics: BetsTopics
    ) -> None:
        self.kafka, self.pg, self.settings, self.topics = kafka, pg, settings, topics
        self.counts = Counts()
        self.consumer = Consumer(
            {
                **kafka.librdkafka_config(),
                "group.id": settings.group,
                "client.id": "brook-consumer",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "error_cb": _client_error,
            }
        )
        self.consumer.subscribe([topics.bets], on_assign=ResumeFromDatabase(pg, settings.group))
        self.dlq = KafkaProducer(
            client_id="brook-consumer-dlq", acks="all", enable_idempotence=True, linger_ms=5, **kafka.client_options()
        )
        self.conn = psycopg2.connect(pg.dsn())

    def close(self) -> None:
        self.consumer.close()  # auto-commit is off: nothing is committed here
        self.dlq.close(timeout=30)
        self.conn.close()

    def _dead_letter(self, record: Message, code: str, error: str) -> FutureRecordMetadata:
        """Send one message to the DLQ with its reason and source; the returned future says whether it landed."""
        return self.dlq.send(
            self.topics.dlq,
            key=record.key(),
            value=record.value(),
            headers=headers(
                error_code=code,
                error=error,
                source_topic=record.topic(),
                source_partition=record.partition(),
                source_offset=record.offset(),
            ),
        )

    def _confirm(self, sent: list[FutureRecordMetadata]) -> None:
        """Wait until every DLQ send is acknowledged; raise the first failure (``flush`` alone never raises one)."""
        if not sent:
            return
        self.dlq.flush(timeout=DLQ_ACK_TIMEOUT)
        for future in sent:
            future.get(timeout=DLQ_ACK_TIMEOUT)  # raises the send's KafkaError: offsets stay uncommitted

    def _store(self, batch: InFlight) -> Stored:
        """Insert and commit, with the group's position in the same transaction (refused rows isolated),
        reconnecting with backoff on infrastructure failures only."""
        position = Position(self.settings.group, batch.offsets)
        for attempt in range(1, self.settings.db_retries + 1):
            try:
                return store_batch(
                    self.conn, batch.rows, position, lambda refused: self._dead_letter_refused(batch, refused)
                )
            except psycopg2.Error as err:
                if not is_infrastructure_error(err) or attempt == self.settings.db_retries:
                    raise
                delay = min(2**attempt, 30)
                print(f"[consumer] postgres error ({err.__class__.__name__}: {err}); retry in {delay}s", flush=True)
                time.sleep(delay)
                self._reconnect()
        raise AssertionError("unreachable")

    def _reconnect(self) -> None:
        """A fresh connection; if Postgres is still away the next attempt fails on the closed one and retries."""
        self.conn.close()
        try:
            self.conn = psycopg2.connect(self.pg.dsn())
        except psycopg2.OperationalError as err:
            print(f"[consumer] reconnect failed ({str(err).strip()})", flush=True)

    def prepare(self, records: list[Message]) -> InFlight:
        """Validate a batch and dead-letter its invalid messages (acknowledged before anything is committed)."""
        started = time.monotonic()
        rows: list[str] = []
        sources: list[Message] = []
        sent: list[FutureRecordMetadata] = []
        offsets: dict[Partition, int] = {}
        reasons: Tally[str] = Tally()
        for record in records:
            offsets[record.topic(), record.partition()] = record.offset() + 1
            value = record.value()
            row = fast_row(value)  # copy_row(parse_bet(value)) for the common message, else None
            if row is None:
                try:
                    row = copy_row(parse_bet_fast(value))  # parse_bet's verdict: a Bet or the refusal and its reason
                except InvalidEvent as error:
                    sent.append(self._dead_letter(record, error.code, str(error)))
                    reasons[error.code] += 1
                    continue
            rows.append(row)
            sources.append(record)
        self._confirm(sent)  # raises if a DLQ write failed: offsets stay uncommitted, the batch replays
        return InFlight(
            offsets=offsets,
            consumed=len(records),
            valid=len(rows),
            bad=len(sent),
            rows=rows,
            sources=sources,
            reasons=reasons,
            started=started,
        )

    def _dead_letter_refused(self, batch: InFlight, rejected: list[Rejected]) -> None:
        """Send the rows Postgres refused to the DLQ as ``unstorable`` and wait for every acknowledgement (called
        inside the batch's transaction, on the writer thread: the producer is thread-safe)."""
        self._confirm([self._dead_letter(batch.sources[row.index], UNSTORABLE, row.error) for row in rejected])
        for row in rejected:
            source = batch.sources[row.index]
            where = f"{source.topic()}/{source.partition()}@{source.offset()}"
            print(f"[consumer] unstorable {where}: {row.error}", flush=True)

    def finish(self, batch: InFlight, stored: Stored) -> None:
        """After the database commit (refused rows already dead-lettered): commit this batch's offsets, count."""
        commit = [TopicPartition(topic, partition, offset) for (topic, partition), offset in batch.offsets.items()]
        try:
            self.consumer.commit(offsets=commit, asynchronous=False)
        except KafkaException as err:
            if err.args[0].code() not in REBALANCED:
                raise
            # partitions moved to another member: it replays them, rows collapse
            print(f"[consumer] offsets not committed after a rebalance ({err}); the new owner replays", flush=True)
        self.counts.consumed += batch.consumed
        self.counts.stored += stored.inserted
        self.counts.duplicates += batch.valid - len(stored.rejected) - stored.inserted
        self.counts.dead_lettered += batch.bad
        self.counts.unstorable += len(stored.rejected)
        self.counts.batches += 1
        self._observe(batch, stored)

    def _observe(self, batch: InFlight, stored: Stored) -> None:
        """The finished batch in the Prometheus metrics: a few calls per batch, none per message."""
        CONSUMED.inc(batch.consumed)
        STORED.inc(stored.inserted)
        DUPLICATES.inc(batch.valid - len(stored.rejected) - stored.inserted)
        for reason, n in batch.reasons.items():
            DEAD_LETTERS.labels(reason).inc(n)
        if stored.rejected:
            DEAD_LETTERS.labels(UNSTORABLE).inc(len(stored.rejected))
        BATCH_SECONDS.observe(time.monotonic() - batch.started)
        # A rebalance since the batch was read may have revoked some partitions: only those still owned are asked.
        owned = {(tp.topic, tp.partition) for tp in self.consumer.assignment()}
        for (topic, partition), offset in batch.offsets.items():
            if (topic, partition) not in owned:
                continue
            # cached=True: the high watermark of the last fetch response, no request to the broker.
            _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high >= 0:  # negative: not known yet
                LAG.labels(topic, str(partition)).set(max(high - offset, 0))

    def run(self, stop: Stop, idle_exit: float = 0.0, on_batch: Callable[[Counts], None] | None = None) -> Counts:
        """Consume until stopped (or idle for ``idle_exit`` seconds); the last batch is always finished.

        One batch is written to Postgres on a worker thread while the next is polled and validated (the database
        round trip and Kafka fetching overlap); its offsets are committed from this thread, by explicit offset,
        only once its transaction has committed. At most one batch is in flight.
        """
        batch: list[Message] = []
        batch_started = last_record = time.monotonic()
        next_progress = time.monotonic() + self.settings.progress_seconds
        pending: tuple[InFlight, Future[Stored]] | None = None

        def settle() -> None:
            nonlocal pending
            if pending is not None:
                done, future = pending
                pending = None
                self.finish(done, future.result())  # re-raises a database failure: nothing committed
                if on_batch is not None:
                    on_batch(self.counts)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="brook-db") as writer:
            try:
                while True:
                    polled = self.consumer.consume(
                        self.settings.batch_rows - len(batch), timeout=self.settings.batch_ms / 1e3
                    )
                    now = time.monotonic()
                    records = [message for message in polled if received(message)]
                    if records:
                        if not batch:
                            batch_started = now
                        batch.extend(records)
                        last_record = now
                    due = len(batch) >= self.settings.batch_rows or (
                        batch and now - batch_started >= self.settings.batch_ms / 1e3
                    )
                    if pending is not None and (pending[1].done() or not batch):
                        settle()
                    if batch and (due or stop.requested):
                        ready = self.prepare(batch)
                        batch = []
                        settle()
                        pending = (ready, writer.submit(self._store, ready))
                    if self.settings.progress_seconds > 0 and now >= next_progress:
                        print(f"[consumer] {self.counts.line()}", flush=True)
                        next_progress = now + self.settings.progress_seconds
                    if (
                        not batch
                        and pending is None
                        and (stop.requested or (idle_exit > 0 and now - last_record >= idle_exit))
                    ):
                        return self.counts
            finally:
                if pending is not None:
                    pending[1].cancel()


def run_workers(workers: int, idle_exit: float) -> int:
    """Run ``workers`` single-process members of the group; SIGTERM/SIGINT are passed on, each drains its batch."""
    env = {**os.environ, "BROOK_CONSUMER_WORKERS": "1"}
    command = [sys.executable, "-m", "jobs.bets.consumer", "--exit-when-idle", str(idle_exit)]
    port = int(os.environ.get("BROOK_METRICS_PORT") or 0)  # this process serves it; worker i serves port+1+i
    children = [
        subprocess.Popen(command, env={**env, "BROOK_METRICS_PORT": str(port + 1 + i) if port else "0"})
        for i in range(workers)
    ]

    def forward(signum: int, frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bets.consumer", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--exit-when-idle", type=float, default=0.0, metavar="SECONDS", help="exit after SECONDS without messages"
    )
    args = parser.parse_args(argv)
    kafka, pg, settings = load(KafkaSettings), load(PostgresSettings), load(ConsumerSettings)
    topics = load(BetsTopics)
    if settings.workers > 1:
        return run_workers(settings.workers, args.exit_when_idle)
    stop = Stop()
    try:
        missing = wait_for_tables(pg.dsn(), TABLES, settings.schema_wait_seconds, "consumer")
        if missing:
            waited = f"after BROOK_CONSUMER_SCHEMA_WAIT_SECONDS={settings.schema_wait_seconds:g}"
            print(f"consumer: table(s) {', '.join(missing)} missing {waited}: {MIGRATION_HINT}", file=sys.stderr)
            return 1
        ensure_topics(kafka, {topics.bets: BETS_PARTITIONS, topics.dlq: 1})
        consumer = BetConsumer(kafka, pg, settings, topics)
    except KafkaError as err:
        print(f"consumer: cannot reach Kafka at {kafka.bootstrap} ({err}); is the broker up?", file=sys.stderr)
        return 1
    except psycopg2.OperationalError as err:
        if login_refused(err):
            fix = "check BROOK_PG_USER, BROOK_PG_PASSWORD, BROOK_PG_DATABASE and BROOK_PG_SSLMODE"
            where = f"{pg.host}:{pg.port}"
            print(f"consumer: Postgres at {where} refused the login: {fix} ({err})".strip(), file=sys.stderr)
            return 2
        print(f"consumer: cannot reach Postgres at {pg.host}:{pg.port} ({err})".strip(), file=sys.stderr)
        return 1
    try:
        counts = consumer.run(stop, idle_exit=args.exit_when_idle)
    except (psycopg2.Error, KafkaError, KafkaException) as err:
        print(f"consumer: stopping without committing the current batch: {err}", file=sys.stderr)
        return 1
    finally:
        consumer.close()
    print(f"[consumer] done: {counts.line()}", flush=True)
    summary("consumer", **counts.summary())
    return 0


if __name__ == "__main__":
    run(main, "consumer")
