"""Steps the Flink fault tests share: an unbounded job's settings, its latest completed checkpoint, and how an
unbounded run is ended so that every window closes.

How a killed job comes back: Flink keeps the latest completed checkpoint under
``<checkpoint dir>/<job id>/chk-<n>/`` (a kill -9 leaves it behind: nobody is left to delete it), and a new job
started with ``BROOK_FLINK_RESTORE_FROM`` (Flink's ``execution.state-recovery.path``) set to that folder resumes
its Kafka offsets and window state. The restarted job is given ``BROOK_FLINK_STARTUP_MODE=latest-offset``: had it
*not* restored, it would skip every event produced while it was down, and its window tables could not equal the
clean run's.

How the stream ends: an unbounded job closes a window only when the watermark passes it, and the contract keeps
rejected events from moving the watermark, so no "final event" can close the last windows without being counted
itself. The test ends the job as an operator would (``flink stop --drain``): once the job has committed the end
offset of every partition (it commits on each checkpoint), a stop-with-savepoint with ``drain`` through the
local cluster's REST endpoint advances the watermark to the end of time, every window fires, and the job
finishes.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import psycopg2

from jobs.common.settings import PostgresSettings
from tests.faults.fault_harness import Job


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


def rest_url(job: Job) -> str:
    """The REST endpoint of a local PyFlink job's mini-cluster, from its JVM log (a free port is chosen per job)."""
    for log in sorted(job.log.parent.glob(f"{job.name}-jvm/*.log")):
        found = re.findall(r"Rest endpoint listening at (\S+):(\d+)", log.read_text(errors="replace"))
        if found:
            return f"http://127.0.0.1:{found[-1][1]}"
    raise AssertionError(f"{job.name}: no REST endpoint in its JVM log yet")


def running_job_id(url: str) -> str:
    with urllib.request.urlopen(f"{url}/jobs", timeout=10) as resp:
        jobs = [j["id"] for j in json.load(resp)["jobs"] if j["status"] == "RUNNING"]
    assert len(jobs) == 1, f"expected one running job at {url}: {jobs}"
    return jobs[0]


def stop_with_drain(job: Job, savepoints: Path, timeout: float) -> None:
    """``flink stop --drain``: a final savepoint, the watermark to the end of time (every window fires), job ends."""
    url = rest_url(job)
    body = json.dumps({"drain": True, "targetDirectory": savepoints.as_uri()}).encode()
    request = urllib.request.Request(
        f"{url}/jobs/{running_job_id(url)}/stop", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 202, resp.status
    job.succeed(timeout)
    print(f"[faults] {job.name} stopped with drain (savepoint in {savepoints})", flush=True)


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
