"""Benchmark trials of the telecom pipeline (docs/telecom.md), each against a raw baseline in the same run;
registered in :data:`bench.run.STAGES` and dispatched through :data:`TRIALS` like every other trial.

- ``telecom_generator``: brook = :class:`TelecomGenerator` (simulated history, seed) drawing, masking and encoding
  every event while the platform's produce loop sends it; baseline = the same loop sending the same bytes, drawn
  and encoded before the clock. Same producer settings in both, so the ratio is the generator's own cost.
- ``telecom_windows``: brook = the ``telecom-metrics`` Flink job (1-minute windows → ``real_time_metrics`` and
  ``telecom_late_events``) as a bounded job over a pre-filled topic; baseline = Flink's pass-through of the same
  topic into a blackhole (as for the bets ``flink`` stage). Seconds = Flink's net runtime in both.
- ``telecom_daily``: brook = :func:`jobs.telecom.daily_batch.recompute` for one date over N ``real_time_metrics``
  rows; baseline = one plain ``GROUP BY event_type, region`` over the same rows, fetched. count = input rows.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import psycopg2
from kafka import KafkaProducer

from jobs.common.kafka import ensure_topics
from jobs.common.produce import ProducerSettings, produce, producer_options
from jobs.common.settings import KafkaSettings, PostgresSettings, load
from jobs.telecom.contract import TELECOM_PARTITIONS
from jobs.telecom.daily_batch import recompute
from jobs.telecom.generator import TelecomGenerator, TelecomGeneratorSettings, keyed
from jobs.telecom.topics import TelecomTopics

SEED = 2026
DAY = date(2026, 3, 2)
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 11:00 in Kazakhstan: near the daily mean of the diurnal curve
# Simulated events per second of event time: 20,000 events span ~3 minutes, i.e. 3–4 one-minute windows that the
# 2-minute watermark closes, the shape of a live stream rather than one window.
SIMULATED_RATE = 100.0
COMBINATIONS = 4 * 14  # event types × regions: the rows one window can hold


def stream(n: int) -> Any:
    """The seeded telecom stream as Kafka (key, value) records, lazily."""
    generator = TelecomGenerator(load(TelecomGeneratorSettings), seed=SEED, rate=SIMULATED_RATE, start=START)
    return keyed(iter(generator))


def _producer(kafka: KafkaSettings) -> tuple[KafkaProducer, dict[str, object]]:
    settings = producer_options(load(ProducerSettings))
    return KafkaProducer(**kafka.client_options(), **settings), settings


def generator_trial(variant: str, n: int, kafka: KafkaSettings) -> dict[str, Any]:
    topic = f"bench-telecom-gen-{secrets.token_hex(4)}"
    ensure_topics(kafka, {topic: TELECOM_PARTITIONS})
    records = stream(n) if variant == "brook" else list(itertools.islice(stream(n), n))
    client, settings = _producer(kafka)
    started = time.perf_counter()
    stats = produce(client, topic, records, label="bench-telecom", count=n)
    seconds = time.perf_counter() - started
    client.close()
    if stats.sent != n or stats.failed:
        raise SystemExit(f"telecom generator trial sent {stats.sent} of {n}, {stats.failed} failed")
    return {"count": n, "seconds": seconds, "bytes": stats.bytes, "settings": settings}


def windows_trial(variant: str, n: int, kafka: KafkaSettings, pg: PostgresSettings) -> dict[str, Any]:
    # Imported here, not at the top: bench.stages imports this module's TRIALS.
    from bench.stages import bounded_flink, fresh_schema, jvm_peak_rss_kb, net_runtime, passthrough
    from jobs.telecom.flink.metrics import TelecomFlinkSettings, build

    topic = f"bench-telecom-win-{secrets.token_hex(4)}"
    ensure_topics(kafka, {topic: TELECOM_PARTITIONS})
    client, _ = _producer(kafka)
    produce(client, topic, stream(n), label="bench-telecom-fill", count=n)
    client.close()
    settings = bounded_flink("brook-bench-telecom-")
    if variant == "brook":
        scoped = fresh_schema(pg, "bench_telecom_windows")
        statements = build(kafka, TelecomTopics(events=topic), scoped, settings, load(TelecomFlinkSettings))
    else:
        statements = passthrough(settings, kafka, topic)
    seconds = net_runtime(statements)
    if variant == "brook":
        with psycopg2.connect(scoped.dsn()) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT COALESCE(SUM(event_count), 0) FROM real_time_metrics), "
                "(SELECT COUNT(*) FROM telecom_late_events)"
            )
            counted, late = cur.fetchone()
        if counted + late == 0:
            raise SystemExit("telecom windows trial: the Flink job wrote no window (run jobs.telecom.flink.metrics)")
    details = {**dataclasses.asdict(settings), "simulated_rate": SIMULATED_RATE}
    return {"count": n, "seconds": seconds, "bytes": 0, "jvm_peak_rss_kb": jvm_peak_rss_kb(), "settings": details}


def window_step_seconds(rows: int) -> float:
    """Spacing of synthetic windows so that ``rows`` rows (every event type × region per window) fit in one day."""
    windows = max(1, math.ceil(rows / COMBINATIONS))
    return 86_400 / windows


_SYNTHETIC = """
INSERT INTO real_time_metrics (window_start, window_end, event_type, region, event_count, total_duration,
                               total_data_mb, total_amount)
SELECT %(day)s::timestamptz + make_interval(secs => (i / %(combos)s) * %(step)s),
       %(day)s::timestamptz + make_interval(secs => (i / %(combos)s + 1) * %(step)s),
       (ARRAY['call', 'sms', 'data_session', 'balance_recharge'])[1 + i %% 4],
       'region-' || ((i / 4) %% 14), 1 + i %% 50, i %% 3600, (i %% 1000) / 7.0, (i %% 20) * 500
FROM generate_series(0, %(rows)s - 1) AS i
"""
PLAIN = """
SELECT event_type, region, SUM(event_count), SUM(total_duration), SUM(total_data_mb), SUM(total_amount), COUNT(*)
FROM real_time_metrics
WHERE window_start >= %(day)s::timestamptz AND window_start < %(day)s::timestamptz + interval '1 day'
GROUP BY event_type, region
"""


def daily_trial(variant: str, n: int, pg: PostgresSettings) -> dict[str, Any]:
    from bench.stages import fresh_schema  # here, not at the top: bench.stages imports this module's TRIALS

    scoped = fresh_schema(pg, f"bench_telecom_daily_{variant}")
    day = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    params = {"day": day, "combos": COMBINATIONS, "step": window_step_seconds(n), "rows": n}
    with psycopg2.connect(scoped.dsn()) as conn, conn.cursor() as cur:
        cur.execute(_SYNTHETIC, params)
        cur.execute("ANALYZE real_time_metrics")
    if variant == "brook":
        started = time.perf_counter()
        written = recompute(scoped, DAY)
        seconds = time.perf_counter() - started
        details: dict[str, Any] = {"job": "jobs.telecom.daily_batch.recompute", "rows_written": written}
    else:
        conn = psycopg2.connect(scoped.dsn())
        started = time.perf_counter()
        with conn, conn.cursor() as cur:
            cur.execute(PLAIN, {"day": day})
            written = len(cur.fetchall())
        seconds = time.perf_counter() - started
        conn.close()
        details = {"query": "one GROUP BY event_type, region, rows fetched", "groups": written}
    return {"count": n, "seconds": seconds, "bytes": 0, "settings": details}


TRIALS: dict[str, Callable[..., dict[str, Any]]] = {
    "telecom_generator": lambda v, a: generator_trial(v, a.events, load(KafkaSettings)),
    "telecom_windows": lambda v, a: windows_trial(v, a.events, load(KafkaSettings), load(PostgresSettings)),
    "telecom_daily": lambda v, a: daily_trial(v, a.events, load(PostgresSettings)),
}
