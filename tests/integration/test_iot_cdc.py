"""The IoT CDC pipeline on real services: Debezium on a local Kafka Connect worker against a private Postgres
(``wal_level=logical``, port 15448, worker on 18093, topic prefix ``test_iot``), then the Flink job, bounded.

One connector and one change topic for the module (a worker start costs ~15 s, a Flink run ~1-2 min on 2 cores):
the known-answer rows are written once (fixture ``known``), the restart test adds its own device, and the Flink
test, last, reads the whole topic: known-answer windows and alerts, a redelivered event without effect, garbage in
the dead letters with its reason, and every window equal to its recount from the table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaProducer

from jobs.common.audit import read_topic
from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env
from jobs.iot.audit import RECOUNT, kafka_events
from jobs.iot.contract import parse_reading
from jobs.iot.topics import IotTopics
from jobs.local.iot_connect import ConnectWorker
from jobs.local.iot_demo import HOSTILE, fresh, wait_captured, write_hostile
from jobs.local.iot_postgres import instance, up
from jobs.local.services import ServiceError

pytestmark = pytest.mark.integration
PG_PORT, CONNECT_PORT = 15448, 18093
TOPICS = IotTopics(prefix="test_iot")
COLUMNS = "device_id, device_type, site, sensor, value, unit, event_time"

# (name, event time, value) of device ka-01's temperature readings, all inserted first.
KNOWN = [
    ("r1", "2026-01-01T00:00:10Z", 20.0),
    ("r2", "2026-01-01T00:00:20Z", 22.0),
    ("r3", "2026-01-01T00:00:50Z", 50.0),  # an alert (> 45), corrected to 24.0: no longer one
    ("r4", "2026-01-01T00:00:40Z", 30.0),
    ("r5", "2026-01-01T00:01:05Z", 10.0),  # corrected to 00:00:05: moves to the first window
    ("r6", "2026-01-01T00:01:30Z", -25.0),  # an alert (< -20), retracted: the 00:01 window empties
    ("r7", "2026-01-01T00:02:00Z", 21.0),  # corrected to 60.0: becomes an alert
]
# The windows a reader expects after the corrections and the retraction (no 00:01 row: it has no readings left).
EXPECTED_WINDOWS = {
    ("2026-01-01 00:00:00", "2026-01-01 00:01:00", "ka-01", "temperature", 5, 10.0, 30.0, 21.2, 24.0),
    ("2026-01-01 00:02:00", "2026-01-01 00:03:00", "ka-01", "temperature", 1, 60.0, 60.0, 60.0, 60.0),
    ("2026-01-01 00:00:00", "2026-01-01 00:01:00", "ka-02", "humidity", 1, 50.0, 50.0, 50.0, 50.0),
}


def execute(pg: PostgresSettings, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        found = cur.fetchall() if cur.description else []
    conn.close()
    return found


def insert(pg: PostgresSettings, rows: list[tuple]) -> list[int]:
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    flat = tuple(value for row in rows for value in row)
    found = execute(pg, f"INSERT INTO iot_readings ({COLUMNS}) VALUES {placeholders} RETURNING reading_id", flat)
    return [r[0] for r in found]


@pytest.fixture(scope="module")
def cdc(kafka_settings: KafkaSettings) -> Iterator[tuple[PostgresSettings, ConnectWorker]]:
    """The private Postgres and the worker (started if down, stopped again if started here), fresh, connector on."""
    inst = instance(PG_PORT)
    worker = ConnectWorker(Path(os.environ.get("BROOK_HOME", ".brook")), CONNECT_PORT, kafka_settings.bootstrap)
    started = [thing for thing, running in ((inst, inst.running()), (worker, worker.running())) if not running]
    try:
        up(inst)
        worker.start()
    except ServiceError as err:
        pytest.fail(f"IoT Postgres or Kafka Connect failed to start:\n{err}", pytrace=False)
    pg = fresh(inst, worker, kafka_settings, TOPICS)
    yield pg, worker
    for thing in reversed(started):
        thing.stop() if thing is worker else thing.down()


@pytest.fixture(scope="module")
def known(cdc: tuple[PostgresSettings, ConnectWorker], kafka_settings: KafkaSettings) -> dict[str, int]:
    """Device ka-01's readings inserted, three corrected, one retracted; ka-02's one reading. Name → reading_id."""
    pg, _ = cdc
    rows = [("ka-01", "weather_station", "lab", "temperature", value, "celsius", at) for _, at, value in KNOWN]
    ids = dict(zip([name for name, _, _ in KNOWN], insert(pg, rows), strict=True))
    ids["k2"] = insert(pg, [("ka-02", "weather_station", "lab", "humidity", 50.0, "percent", "2026-01-01T00:00:00Z")])[
        0
    ]
    execute(pg, "UPDATE iot_readings SET value = 24.0 WHERE reading_id = %s", (ids["r3"],))
    execute(pg, "UPDATE iot_readings SET event_time = '2026-01-01T00:00:05Z' WHERE reading_id = %s", (ids["r5"],))
    execute(pg, "UPDATE iot_readings SET value = 60.0 WHERE reading_id = %s", (ids["r7"],))
    execute(pg, "DELETE FROM iot_readings WHERE reading_id = %s", (ids["r6"],))
    wait_captured(kafka_settings, TOPICS.changes, 8, 3, 1, timeout=120)
    return ids


def changes(kafka: KafkaSettings) -> list[dict]:
    return [json.loads(value) for _, _, value, _ in read_topic(kafka, TOPICS.changes) if value and value[:1] == b"{"]


def test_inserts_updates_and_deletes_arrive_with_their_images(known: dict[str, int], kafka_settings: KafkaSettings):
    events = [e for e in changes(kafka_settings) if (e["after"] or e["before"])["device_id"] in ("ka-01", "ka-02")]
    by_op: dict[str, list[dict]] = {}
    for event in events:
        by_op.setdefault(event["op"], []).append(event)
    assert {op: len(found) for op, found in by_op.items()} == {"c": 8, "u": 3, "d": 1}
    r3 = next(e for e in by_op["u"] if e["after"]["reading_id"] == known["r3"])
    assert (r3["before"]["value"], r3["after"]["value"]) == (50.0, 24.0)  # REPLICA IDENTITY FULL: the old row too
    r5 = next(e for e in by_op["u"] if e["after"]["reading_id"] == known["r5"])
    assert r5["before"]["event_time"].startswith("2026-01-01T00:01:05") and r5["after"]["event_time"].startswith(
        "2026-01-01T00:00:05"
    )
    (gone,) = by_op["d"]
    assert gone["after"] is None and gone["before"]["reading_id"] == known["r6"] and gone["before"]["value"] == -25.0


def test_worker_restart_mid_stream_loses_nothing(
    cdc: tuple[PostgresSettings, ConnectWorker], known: dict[str, int], kafka_settings: KafkaSettings
) -> None:
    """Rows written before a stop, while the worker is down and after its restart all arrive: the connector resumes
    from the LSN it committed to its offsets topic and the slot kept the WAL meanwhile."""
    pg, worker = cdc

    def batch(minute: int) -> list[int]:
        at = f"2026-01-01T00:{minute:02d}:30Z"
        return insert(pg, [("rs-01", "power_meter", "lab", "voltage", 230.0 + i, "volt", at) for i in range(10)])

    written = batch(10)
    assert worker.stop()
    written += batch(11)  # the worker is down: only the slot holds these
    worker.start()
    written += batch(12)
    deadline = time.monotonic() + 120
    while True:
        seen = {e["after"]["reading_id"] for e in changes(kafka_settings) if e["op"] == "c"}
        if set(written) <= seen or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert sorted(set(written) - seen) == []
    assert {r[0] for r in execute(pg, "SELECT reading_id FROM iot_readings WHERE device_id = 'rs-01'")} == set(written)


def image(n: int, **change: object) -> dict:
    """A contract-valid row image of an id no real row has (a forged id of a real row would be applied)."""
    row = {
        "reading_id": 10**12 + n,
        "device_id": "forged",
        "device_type": "weather_station",
        "site": "lab",
        "sensor": "temperature",
        "value": 21.5,
        "unit": "celsius",
        "event_time": "2026-01-01T00:00:00Z",
    }
    return {**row, **change}


# Unusable change events, one per reason and field rule, beyond HOSTILE: (reason, message).
BROKEN = [
    ("missing_after", {"before": None, "after": None, "op": "c"}),
    ("missing_before", {"before": None, "after": None, "op": "d"}),
    ("bad_before", {"before": image(1, sensor="co2"), "after": None, "op": "d"}),  # co2 is no weather sensor
    ("bad_after", {"before": None, "after": image(2, unit="kelvin"), "op": "c"}),
    ("bad_after", {"before": None, "after": image(3, value=150.5), "op": "c"}),  # past the physical range
    ("bad_after", {"before": None, "after": image(4, value="warm"), "op": "c"}),
    ("bad_after", {"before": None, "after": image(5, device_id=None), "op": "c"}),
    ("bad_after", {"before": None, "after": image(6, event_time="2026-01-01 00:00"), "op": "c"}),
    ("bad_after", {"before": image(7), "after": image(7, reading_id=0), "op": "u"}),
]


def test_python_contract_agrees_with_the_flink_row_rule_on_the_broken_images() -> None:
    """The images BROKEN calls bad are refused by ``parse_reading`` too; the base image passes both."""
    parse_reading(json.dumps(image(0)))
    for reason, event in BROKEN:
        if reason.startswith("bad_"):
            broken = event["after" if reason == "bad_after" else "before"]
            with pytest.raises(InvalidEvent):
                parse_reading(json.dumps(broken))


def redeliver(kafka: KafkaSettings, reading_id: int) -> None:
    """Send the insert event of ``reading_id`` again, byte for byte (what an at-least-once redelivery does)."""
    for _, _, value, _ in read_topic(kafka, TOPICS.changes):
        event = json.loads(value) if value and value[:1] == b"{" else None
        if event and event["op"] == "c" and event["after"]["reading_id"] == reading_id:
            producer = KafkaProducer(client_id="brook-test-iot", **kafka.client_options())
            producer.send(TOPICS.changes, value)
            producer.flush()
            producer.close()
            return
    raise AssertionError(f"no insert event of reading {reading_id} in {TOPICS.changes}")


def test_flink_windows_alerts_and_dead_letters(
    cdc: tuple[PostgresSettings, ConnectWorker], known: dict[str, int], kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    pg, _ = cdc
    redeliver(kafka_settings, known["k2"])
    hostile = write_hostile(kafka_settings, TOPICS.changes)
    producer = KafkaProducer(client_id="brook-test-iot", **kafka_settings.client_options())
    for _, event in BROKEN:
        producer.send(TOPICS.changes, json.dumps(event).encode())
    producer.flush()
    producer.close()
    env = {
        **os.environ,
        **to_env(kafka_settings, pg, TOPICS),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "jobs.iot.flink.windows"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    windows = execute(
        pg,
        "SELECT window_start::text, window_end::text, device_id, sensor, reading_count, min_value, max_value, "
        "round(avg_value::numeric, 9)::float8, last_value FROM iot_windows WHERE device_id IN ('ka-01', 'ka-02')",
    )
    assert set(windows) == EXPECTED_WINDOWS
    alerts = execute(pg, "SELECT reading_id, direction, threshold, value FROM iot_alerts WHERE device_id = 'ka-01'")
    assert alerts == [(known["r7"], "high", 45.0, 60.0)]
    mismatched, recounted, stored = execute(pg, RECOUNT)[0]
    assert (mismatched, recounted) == (0, stored)  # every window, rs-01's included, equals its recount
    _, duplicates, unusable = kafka_events(kafka_settings, TOPICS.changes)
    assert duplicates >= 1 and unusable == hostile + len(BROKEN) == len(HOSTILE) + len(BROKEN)
    dead = execute(pg, "SELECT reason, payload FROM iot_dead_letters")
    expected = [(reason, json.dumps(event)) for reason, event in BROKEN]
    expected += [
        (reason, message.decode()) for reason, message in zip(("not_json", "bad_op", "bad_after"), HOSTILE, strict=True)
    ]
    assert sorted(dead) == sorted(expected)
