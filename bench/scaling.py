"""Scaling sweep and peak memory of the shipped bets processes: ``python -m bench.run --scaling 100000,1000000``.

For each size N, in order and on the same data: ``python -m jobs.bets.producer --count N`` into a fresh topic,
``python -m jobs.bets.consumer --exit-when-idle 2`` from it into a fresh schema, then ``python -m jobs.bets.exporter``
of those rows into a fresh bucket. Each is the command a pod runs, started as its own process; its time is wall
time from start to exit (the consumer's minus its 2 s idle wait) and its peak RSS is the kernel's for that process
(``wait4`` rusage), so neither includes the benchmark's own data. Process start (~1–2 s of imports) is included,
which flatters large sizes a little; it cannot hide a super-linear cost. The exporter reads rows the consumer wrote
in its own ≤ 5,000-row transactions, as in a deployment (the ``exporter`` stage inserts all rows in one COPY).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import psycopg2

from jobs.bets.topics import BetsTopics
from jobs.common.cli import read_summary
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, load, to_env

IDLE_EXIT_S = 2.0
PROCESSES = ("producer", "consumer", "exporter")
# A size is "linear" while its time per event stays within this factor of the smallest size's.
LINEAR_TOLERANCE = 1.25


@dataclass(frozen=True)
class Point:
    process: str
    events: int
    seconds: float
    peak_rss_mb: float

    @property
    def us_per_event(self) -> float:
        return self.seconds / self.events * 1e6


def linearity(points: list[Point]) -> list[float]:
    """Time per event of each point relative to the smallest size's (1.0 = perfectly linear)."""
    ordered = sorted(points, key=lambda p: p.events)
    first = ordered[0].us_per_event
    return [p.us_per_event / first for p in ordered]


def stops_at(points: list[Point], tolerance: float = LINEAR_TOLERANCE) -> int | None:
    """The smallest size whose time per event exceeds ``tolerance`` × the smallest size's, None if none does."""
    ordered = sorted(points, key=lambda p: p.events)
    for point, ratio in zip(ordered, linearity(ordered), strict=True):
        if ratio > tolerance:
            return point.events
    return None


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MB, stdout) of one process run to its exit; raises with its output if it failed."""
    with tempfile.TemporaryFile(mode="w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[2:])} exited {proc.returncode}:\n{text[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, text


def run_size(n: int, env: dict[str, str]) -> list[Point]:
    """Producer → consumer → exporter of ``n`` events, each as the shipped command; one :class:`Point` each."""
    from bench.stages import fresh_schema  # here: bench.stages is the trial runner, not needed to import this
    from jobs.bets.exporter import ensure_bucket

    kafka, pg, s3 = load(KafkaSettings, env), load(PostgresSettings, env), load(S3Settings, env)
    tag = secrets.token_hex(3)
    topics = BetsTopics(bets=f"bench-scaling-{tag}", dlq=f"bench-scaling-{tag}.dlq")
    scoped = fresh_schema(pg, "bench_scaling")
    store = dataclasses.replace(s3, bucket=f"bench-scaling-{tag}")
    ensure_bucket(store.client(), store.bucket, store.region)
    run_env = {
        **env,
        **to_env(kafka, topics, scoped, store),
        "BROOK_CONSUMER_GROUP": f"bench-scaling-{tag}",
        "BROOK_CONSUMER_WORKERS": "1",
    }
    python = [sys.executable, "-m"]
    points = []
    seconds, rss, _ = _timed([*python, "jobs.bets.producer", "--count", str(n), "--seed", "2026"], run_env)
    points.append(Point("producer", n, seconds, rss))
    seconds, rss, _ = _timed([*python, "jobs.bets.consumer", "--exit-when-idle", str(IDLE_EXIT_S)], run_env)
    with psycopg2.connect(scoped.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM bets")
        stored = cur.fetchone()[0]
    if stored != n:
        raise SystemExit(f"scaling: the consumer stored {stored} of {n} rows")
    points.append(Point("consumer", n, seconds - IDLE_EXIT_S, rss))
    seconds, rss, text = _timed([*python, "jobs.bets.exporter"], run_env)
    if read_summary(text, "exporter")["rows"] != n:
        raise SystemExit(f"scaling: the exporter did not export {n} rows:\n{text[-2000:]}")
    points.append(Point("exporter", n, seconds, rss))
    for point in points:
        print(
            f"[bench] scaling {point.process:<8} {n:>10,} events: {point.seconds:8.1f} s "
            f"{point.us_per_event:7.1f} µs/event, peak RSS {point.peak_rss_mb:.0f} MB",
            flush=True,
        )
    return points


def sweep(sizes: list[int], env: dict[str, str]) -> list[Point]:
    return [point for n in sizes for point in run_size(n, env)]


def table(points: list[Point]) -> str:
    """The Markdown scaling table: per process and size, time, µs/event, the ratio to the smallest size, RSS."""
    lines = [
        "",
        "## Scaling and peak memory of the shipped processes (bench/scaling.py, one run per size)",
        "",
        "| process | events | seconds | µs/event | ratio to smallest size | peak RSS | linear? |",
        "|---|---|---|---|---|---|---|",
    ]
    for process in PROCESSES:
        mine = sorted((p for p in points if p.process == process), key=lambda p: p.events)
        if not mine:
            continue
        stop = stops_at(mine)
        verdict = f"stops at {stop:,}" if stop else f"yes (within {LINEAR_TOLERANCE}×)"
        for point, ratio in zip(mine, linearity(mine), strict=True):
            lines.append(
                f"| {process} | {point.events:,} | {point.seconds:.1f} | {point.us_per_event:.1f} | {ratio:.2f} | "
                f"{point.peak_rss_mb:.0f} MB | {verdict} |"
            )
    return "\n".join(lines) + "\n"
