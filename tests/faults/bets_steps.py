"""Steps the bets fault tests share: the job environment, producing with counted acknowledgements, draining the
consumer, exporting, and the conservation audit (``jobs.bets.audit``) with the stages a test did not run marked."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import psycopg2

from jobs.bets.audit import audit
from jobs.bets.store import stored_position
from jobs.bets.topics import BetsTopics
from jobs.common.kafka import offset_range
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, to_env
from jobs.local.bets_demo import BAD_EVENTS
from tests.faults.fault_harness import Deployment, Job, Stack, assert_audit, caught_up, not_run, wait_until

FLINK_STAGES = ("counted by Flink",)


def bets_env(
    stack: Stack, topics: BetsTopics, pg: PostgresSettings, s3: S3Settings, group: str, **extra: str
) -> dict[str, str]:
    """Every BROOK_* a bets job needs, pointing at the private services and this test's topics/schema/bucket."""
    kafka = stack.settings()[0]
    return {
        **stack.base_env(),
        **to_env(kafka, topics, pg, s3),
        "BROOK_CONSUMER_GROUP": group,
        "BROOK_CONSUMER_PROGRESS_SECONDS": "2",
        "BROOK_PRODUCER_PROGRESS_SECONDS": "2",
        **extra,
    }


def write_bad_events(path: Path, count: int) -> Path:
    """``count`` invalid messages (the demo's kinds: malformed JSON, negative amount, missing field, …)."""
    path.write_bytes(b"\n".join(BAD_EVENTS[i % len(BAD_EVENTS)] for i in range(count)) + b"\n")
    return path


def acknowledged(producer: Deployment) -> int:
    """Events the producer runs report as acknowledged by Kafka (sent − failed, from each run's summary line)."""
    total = 0
    for run in producer.runs:
        try:
            done = run.summary("producer")
        except LookupError:
            raise AssertionError(f"{run.name} printed no summary line: its count is unknown\n{run.tail()}") from None
        total += done["sent"] - done["failed"]
    return total


def produce_bad(env: dict[str, str], log_dir: Path, count: int) -> int:
    """Replay ``count`` invalid messages through the producer; return how many Kafka acknowledged."""
    job = Job(
        "producer-bad",
        "jobs.bets.producer",
        env,
        log_dir,
        "--input",
        str(write_bad_events(log_dir / "bad.jsonl", count)),
    )
    job.succeed(120)
    done = job.summary("producer")
    return done["sent"] - done["failed"]


def drain(
    kafka: KafkaSettings,
    topics: BetsTopics,
    group: str,
    consumers: list[Deployment],
    timeout: float = 240,
    pg: PostgresSettings | None = None,
) -> None:
    """Wait until the consumer group has committed every offset of the topic, restarting crashed consumers.

    With ``pg``, the group's positions in the database count too: they are committed with the rows, while Kafka's
    commit follows. A member killed between the two leaves Kafka's offsets behind on partitions with nothing left
    to consume, which no later batch commits (jobs/bets/consumer.py, ResumeFromDatabase)."""
    wait_until(
        lambda: caught_up(kafka, topics.bets, group) or (pg is not None and stored_up_to_end(kafka, pg, topics, group)),
        f"consumer group {group} to commit the end of {topics.bets}",
        timeout,
        tend=consumers,
        diagnose=lambda: "\n".join(c.current.tail(15) for c in consumers),
    )


def stored_up_to_end(kafka: KafkaSettings, pg: PostgresSettings, topics: BetsTopics, group: str) -> bool:
    """The group's positions in the database (``consumer_offsets``) are at the end of every partition of bets."""
    ends = {(tp.topic, tp.partition): end for tp, (_, end) in offset_range(kafka, topics.bets).items()}
    with closing(psycopg2.connect(pg.dsn())) as conn:
        stored = stored_position(conn, group, ends)
    return all(stored.get(tp, 0) >= end for tp, end in ends.items())


def export(env: dict[str, str], log_dir: Path, name: str = "exporter", **extra: str) -> Job:
    job = Job(name, "jobs.bets.exporter", {**env, **extra}, log_dir)
    job.succeed(240)
    return job


def audit_bets(
    stack: Stack,
    topics: BetsTopics,
    pg: PostgresSettings,
    s3: S3Settings,
    produced: int,
    fault: str,
    log_dir: Path,
    skip: tuple[str, ...] = FLINK_STAGES,
    why: str = "no Flink job in this test",
) -> None:
    """The bets conservation audit, every event exported; ``skip`` rows are shown but not checked."""
    checks = audit(stack.settings()[0], topics, pg, s3, produced, expect_exported=True)
    assert_audit(not_run(checks, skip, why) if skip else checks, fault, log_dir)
