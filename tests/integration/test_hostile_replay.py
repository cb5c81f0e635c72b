"""A replay file of hostile and valid bets goes through the whole pipeline and the conservation audit passes:
``jobs.bets.producer --input`` → consumer → bounded Flink job → exporter → ``jobs.bets.audit`` (issue 9, "Done
when"). Each hostile case of tests/hostile_events.py is one line; every stage reads its counts from the jobs' JSON
summary lines, and the audit's own recount must match what the contract says about the file."""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.bets.contract import InvalidEvent, parse_bet
from jobs.bets.topics import BetsTopics
from jobs.common.cli import read_summary
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, to_env
from tests.hostile_events import replay_lines

pytestmark = pytest.mark.integration

VALID = 600


def job(module: str, env: dict[str, str], *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.timeout(2400)  # five jobs, one of them Flink: minutes on a loaded CI machine
def test_a_hostile_replay_file_passes_the_audit(
    kafka_settings: KafkaSettings,
    bets_topics: BetsTopics,
    pg_schema: PostgresSettings,
    s3_settings: S3Settings,
    tmp_path: Path,
) -> None:
    lines = replay_lines(VALID, seed=9)
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    s3 = dataclasses.replace(s3_settings, bucket=f"hostile-{secrets.token_hex(4)}")
    env = {
        **os.environ,
        **to_env(kafka_settings, bets_topics, pg_schema, s3),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
        # Bounded: every partition has data up to its end offset, so none may be declared idle. With the default
        # 10 s, a partition read late on a loaded machine was declared idle, the watermark ran ahead on the others
        # and its in-order events became late (294 of 617 counted).
        "BROOK_FLINK_IDLE_TIMEOUT_SECONDS": "0",
    }

    producer = job("jobs.bets.producer", env, "--input", str(path))
    assert producer.returncode == 0, producer.stderr[-3000:]
    produced = read_summary(producer.stdout, "producer")
    assert produced["sent"] == len(lines) and produced["failed"] == 0

    consumer = job("jobs.bets.consumer", env, "--exit-when-idle", "5")
    assert consumer.returncode == 0, consumer.stderr[-3000:]
    consumed = read_summary(consumer.stdout, "consumer")
    verdicts = [_accepts(line) for line in lines]
    assert consumed["consumed"] == len(lines)
    assert consumed["dead_lettered"] == verdicts.count(False)
    assert consumed["stored"] == verdicts.count(True) >= VALID

    flink = job("jobs.bets.flink.all", env, timeout=1800)
    assert flink.returncode == 0, flink.stderr[-5000:]
    exporter = job("jobs.bets.exporter", env)
    assert exporter.returncode == 0, exporter.stderr[-3000:]

    audit = job("jobs.bets.audit", env, "--produced", str(len(lines)), "--expect-exported")
    assert audit.returncode == 0, audit.stdout[-4000:] + audit.stderr[-2000:]
    result = read_summary(audit.stdout, "bets-audit")
    assert result["passed"] is True, audit.stdout


def _accepts(raw: bytes) -> bool:
    try:
        parse_bet(raw)
        return True
    except InvalidEvent:
        return False
