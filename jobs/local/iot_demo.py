"""The IoT CDC pipeline end to end on local services, ending with its conservation audit.

``python -m jobs.local.iot_demo [--devices N] [--minutes M] [--seed S] [--keep-services]``

Starts what it needs (the shared local Kafka, the IoT Postgres with ``wal_level=logical``, the Kafka Connect worker
with Debezium), gives it a fresh start (connector and its offsets removed, slot dropped, tables re-created, change
topic deleted, connector registered on the empty table), then: simulator (inserts, corrections, retractions) →
Debezium → the change topic, plus a few unusable messages written straight into the topic → the Flink job, bounded →
audit (jobs/iot/audit.py). Exit 0 only when every check passes. What it started is stopped at the end unless
``--keep-services``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import psycopg2
from kafka import KafkaAdminClient, KafkaProducer

from jobs.common.audit import as_summary, passed, render
from jobs.common.cli import run, summary
from jobs.common.migrate import migrate
from jobs.common.settings import KafkaSettings, PostgresSettings, load, to_env
from jobs.iot import connector
from jobs.iot.audit import audit, kafka_events
from jobs.iot.topics import IotTopics
from jobs.local.cinema_postgres import Instance
from jobs.local.iot_connect import ConnectWorker
from jobs.local.iot_postgres import IotLocalSettings, instance, up
from jobs.local.runner import Children, run_demo
from jobs.local.services import Paths

IOT_SQL = Path(__file__).resolve().parents[1] / "iot" / "sql"
# Unusable change events written into the topic next to Debezium's: not JSON, an unknown operation, an insert whose
# row breaks the contract (an id no real row has: a forged id of a real row would be applied, see docs/iot.md).
HOSTILE = (
    b"{not json",
    b'{"before":null,"after":null,"op":"x"}',
    b'{"before":null,"after":{"reading_id":999999999999,"device_id":"x","device_type":"weather_station",'
    b'"site":"x","sensor":"plasma","value":1.0,"unit":"celsius","event_time":"2026-01-01T00:00:00Z"},"op":"c"}',
)


def delete_topic(kafka: KafkaSettings, topic: str, timeout: float = 60.0) -> None:
    """Delete ``topic`` if it exists and wait until the broker no longer lists it."""
    admin = KafkaAdminClient(client_id="brook-iot-demo", **kafka.client_options())
    try:
        if topic in admin.list_topics():
            admin.delete_topics([topic])
        deadline = time.monotonic() + timeout
        while topic in admin.list_topics():
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic} still listed {timeout:.0f}s after its deletion")
            time.sleep(0.5)
    finally:
        admin.close()


def fresh(inst: Instance, worker: ConnectWorker, kafka: KafkaSettings, topics: IotTopics) -> PostgresSettings:
    """Empty pipeline: connector (and its offsets) removed, slot dropped, tables re-created, topic deleted, then the
    connector registered again and streaming. Returns the IoT Postgres settings."""
    pg = inst.settings()
    api = connector.ConnectApi(worker.url)
    api.remove(connector.CONNECTOR)
    connector.drop_slot(pg.dsn())
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    conn.close()
    migrate(pg.dsn(), [IOT_SQL])
    delete_topic(kafka, topics.changes)
    connector.register(api, pg, inst.replication_password(), topics)
    return pg


def write_hostile(kafka: KafkaSettings, topic: str) -> int:
    producer = KafkaProducer(client_id="brook-iot-hostile", **kafka.client_options())
    try:
        for message in HOSTILE:
            producer.send(topic, message)
        producer.flush()
    finally:
        producer.close()
    return len(HOSTILE)


def wait_captured(kafka: KafkaSettings, topic: str, inserted: int, updated: int, deleted: int, timeout: float) -> None:
    """Until the topic holds a change event for every operation the simulator made (Debezium streams them)."""
    deadline = time.monotonic() + timeout
    while True:
        ops, _, _ = kafka_events(kafka, topic)
        if ops["c"] >= inserted and ops["u"] >= updated and ops["d"] >= deleted:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"after {timeout:.0f}s the change topic holds {dict(ops)}; see the Connect log")
        time.sleep(1)


class IotDemo(Children):
    def __init__(self, paths: Paths, devices: int, minutes: int, seed: int, keep: bool) -> None:
        super().__init__(paths)
        self.devices, self.minutes, self.seed, self.keep = devices, minutes, seed, keep
        self.started: list[object] = []

    def run(self, env: dict[str, str]) -> int:
        kafka, topics = load(KafkaSettings, env), load(IotTopics)
        local = load(IotLocalSettings)
        inst = instance(local.pg_port)
        worker = ConnectWorker(self.paths.home, local.connect_port, kafka.bootstrap)
        if not inst.running():
            self.started.append(inst)
        up(inst)
        if not worker.running():
            self.started.append(worker)
            began = time.monotonic()
            worker.start()
            self.timings.append(("Kafka Connect worker start", 1, time.monotonic() - began))
        pg = fresh(inst, worker, kafka, topics)
        print(f"[demo] iot: Postgres 127.0.0.1:{pg.port} → Debezium ({worker.url}) → {topics.changes}", flush=True)
        args = ["--devices", str(self.devices), "--minutes", str(self.minutes), "--seed", str(self.seed)]
        self.stage("simulator → iot_readings (rows)", 0, "iot-simulator", "jobs.iot.simulator", to_env(pg), *args)
        plan = {k: int(self.summary("iot-simulator", "iot-simulator")[k]) for k in ("inserted", "updated", "deleted")}
        label, _, seconds = self.timings[-1]
        self.timings[-1] = (label, plan["inserted"], seconds)
        hostile = write_hostile(kafka, topics.changes)
        began = time.monotonic()
        wait_captured(kafka, topics.changes, plan["inserted"], plan["updated"], plan["deleted"], 300)
        ops = plan["inserted"] + plan["updated"] + plan["deleted"]
        self.timings.append(("Debezium capture (until all in Kafka)", ops, time.monotonic() - began))
        run_id = time.strftime("%Y%m%dT%H%M%S")
        flink_env = {
            **env,
            **to_env(pg, topics),
            "BROOK_FLINK_BOUNDED": "true",
            "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
            "BROOK_FLINK_CHECKPOINT_DIR": (self.paths.home / "flink" / "checkpoints" / f"iot-{run_id}").as_uri(),
        }
        self.stage("Flink windows (bounded job incl. startup)", ops, "iot-flink", "jobs.iot.flink.windows", flink_env)
        print("\n[demo] stages (this machine, rough)")
        for label, count, seconds in self.timings:
            print(f"  {label:<44} {count:>8} in {seconds:6.1f}s")
        print("\n[demo] iot conservation audit")
        checks = audit(pg, kafka, topics.changes, plan["inserted"], plan["updated"], plan["deleted"], hostile)
        render(checks)
        summary("iot-demo", hostile=hostile, **plan, **as_summary(checks))
        return 0 if passed(checks) else 1

    def stop_children(self) -> None:
        super().stop_children()
        if not self.keep:
            for thing in reversed(self.started):
                if isinstance(thing, ConnectWorker):
                    thing.stop()
                elif isinstance(thing, Instance):
                    thing.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.iot_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=12, help="devices to simulate (default 12)")
    parser.add_argument("--minutes", type=int, default=10, help="minutes of readings (default 10)")
    parser.add_argument("--seed", type=int, default=2026, help="simulator seed")
    parser.add_argument("--keep-services", action="store_true", help="leave Kafka, the IoT Postgres and Connect up")
    args = parser.parse_args(argv)
    return run_demo(
        lambda paths: IotDemo(paths, args.devices, args.minutes, args.seed, args.keep_services),
        ["kafka"],
        args.keep_services,
    )


if __name__ == "__main__":
    run(main, "iot-demo")
