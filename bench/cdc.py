"""Benchmark trials of the two CDC/ELT pipelines (issue 13): IoT capture through Debezium, cinema ``dbt build``.

Run by ``python -m bench.stages <stage> <variant> --events N`` like every other trial (one process per trial, one
``BENCH_RESULT`` line); registered in :data:`bench.run.STAGES` and dispatched through :data:`TRIALS`.

- ``cdc``: brook = the rows INSERTed into ``iot_readings`` (batches of 500, one commit each, as the simulator does)
  on the IoT Postgres, clocked until the Debezium connector on the local Kafka Connect worker has put one change
  event per row in the change topic (end offsets polled every 0.1 s); baseline = the same rows as JSON produced
  straight to a topic with kafka-python and the platform's producer settings. The IoT Postgres and the Connect
  worker are started when down (``BROOK_LOCAL_IOT_PG_PORT``, ``BROOK_LOCAL_IOT_CONNECT_PORT``) and stopped again by
  the trial that started them; start-up, the fresh table and the connector's registration happen before the clock.
- ``dbt_10k`` / ``dbt_100k``: brook = ``dbt build`` of the cinema project (models and tests) on N generated player
  events in a private schema of the shared Postgres; baseline = one SQL aggregation over the same raw events (the
  film-hour grouping of ``mart_film_hourly``: count, distinct sessions, sum of positions).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg2
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from psycopg2.extras import execute_values

from jobs.cinema import store
from jobs.cinema.generator import Generator, write_catalogue
from jobs.cinema.marts import PROJECT, DbtSettings, build
from jobs.common.kafka import ensure_topics
from jobs.common.migrate import migrate
from jobs.common.produce import ProducerSettings, produce, producer_options
from jobs.common.rules import encode
from jobs.common.settings import KafkaSettings, PostgresSettings, load, to_env
from jobs.iot import connector
from jobs.iot.simulator import series
from jobs.iot.topics import IotTopics
from jobs.local.iot_connect import ConnectWorker
from jobs.local.iot_demo import delete_topic, fresh
from jobs.local.iot_postgres import IotLocalSettings, instance, up
from jobs.local.services import LocalServices

SEED = 2026
INSERT_BATCH = 500  # jobs/iot/simulator.py's batch: one transaction per 500 rows
COLUMNS = ("device_id", "device_type", "site", "sensor", "value", "unit", "event_time")
EVENTS_PER_VIEWER = 20  # about the cinema generator's mean over 14 days (seed 2026): the first guess of viewers
BASELINE_SQL = (
    "SELECT film_id, date_trunc('hour', event_time) AS hour, count(*), count(DISTINCT session_id), sum(position_s) "
    "FROM cinema_events GROUP BY 1, 2"
)


def readings(n: int) -> list[tuple[Any, ...]]:
    """``n`` simulator rows (seeded): 50 devices over as many minutes as it takes, cut at ``n``."""
    minutes = 10
    while len(rows := series(random.Random(SEED), 50, minutes, 10)) < n:
        minutes *= 2
    return rows[:n]


def end_offsets(consumer: KafkaConsumer, topic: str) -> int:
    """Messages in ``topic`` (sum of its partitions' end offsets; 0 while the topic does not exist yet)."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        consumer.topics()  # refresh the metadata: Connect creates the topic on the first change event
        return 0
    return sum(consumer.end_offsets([TopicPartition(topic, p) for p in partitions]).values())


@contextmanager
def iot_pipeline(kafka: KafkaSettings) -> Iterator[tuple[PostgresSettings, IotTopics, ConnectWorker]]:
    """IoT Postgres and Connect worker up (started here when down, stopped again at the end), an empty
    ``iot_readings`` and the connector registered and streaming into a change topic of its own; afterwards the
    connector, its slot and the topic are removed."""
    local = load(IotLocalSettings)
    inst = instance(local.pg_port)
    worker = ConnectWorker(LocalServices().paths.home, local.connect_port, kafka.bootstrap)
    started_here: list[Any] = []
    if not inst.running():
        started_here.append(inst)
    up(inst)
    if not worker.running():
        started_here.append(worker)
        worker.start()
    topics = IotTopics(prefix=f"bench_cdc_{secrets.token_hex(4)}")
    try:
        yield fresh(inst, worker, kafka, topics), topics, worker
    finally:
        connector.ConnectApi(worker.url).remove(connector.CONNECTOR)
        connector.drop_slot(inst.settings().dsn())
        delete_topic(kafka, topics.changes)
        for thing in reversed(started_here):
            if isinstance(thing, ConnectWorker):
                thing.stop()
            else:
                thing.down()


def cdc_trial(variant: str, n: int, kafka: KafkaSettings) -> dict[str, Any]:
    rows = readings(n)
    if variant == "baseline":
        return _produce_json(rows, kafka)
    with iot_pipeline(kafka) as (pg, topics, worker):
        consumer = KafkaConsumer(**kafka.client_options())
        conn = psycopg2.connect(pg.dsn())
        sql = f"INSERT INTO iot_readings ({', '.join(COLUMNS)}) VALUES %s"
        started = time.perf_counter()
        with conn.cursor() as cur:
            for at in range(0, n, INSERT_BATCH):
                execute_values(cur, sql, rows[at : at + INSERT_BATCH], page_size=INSERT_BATCH)
                conn.commit()
        inserted = time.perf_counter() - started
        deadline = time.monotonic() + 600
        while (got := end_offsets(consumer, topics.changes)) < n:
            if time.monotonic() > deadline:
                raise SystemExit(f"after 600 s {topics.changes} holds {got} of {n} change events: see {worker.log}")
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        conn.close()
        consumer.close()
        return {
            "count": n,
            "seconds": seconds,
            "bytes": 0,
            "insert_seconds": inserted,
            "settings": {"insert_batch": INSERT_BATCH, "connector": connector.fixed_config(), "poll_s": 0.1},
        }


def _produce_json(rows: list[tuple[Any, ...]], kafka: KafkaSettings) -> dict[str, Any]:
    """The rows as JSON objects keyed by device, produced with the platform's producer settings."""
    data = [
        (row[0].encode(), json.dumps(dict(zip(COLUMNS, row, strict=True)), default=datetime.isoformat).encode())
        for row in rows
    ]
    topic = f"bench-cdc-raw-{secrets.token_hex(4)}"
    ensure_topics(kafka, {topic: 1})  # one partition, as the broker creates Debezium's change topic
    settings = producer_options(load(ProducerSettings))
    client = KafkaProducer(**kafka.client_options(), **settings)
    started = time.perf_counter()
    produce(client, topic, data, label="bench-cdc-raw")
    seconds = time.perf_counter() - started
    client.close()
    delete_topic(kafka, topic)
    return {"count": len(rows), "seconds": seconds, "bytes": sum(len(v) for _, v in data), "settings": settings}


def generator(n: int) -> Generator:
    """The seeded cinema generator with just enough viewers (whole sessions, 14 days) for at least ``n`` events."""
    viewers = max(1, round(n / EVENTS_PER_VIEWER))
    while True:
        gen = Generator(SEED, viewers, 25, 14, datetime(2026, 3, 1, tzinfo=UTC))
        got = sum(1 for _ in gen.sessions())
        if got >= n:
            return Generator(SEED, viewers, 25, 14, datetime(2026, 3, 1, tzinfo=UTC))
        viewers = max(viewers + 1, round(viewers * n / got))


def dbt_trial(variant: str, n: int, pg: PostgresSettings) -> dict[str, Any]:
    """N cinema events in a fresh schema (not timed), then ``dbt build`` (brook) or :data:`BASELINE_SQL`."""
    schema = f"bench_dbt_{variant}"
    gen = generator(n)
    base = dataclasses.replace(pg, schema="public")
    with psycopg2.connect(base.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema}, {schema}_staging, {schema}_marts CASCADE; CREATE SCHEMA {schema}")
    conn.close()
    scoped = dataclasses.replace(pg, schema=schema)
    migrate(scoped.dsn(), [PROJECT.parent / "sql"])
    conn = psycopg2.connect(scoped.dsn())
    write_catalogue(conn, gen)
    counts = store.load(conn, [encode(event) for event in gen.sessions()])
    with conn, conn.cursor() as cur:
        cur.execute("ANALYZE")
    count = counts.loaded
    if variant == "baseline":
        started = time.perf_counter()
        with conn, conn.cursor() as cur:
            cur.execute(BASELINE_SQL)
            groups = len(cur.fetchall())
        seconds = time.perf_counter() - started
        conn.close()
        return {"count": count, "seconds": seconds, "bytes": 0, "settings": {"sql": BASELINE_SQL, "groups": groups}}
    conn.close()
    dbt_bin = str(LocalServices().paths.home / "venv" / "dbt" / "bin" / "dbt")
    cfg = DbtSettings(bin=dbt_bin, schema=schema, work_dir=tempfile.mkdtemp(prefix="brook-bench-dbt-"))
    started = time.perf_counter()
    # BROOK_BENCH_DBT_EXCLUDE: dbt node selection left out (e.g. the quadratic raw-events test at 100k, see
    # bench/results/2026-11-28-cdc.md); recorded in the settings
    exclude = os.environ.get("BROOK_BENCH_DBT_EXCLUDE", "")
    result = build(scoped, cfg, *(["--exclude", exclude] if exclude else []))
    seconds = time.perf_counter() - started
    shutil.rmtree(cfg.work_dir, ignore_errors=True)
    if not result.ok:
        raise SystemExit(f"dbt build failed: {result.failures}\n{result.output[-3000:]}")
    return {
        "count": count,
        "seconds": seconds,
        "bytes": 0,
        "settings": {
            "viewers": len(gen.viewers),
            "dbt": "build (models + tests), threads 2",
            "exclude": exclude,
            **result.statuses,
        },
    }


def window_latency_trial(seconds: int, kafka: KafkaSettings, rate: float) -> dict[str, Any]:
    """Rows committed one by one at ``rate`` rows/s for ``seconds`` into ``iot_readings`` → Debezium → the unbounded
    Flink job → ``iot_windows``; a row's latency = when its window row first counts it − its commit. The windows
    are a GROUP BY re-emitted on every change (jobs/iot/flink/windows.py), so no watermark holds a row back: what
    bounds it is Debezium's poll, the Kafka source, the job and the JDBC sink's flush (shipped settings)."""
    rows = readings(int(seconds * rate) + 1)
    with iot_pipeline(kafka) as (pg, topics, _):
        env = {
            **os.environ,
            **to_env(pg, topics),
            "BROOK_FLINK_BOUNDED": "false",
            "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
            "BROOK_FLINK_CHECKPOINT_DIR": f"file:///tmp/{topics.prefix}-checkpoints",
        }
        flink = subprocess.Popen(
            [sys.executable, "-m", "jobs.iot.flink.windows"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        conn = psycopg2.connect(pg.dsn())
        conn.autocommit = True
        sql = f"INSERT INTO iot_readings ({', '.join(COLUMNS)}) VALUES %s"
        committed: dict[tuple[Any, ...], list[float]] = {}  # (minute, device, sensor) → commit times, in order
        visible: dict[tuple[Any, ...], list[float]] = {}
        try:
            with conn.cursor() as cur:
                execute_values(cur, sql, [rows[0]])  # warm-up: the clock starts once the job has shown a window
                deadline = time.monotonic() + 300
                while not _windows(cur):
                    if flink.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the IoT Flink job showed no window: run jobs.iot.flink.windows by hand")
                    time.sleep(0.2)
                _poll(cur, committed, visible)
                started = time.time()
                for count, row in enumerate(rows[1:], start=1):
                    if time.time() - started >= seconds:
                        break
                    execute_values(cur, sql, [row])  # autocommit: one transaction per row
                    key = (row[6].replace(second=0, microsecond=0).replace(tzinfo=None), row[0], row[3])
                    committed.setdefault(key, []).append(time.time())
                    if count % max(1, int(rate / 5)) == 0:
                        _poll(cur, committed, visible)
                    ahead = count / rate - (time.time() - started)
                    if ahead > 0:
                        time.sleep(ahead)
                deadline = time.monotonic() + 60
                while sum(map(len, visible.values())) < sum(map(len, committed.values())):
                    if time.monotonic() > deadline:
                        break
                    _poll(cur, committed, visible)
                    time.sleep(0.1)
        finally:
            os.killpg(flink.pid, signal.SIGTERM)
            flink.wait(timeout=60)
            conn.close()
            shutil.rmtree(f"/tmp/{topics.prefix}-checkpoints", ignore_errors=True)
    latencies = sorted(
        v - c for key, times in committed.items() for c, v in zip(times, visible.get(key, []), strict=False)
    )
    total = sum(map(len, committed.values()))
    if len(latencies) < total:
        raise SystemExit(f"only {len(latencies)} of {total} rows reached iot_windows within 60 s of the last commit")
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {
        "count": len(latencies),
        "seconds": seconds,
        "bytes": 0,
        "p50_s": pick(0.50),
        "p99_s": pick(0.99),
        "max_s": latencies[-1],
        "window_s": 60,
        "settings": {"rate": rate, "flink": "shipped defaults, unbounded", "poll_s": round(1 / 5, 2)},
    }


def _windows(cur: Any) -> list[tuple[Any, ...]]:
    cur.execute("SELECT window_start, device_id, sensor, reading_count FROM iot_windows")
    return cur.fetchall()


def _poll(cur: Any, committed: dict[tuple[Any, ...], list[float]], visible: dict[tuple[Any, ...], list[float]]) -> None:
    """Stamp ``now`` on every committed row its window's reading_count now includes (inserts only: counts grow)."""
    now = time.time()
    for start, device, sensor, count in _windows(cur):
        key = (start, device, sensor)
        seen = visible.setdefault(key, [])
        wanted = min(count, len(committed.get(key, [])))
        seen.extend([now] * (wanted - len(seen)))


TRIALS: dict[str, Callable[..., dict[str, Any]]] = {
    "cdc": lambda v, a: cdc_trial(v, a.events, load(KafkaSettings)),
    "dbt_10k": lambda v, a: dbt_trial(v, a.events, load(PostgresSettings)),
    "dbt_100k": lambda v, a: dbt_trial(v, a.events, load(PostgresSettings)),
    "iot_window_latency": lambda v, a: window_latency_trial(a.events, load(KafkaSettings), a.rate),
}
