"""The unbounded bets Flink job killed mid-stream and restarted from its last checkpoint: its four window tables
equal a clean bounded run's over the same topic, and the full bets audit (consumer, Flink, exporter) is green."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobs.bets.audit import kafka_counts
from jobs.bets.contract import BETS_PARTITIONS
from jobs.bets.flink.skeleton import AGGREGATIONS
from jobs.bets.topics import BetsTopics
from jobs.common.kafka import ensure_topics
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings
from tests.faults.bets_steps import audit_bets, bets_env, export
from tests.faults.fault_harness import Job, Stack, caught_up, new_schema, wait_until
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

SUMS = ("bet_status", "top_games", "avg_bet")  # tables whose Σ bets must reach the valid distinct count


def progress(pg: PostgresSettings) -> str:
    sums = {table: scalar(pg, f"SELECT coalesce(sum(bets), 0) FROM {table}") for table in SUMS}
    return f"window sums so far: {sums}; active_users rows: {scalar(pg, 'SELECT count(*) FROM active_users')}"


def windows_complete(pg: PostgresSettings, expected: int) -> bool:
    """Every window emitted: each sum table counts every valid bet, and active_users has a row per window."""
    sums = [scalar(pg, f"SELECT coalesce(sum(bets), 0) FROM {table}") for table in SUMS]
    windows = scalar(pg, "SELECT count(DISTINCT window_start) FROM bet_status")
    return sums == [expected] * len(SUMS) and scalar(pg, "SELECT count(*) FROM active_users") == windows


def test_unbounded_flink_killed_and_restored_from_checkpoint(
    stack: Stack, kafka: KafkaSettings, topics: BetsTopics, pg: PostgresSettings, s3: S3Settings, log_dir: Path
) -> None:
    """The job is killed -9 once it has emitted windows and checkpointed after them (open windows in its state);
    more bets arrive while it is down; it is restarted from its checkpoint and, once it has read everything, stopped
    with drain. Its tables must equal a clean bounded run's, and the whole bets audit must hold."""
    group = topics.bets + "-group"
    checkpoints = log_dir / "checkpoints"
    env = bets_env(stack, topics, pg, s3, group)
    ensure_topics(kafka, {topics.bets: BETS_PARTITIONS, topics.dlq: 1})
    live = {**env, **unbounded_env(checkpoints)}
    before = ("--count", "2000", "--seed", "905", "--rate", "200")
    jobs: list[Job] = [Job("flink-1", "jobs.bets.flink.all", live, log_dir)]
    try:
        jobs.append(Job("producer-1", "jobs.bets.producer", env, log_dir, *before))
        wait_until(
            lambda: scalar(pg, "SELECT count(*) FROM bet_status") >= 5,
            "the first windows in bet_status",
            900,
            diagnose=lambda: jobs[0].tail(),
        )
        emitted = time.time()
        wait_until(lambda: checkpoint_after(checkpoints, emitted) is not None, "a checkpoint after them", 120)
        jobs[0].kill()
        checkpoint = checkpoint_after(checkpoints, emitted)
        assert checkpoint is not None
        windows = scalar(pg, "SELECT count(DISTINCT window_start) FROM bet_status")
        print(f"[faults] killed the job after {windows} windows; restoring from {checkpoint}", flush=True)
        jobs.append(Job("producer-2", "jobs.bets.producer", env, log_dir, "--count", "2000", "--seed", "906"))
        restored = Job("flink-2", "jobs.bets.flink.all", {**live, **restored_env(checkpoint)}, log_dir)
        jobs.append(restored)
        producers = [job for job in jobs if job.name.startswith("producer")]
        for job in producers:
            job.succeed(240)
        produced = sum(job.summary("producer")["sent"] for job in producers)
        valid = kafka_counts(kafka, topics).valid_distinct
        wait_until(
            lambda: caught_up(kafka, topics.bets, "brook-flink-all"),
            "the restored job to commit the end of every partition",
            900,
            diagnose=restored.tail,
        )
        stop_with_drain(restored, log_dir / "savepoints", 600)  # every window fires, as `flink stop --drain`
        assert windows_complete(pg, valid), f"after the drain: {progress(pg)}; {valid} valid bets"
        # The clean reference: the same job, bounded, over the same complete topic into its own schema. Not earlier:
        # it commits offsets to the same consumer group, which the wait above reads.
        clean = new_schema(stack, pg.schema + "_clean")
        reference = {**env, **bounded_env(log_dir / "checkpoints-clean"), "BROOK_PG_SCHEMA": clean.schema}
        jobs.append(Job("flink-clean", "jobs.bets.flink.all", reference, log_dir))
        jobs[-1].succeed(900)
        for table in AGGREGATIONS:
            got, want = rows(pg, f"SELECT * FROM {table}"), rows(clean, f"SELECT * FROM {table}")
            assert got == want, diff(table, got, want)
        print(f"[faults] window tables equal the clean run's ({valid} valid bets)", flush=True)
    finally:
        for job in jobs:
            job.ensure_stopped()

    Job("consumer", "jobs.bets.consumer", env, log_dir, "--exit-when-idle", "5").succeed(240)
    export(env, log_dir)
    audit_bets(stack, topics, pg, s3, produced, "unbounded Flink job killed -9 mid-stream, restored", log_dir, skip=())
