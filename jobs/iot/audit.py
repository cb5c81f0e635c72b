"""The IoT conservation audit: rows and operations in the source table = change events in Kafka = what the
windows and alerts account for, recounted from the operational table (never from the job's own numbers).

Rows: the simulator's inserts, updates and deletes (its summary) against the live rows of ``iot_readings``.
Kafka: the change topic re-read without a consumer group, its events counted per operation (``c``/``r`` inserts,
``u``, ``d``), distinct by (operation, reading_id, LSN) so an at-least-once redelivery is reported, not counted
twice; unusable messages are counted apart and must equal the dead letters.
Windows: Σ reading_count = live rows; every (minute, device, sensor) recounted in SQL from ``iot_readings``
(count, min, max, avg, last by event time) must equal its ``iot_windows`` row, and no other row may exist.
Alerts: ``iot_alerts`` = the live readings outside their sensor's alert band (:mod:`jobs.iot.contract`).
"""

from __future__ import annotations

import json
from collections import Counter

import psycopg2

from jobs.common.audit import Check, read_topic
from jobs.common.settings import KafkaSettings, PostgresSettings
from jobs.iot.contract import SENSORS

RECOUNT = """
WITH r AS (
  SELECT date_trunc('minute', event_time AT TIME ZONE 'UTC') AS window_start, device_id, sensor, value,
         row_number() OVER (PARTITION BY date_trunc('minute', event_time AT TIME ZONE 'UTC'), device_id, sensor
                            ORDER BY event_time DESC, reading_id DESC) AS rn
  FROM iot_readings
), w AS (
  SELECT window_start, device_id, sensor, count(*) AS n, min(value) AS lo, max(value) AS hi, avg(value) AS mean,
         max(value) FILTER (WHERE rn = 1) AS last
  FROM r GROUP BY window_start, device_id, sensor
)
SELECT count(*) FILTER (WHERE w.n IS NULL OR i.reading_count IS NULL OR w.n <> i.reading_count OR w.lo <> i.min_value
                        OR w.hi <> i.max_value OR abs(w.mean - i.avg_value) > 1e-9 * greatest(1, abs(w.mean))
                        OR w.last <> i.last_value
                        OR i.window_end <> i.window_start + interval '1 minute'),
       count(w.n), count(i.reading_count)
FROM w FULL JOIN iot_windows i USING (window_start, device_id, sensor)
"""


def kafka_events(kafka: KafkaSettings, topic: str) -> tuple[Counter[str], int, int]:
    """(distinct change events per op, redelivered duplicates, unusable messages) of the change topic."""
    ops: Counter[str] = Counter()
    seen: set[tuple[str, int, int]] = set()
    duplicates = unusable = 0
    for _, _, value, _ in read_topic(kafka, topic):
        try:
            event = json.loads(value) if value is not None else None
            op = event["op"]
            image = event["before"] if op == "d" else event["after"]
            key = (op, int(image["reading_id"]), int(event["source"]["lsn"]))
        except (ValueError, TypeError, KeyError):
            unusable += 1
            continue
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        ops["c" if op == "r" else op] += 1
    return ops, duplicates, unusable


def audit(
    pg: PostgresSettings, kafka: KafkaSettings, topic: str, inserted: int, updated: int, deleted: int, hostile: int
) -> list[Check]:
    """The check rows (see the module docstring); ``hostile``: unusable messages written into the topic."""
    ops, duplicates, unusable = kafka_events(kafka, topic)
    bands = " OR ".join(
        f"(sensor = '{name}' AND (value > {s.alert_high!r} OR value < {s.alert_low!r}))" for name, s in SENSORS.items()
    )
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM iot_readings")
        live = cur.fetchone()[0]
        cur.execute("SELECT coalesce(sum(reading_count), 0), count(*) FROM iot_windows")
        total, windows = cur.fetchone()
        counted = int(total)  # sum(bigint) is numeric
        cur.execute(RECOUNT)
        mismatched, recounted, _ = cur.fetchone()
        cur.execute(f"SELECT count(*) FROM iot_readings WHERE {bands}")
        beyond = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM iot_alerts")
        alerts = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM iot_dead_letters")
        dead = cur.fetchone()[0]
    conn.close()
    return [
        Check("source: readings inserted", inserted),
        Check("source: readings updated (corrections)", updated),
        Check("source: readings deleted (retractions)", deleted),
        Check("source: live rows in iot_readings", live, inserted - deleted, "inserted - deleted"),
        Check("kafka: insert events (c, r)", ops["c"], inserted, "= inserted"),
        Check("kafka: update events (u)", ops["u"], updated, "= updated"),
        Check("kafka: delete events (d)", ops["d"], deleted, "= deleted"),
        Check("kafka: redelivered duplicates (not counted)", duplicates),
        Check("kafka: unusable messages", unusable, hostile, "= hostile messages written"),
        Check("windows: Σ reading_count", counted, ops["c"] - ops["d"], "= insert events - delete events"),
        Check("windows: rows", windows, recounted, "= windows recounted from iot_readings"),
        Check("windows: rows differing from the recount", mismatched, 0, "count/min/max/avg/last per window"),
        Check("alerts: rows in iot_alerts", alerts, beyond, "= live readings outside the alert band"),
        Check("dead letters: rows in iot_dead_letters", dead, unusable, "= unusable messages"),
    ]
