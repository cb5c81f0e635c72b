"""Telecom faults on one live stream: the generator killed -9 and restarted, the unbounded window job killed -9 and
restored from its last checkpoint, then the daily batch killed -9 inside its transaction and rerun.

The stream (module fixture ``live``): the unbounded Flink job runs; the generator produces in wall-clock mode
(as its Deployment does) and is killed mid-stream, and a new generator process takes over; once windows are
emitted and checkpointed the Flink job is killed, a third generator process produces while it is down, and the
job is restarted from its checkpoint and, once it has read everything, stopped with drain (every window fires);
the daily batch runs for each date. A
clean bounded Flink run over the same topic into a second schema is the reference for the window tables.

What "nothing lost" means for a generator restart: the generator is the source, so an event exists for the
pipeline once Kafka acknowledged it. What the killed process had buffered but not delivered never existed; it
printed no summary, so its share of ``produced`` is what reached the topic (recounted). The checks: no event is
in the topic twice (its idempotent producer never duplicates a retried batch) and every event in the topic is
in exactly one window or counted late, and in its day's daily_stats.

Determinism: jitter 0 and a 3 s watermark (events in time order per partition) make "late" impossible, so
the live windows can equal the clean run's exactly, even though a restored Flink job starts without a watermark.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest

from jobs.common.audit import read_topic
from jobs.common.kafka import ensure_topics
from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env
from jobs.local.services import LocalServices
from jobs.telecom.audit import audit, topic_counts
from jobs.telecom.contract import TELECOM_PARTITIONS, parse_telecom
from jobs.telecom.flink.metrics import GROUP_ID
from jobs.telecom.generator import diurnal
from jobs.telecom.topics import TelecomTopics
from tests.faults.fault_harness import (
    Job,
    Stack,
    assert_audit,
    caught_up,
    end_total,
    new_schema,
    settled_end_total,
    wait_until,
)
from tests.faults.flink_steps import (
    bounded_env,
    checkpoint_after,
    diff,
    restored_env,
    rows,
    scalar,
    stop_with_drain,
    unbounded_env,
)

# Three PyFlink JVMs per test: minutes each when the machine is shared, so more than the suite's 900 s default.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(2400)]

EVENTS_PER_SECOND = 150  # after the diurnal curve: the generator's --rate is scaled so the stream has this rate
METRICS = (  # not the row's write time
    "SELECT window_start, window_end, event_type, region, event_count, total_duration, total_data_mb, total_amount "
    "FROM real_time_metrics"
)
LATE = "SELECT event_id, event_time, window_start, window_end, event_type, region FROM telecom_late_events"
STATS = (
    "SELECT date, event_type, region, total_events, total_duration_hours, total_data_tb, total_amount, "
    "avg_duration_seconds, avg_data_per_event_mb, windows FROM daily_stats"
)


@dataclass
class Live:
    """What the faulted stream left behind, for the tests to check."""

    stack: Stack
    kafka: KafkaSettings
    topics: TelecomTopics
    pg: PostgresSettings  # the faulted run's schema
    clean: PostgresSettings  # the clean bounded run's schema
    env: dict[str, str]
    produced: int
    log_dir: Path


def rate_for(events_per_second: float) -> str:
    """The generator's --rate (a daily mean) that gives ``events_per_second`` now, through the diurnal curve."""
    return f"{events_per_second / diurnal(datetime.now(UTC)):.1f}"


def dates(pg: PostgresSettings) -> list[str]:
    return sorted(str(row[0]) for row in rows(pg, "SELECT DISTINCT window_start::date FROM real_time_metrics"))


def daily_batches(env: dict[str, str], pg: PostgresSettings, log_dir: Path, label: str) -> None:
    for day in dates(pg):
        batch_env = {**env, **to_env(pg)}
        Job(f"daily-{label}-{day}", "jobs.telecom.daily_batch", batch_env, log_dir, "--date", day).succeed(120)


def windowed_total(pg: PostgresSettings) -> int:
    return scalar(pg, "SELECT coalesce(sum(event_count), 0) FROM real_time_metrics") + scalar(
        pg, "SELECT count(*) FROM telecom_late_events"
    )


@pytest.fixture(scope="module")
def live(stack: Stack) -> Iterator[Live]:
    kafka = stack.settings()[0]
    tag = secrets.token_hex(3)
    log_dir = LocalServices().paths.logs / "faults" / f"telecom-{tag}"
    log_dir.mkdir(parents=True)
    topics = TelecomTopics(events=f"telecom-faults-{tag}")
    pg = new_schema(stack, f"f_telecom_{tag}")
    checkpoints = log_dir / "checkpoints"
    env = {
        **stack.base_env(),
        **to_env(kafka, topics, pg),
        "BROOK_TELECOM_JITTER_SECONDS": "0",
        "BROOK_TELECOM_WATERMARK_SECONDS": "3",
        "BROOK_TELECOM_WATERMARK_EMIT": "on-event",
        "BROOK_PRODUCER_PROGRESS_SECONDS": "2",
    }
    ensure_topics(kafka, {topics.events: TELECOM_PARTITIONS})
    stream = {**env, **unbounded_env(checkpoints)}
    rate = rate_for(EVENTS_PER_SECOND)
    jobs = [Job("flink-1", "jobs.telecom.flink.metrics", stream, log_dir)]
    try:
        first = Job(
            "generator-1", "jobs.telecom.generator", env, log_dir, "--rate", rate, "--count", "20000", "--seed", "1"
        )
        jobs.append(first)
        wait_until(lambda: end_total(kafka, topics.events) >= 800, "800 events in the topic", 180)
        first.kill()
        reached = settled_end_total(kafka, topics.events)  # the killed run's share: what Kafka acknowledged
        print(f"[faults] generator-1 killed after {reached} events reached Kafka", flush=True)
        second = Job(
            "generator-2", "jobs.telecom.generator", env, log_dir, "--rate", rate, "--count", "1500", "--seed", "2"
        )
        jobs.append(second)

        wait_until(lambda: scalar(pg, "SELECT count(*) FROM real_time_metrics") >= 5, "the first windows", 900)
        emitted = time.time()
        wait_until(lambda: checkpoint_after(checkpoints, emitted) is not None, "a checkpoint after them", 120)
        jobs[0].kill()
        checkpoint = checkpoint_after(checkpoints, emitted)
        assert checkpoint is not None
        print(f"[faults] restoring the telecom job from {checkpoint}", flush=True)
        third = Job(
            "generator-3", "jobs.telecom.generator", env, log_dir, "--rate", rate, "--count", "1000", "--seed", "3"
        )
        jobs.append(third)  # events that arrive while the job is down
        restored = Job("flink-2", "jobs.telecom.flink.metrics", {**stream, **restored_env(checkpoint)}, log_dir)
        jobs.append(restored)
        produced = reached
        for generator in (second, third):
            generator.succeed(240)
            produced += generator.summary("telecom-generator")["sent"]
        _, valid = topic_counts(kafka, topics)
        wait_until(
            lambda: caught_up(kafka, topics.events, GROUP_ID),
            "the restored job to commit the end of every partition",
            900,
            diagnose=restored.tail,
        )
        stop_with_drain(restored, log_dir / "savepoints", 600)  # every window fires, as `flink stop --drain`
        assert windowed_total(pg) == valid, f"after the drain: {windowed_total(pg)} counted of {valid} valid events"
        # The clean reference: the same job, bounded, over the same complete topic into its own schema. Not earlier:
        # it commits offsets to the same consumer group, which the wait above reads.
        clean = new_schema(stack, f"f_telecom_{tag}_clean")
        reference = {**env, **to_env(clean), **bounded_env(log_dir / "checkpoints-clean")}
        jobs.append(Job("flink-clean", "jobs.telecom.flink.metrics", reference, log_dir))
        jobs[-1].succeed(900)
    finally:
        for job in jobs:
            job.ensure_stopped()
    daily_batches(env, pg, log_dir, "live")
    daily_batches(env, clean, log_dir, "clean")
    yield Live(stack, kafka, topics, pg, clean, env, produced, log_dir)


def valid_event_ids(kafka: KafkaSettings, topics: TelecomTopics) -> Iterator[str]:
    """The event_id of every contract-valid message in the topic."""
    for _, _, value, _ in read_topic(kafka, topics.events):
        try:
            yield parse_telecom(value).event_id
        except InvalidEvent:
            continue


def test_telecom_generator_killed_and_restarted(live: Live) -> None:
    ids = Counter(valid_event_ids(live.kafka, live.topics))
    twice = [event_id for event_id, n in ids.items() if n > 1]
    assert not twice, f"{len(twice)} event_ids are in the topic more than once, e.g. {twice[:3]}"
    checks = audit(live.kafka, live.topics, live.pg, live.produced)
    assert_audit(checks, "telecom generator killed -9 mid-stream and restarted (Flink restored too)", live.log_dir)


def test_telecom_flink_killed_and_restored_from_checkpoint(live: Live) -> None:
    for name, query in (("real_time_metrics", METRICS), ("telecom_late_events", LATE)):
        got, want = rows(live.pg, query), rows(live.clean, query)
        assert got == want, diff(name, got, want)
    assert rows(live.pg, STATS) == rows(live.clean, STATS)
    print(f"[faults] telecom windows equal the clean run's: {len(rows(live.pg, METRICS))} rows", flush=True)


def blocked_backends(pg: PostgresSettings, key: int) -> list[int]:
    """Backends waiting for the session advisory lock ``key`` (the trigger below makes the batch wait for it)."""
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s", (key,))
        return [pid for (pid,) in cur.fetchall()]


def backend_gone(pg: PostgresSettings, pid: int) -> bool:
    return scalar(pg, f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(pid)}") == 0


def test_telecom_daily_batch_killed_mid_transaction_and_rerun(live: Live) -> None:
    """A trigger makes the batch's first INSERT wait for a lock the test holds: the batch has deleted the date's
    rows in its transaction and not committed. kill -9 it there: the rows must be as before, and a rerun must
    produce exactly the clean run's daily_stats."""
    pg, env, key = live.pg, {**live.env, **to_env(live.pg)}, 424242
    before = rows(pg, STATS)
    day = dates(pg)[0]
    holder = psycopg2.connect(pg.dsn())
    holder.autocommit = True
    try:
        with holder.cursor() as cur:
            cur.execute(
                "CREATE FUNCTION wait_for_test() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN PERFORM pg_advisory_lock({key}); PERFORM pg_advisory_unlock({key}); RETURN NEW; END $$"
            )
            cur.execute(
                "CREATE TRIGGER wait_for_test BEFORE INSERT ON daily_stats FOR EACH STATEMENT "
                "EXECUTE FUNCTION wait_for_test()"
            )
            cur.execute("SELECT pg_advisory_lock(%s)", (key,))
        batch = Job("daily-killed", "jobs.telecom.daily_batch", env, live.log_dir, "--date", day)
        wait_until(lambda: len(blocked_backends(pg, key)) == 1, "the batch to block inside its transaction", 120)
        [backend] = blocked_backends(pg, key)
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND relation = 'daily_stats'::regclass", (backend,)
            )
            assert cur.fetchone()[0] >= 1, "the batch holds no lock on daily_stats: it has not deleted yet"
        batch.kill()
        assert rows(pg, STATS) == before, "a killed, uncommitted batch changed daily_stats"
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (key,))
        wait_until(lambda: backend_gone(pg, backend), "Postgres to end the killed batch's session", 120)
        assert rows(pg, STATS) == before, "the killed batch's transaction committed after all"
    finally:
        with holder.cursor() as cur:
            cur.execute("DROP TRIGGER IF EXISTS wait_for_test ON daily_stats; DROP FUNCTION IF EXISTS wait_for_test()")
        holder.close()
    Job("daily-rerun", "jobs.telecom.daily_batch", env, live.log_dir, "--date", day).succeed(120)
    assert rows(pg, STATS) == rows(live.clean, STATS)
    checks = audit(live.kafka, live.topics, pg, live.produced)
    assert_audit(checks, "telecom daily batch killed -9 mid-transaction, rerun", live.log_dir)
