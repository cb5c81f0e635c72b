"""Steps the Flink fault tests share: an unbounded job's settings, its latest completed checkpoint, and the final
event that lets every window close in an unbounded run.

How a killed job comes back: Flink keeps the latest completed checkpoint under
``<checkpoint dir>/<job id>/chk-<n>/`` (a kill -9 leaves it behind: nobody is left to delete it), and a new job
started with ``BROOK_FLINK_RESTORE_FROM`` (Flink's ``execution.state-recovery.path``) set to that folder resumes
its Kafka offsets and window state. The restarted job is given ``BROOK_FLINK_STARTUP_MODE=latest-offset``: had it
*not* restored, it would skip every event produced while it was down, and its window tables could not equal the
clean run's.

How the last windows close: an unbounded job closes a window when the watermark passes it. The test sends, to
every partition, one final event an hour ahead that the contract rejects (so it is counted nowhere but the DLQ)
but whose event time the source reads: the watermark, the minimum over the partitions, moves past every real
window. Idleness is switched off (``BROOK_FLINK_IDLE_TIMEOUT_SECONDS=0``): on a loaded machine a partition the
job reads slowly would be declared idle, the watermark would jump to the final event, and that partition's
remaining events would be dropped as late.
"""

from __future__ import annotations

from pathlib import Path

import psycopg2
from kafka import KafkaProducer

from jobs.common.settings import KafkaSettings, PostgresSettings


def unbounded_env(checkpoints: Path) -> dict[str, str]:
    """A small, fast, unbounded Flink job: 1 s windows, a checkpoint every second."""
    return {
        "BROOK_FLINK_BOUNDED": "false",
        "BROOK_FLINK_CHECKPOINT_DIR": checkpoints.as_uri(),
        "BROOK_FLINK_CHECKPOINT_INTERVAL_MS": "1000",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_IDLE_TIMEOUT_SECONDS": "0",
        "BROOK_WINDOW_SECONDS": "1",
        "BROOK_FLINK_SINK_FLUSH_MS": "200",
    }


def restored_env(checkpoint: Path) -> dict[str, str]:
    return {"BROOK_FLINK_RESTORE_FROM": checkpoint.as_uri(), "BROOK_FLINK_STARTUP_MODE": "latest-offset"}


def bounded_env(checkpoints: Path) -> dict[str, str]:
    """The clean reference run: the same job, bounded, from the earliest offset (every window closes at the end)."""
    return {
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_CHECKPOINT_DIR": checkpoints.as_uri(),
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_IDLE_TIMEOUT_SECONDS": "0",
        "BROOK_WINDOW_SECONDS": "1",
    }


def send_final_events(kafka: KafkaSettings, topic: str, value: bytes) -> int:
    """``value`` once to every partition of ``topic`` (see the module docstring); returns how many were acknowledged."""
    producer = KafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    try:
        partitions = sorted(producer.partitions_for(topic))
        sent = [producer.send(topic, value=value, partition=partition) for partition in partitions]
        producer.flush()
        return sum(1 for future in sent if future.get(timeout=60))
    finally:
        producer.close()


def completed_checkpoints(root: Path) -> list[Path]:
    """Every completed checkpoint folder under ``root`` (one with ``_metadata``), oldest first."""
    return sorted((meta.parent for meta in root.glob("*/chk-*/_metadata")), key=lambda p: p.stat().st_mtime)


def checkpoint_after(root: Path, moment: float) -> Path | None:
    """The latest checkpoint completed after ``moment`` (time.time()), if any."""
    done = [path for path in completed_checkpoints(root) if (path / "_metadata").stat().st_mtime > moment]
    return done[-1] if done else None


def rows(pg: PostgresSettings, query: str) -> set[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(query)
        return set(cur.fetchall())


def scalar(pg: PostgresSettings, query: str) -> int:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(query)
        return int(cur.fetchone()[0])


def diff(name: str, got: set[tuple], want: set[tuple]) -> str:
    """A readable difference between two tables' rows (first few of each side)."""
    missing, extra = sorted(want - got, key=str)[:5], sorted(got - want, key=str)[:5]
    return f"{name}: {len(got)} rows vs {len(want)} in the clean run; missing {missing}; unexpected {extra}"
