"""``make demo``: the whole bets pipeline on local services, ending with the conservation audit.

Starts Kafka, Postgres and MinIO (if not running), gives this run its own topics, a fresh ``demo`` schema and an
emptied ``brook-demo`` bucket, then: consumer (streaming, while the producer runs) → producer (N events) → wait
until the consumer group has committed every offset → the four Flink aggregations as one bounded Flink job (a
bounded read ends with a final watermark, so every window closes and can be audited; in Kubernetes the same jobs
run unbounded) → exporter → audit. Prints events/s per stage. Everything it started is stopped on exit or Ctrl-C.

The exporter: when ``make airflow``'s local Airflow is running (``--airflow auto``, the default), the demo points
its ``bets_export`` DAG at the demo's schema and bucket (the Airflow Variable ``brook_local_env``, left set so the
scheduled runs keep exporting the demo's rows), triggers a run through the REST API, waits for it and prints where
the UI shows its task log; the audit then counts what that run exported. Without Airflow it runs
``python -m jobs.bets.exporter`` itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
from kafka import KafkaConsumer, TopicPartition

from jobs.bets.audit import audit
from jobs.bets.topics import BetsTopics
from jobs.common.audit import as_summary, passed, render
from jobs.common.cli import run, summary
from jobs.common.kafka import committed_offsets, offset_range
from jobs.common.migrate import migrate
from jobs.common.progress import Progress
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, load, to_env
from jobs.local.airflow import AirflowApi, running_default
from jobs.local.runner import Children, run_demo
from jobs.local.services import Paths
from jobs.local.superset import LocalSuperset

DEMO_SCHEMA = "demo"
DEMO_BUCKET = "brook-demo"
# jobs/dags/bets_export.py (each DAG id is its file's name; tests/integration/test_airflow_local.py checks) and its task
EXPORT_DAG, EXPORT_TASK = "bets_export", "export"
EXPORT_TIMEOUT = 1800.0


# Each is dead-lettered by the consumer and left out by Flink's verdict function alike (one verdict per message).
BAD_EVENTS = (
    b"{this is not json",
    b'{"bet_id": "3f1e2c1a-1111-4111-8111-111111111111", "user_id": "u1", "game": "roulette", "amount": -5, '
    b'"currency": "EUR", "odds": 2.0, "status": "placed", "event_time": "2026-11-25T10:00:00Z"}',
    b'{"bet_id": "3f1e2c1a-2222-4111-8111-111111111111", "user_id": "u2", "amount": 10, "currency": "EUR", '
    b'"odds": 2.0, "status": "placed", "event_time": "2026-11-25T10:00:00Z"}',
    b'{"bet_id": "3f1e2c1a-3333-4111-8111-111111111111", "user_id": "u3", "game": "slots", "amount": 12.345, '
    b'"currency": "EUR", "odds": 2.0, "status": "won", "event_time": "2026-11-25T10:00:00Z"}',
    b'["a", "list"]',
    b'{"bet_id": "3f1e2c1a-4444-4111-8111-111111111111", "user_id": "u4", "game": "slots", "amount": "12", '
    b'"currency": "EUR", "odds": 2.0, "status": "won", "event_time": "2026-11-25T10:00:00Z"}',
    b'{"bet_id": "3f1e2c1a-5555-4111-8111-111111111111", "user_id": "u5", "game": "nul\\u0000byte", "amount": 5, '
    b'"currency": "EUR", "odds": 2.0, "status": "won", "event_time": "2026-13-45T25:00:00Z"}',
)


def write_faults(kafka: KafkaSettings, topics: BetsTopics, path: Path, count: int) -> None:
    """What real topics carry besides good events: ``count`` replays of events already sent (the same bytes) and
    ``count`` invalid messages. They must end up as nothing new in ``bets`` and one DLQ message each."""
    reader = KafkaConsumer(client_id="brook-demo", **kafka.client_options())
    first = TopicPartition(topics.bets, 0)
    reader.assign([first])
    reader.seek_to_beginning(first)
    replays: list[bytes] = []
    while len(replays) < count:
        batch = reader.poll(timeout_ms=2000, max_records=count - len(replays)).get(first, [])
        if not batch:
            break
        replays += [record.value for record in batch]
    reader.close()
    bad = [BAD_EVENTS[i % len(BAD_EVENTS)] for i in range(count)]
    path.write_bytes(b"\n".join(replays + bad) + b"\n")


class BetsDemo(Children):
    def __init__(
        self,
        events: int,
        rate: float,
        seed: int,
        home: Paths,
        faults: int = 0,
        *,
        airflow: AirflowApi | None = None,
        schema: str = DEMO_SCHEMA,
        bucket: str = DEMO_BUCKET,
    ) -> None:
        super().__init__(home)
        self.events, self.rate, self.seed, self.faults = events, rate, seed, faults
        self.airflow, self.schema, self.bucket = airflow, schema, bucket
        self.export_run: str | None = None  # the Airflow bets_export run that exported, when Airflow did

    # --- state ------------------------------------------------------------------------------------------------
    def fresh_state(self, pg: PostgresSettings, s3: S3Settings) -> None:
        with psycopg2.connect(dataclasses.replace(pg, schema="public").dsn()) as conn, conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{pg.schema}" CASCADE; CREATE SCHEMA "{pg.schema}"')
        migrate(pg.dsn())
        client = s3.client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if s3.bucket in existing:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=s3.bucket, Delete={"Objects": keys})

    def wait_drained(
        self, kafka: KafkaSettings, topic: str, group: str, consumer: subprocess.Popen, timeout: float
    ) -> None:
        ends = {tp: end for tp, (_, end) in offset_range(kafka, topic).items()}
        deadline = time.monotonic() + timeout
        progress = Progress("demo consumer catching up", sum(ends.values()), sys.stdout, unit="offsets")
        while time.monotonic() < deadline:
            if consumer.poll() is not None:
                self.finish("consumer", consumer, 0)
            done = committed_offsets(kafka, group)
            progress.update(sum(min(done.get(tp, 0), end) for tp, end in ends.items()))
            if all(done.get(tp, 0) >= end for tp, end in ends.items()):
                progress.close()
                return
            time.sleep(0.2)
        progress.close("timed out")
        log = self.paths.log("demo-consumer")
        raise RuntimeError(f"the consumer did not catch up within {timeout:.0f}s; see {log}")

    # --- the run ----------------------------------------------------------------------------------------------
    def run(self, base_env: dict[str, str]) -> int:
        run_id = time.strftime("%Y%m%d%H%M%S")
        kafka = load(KafkaSettings, base_env)
        topics = BetsTopics(bets=f"demo-{run_id}.bets", dlq=f"demo-{run_id}.bets.dlq")
        pg = dataclasses.replace(load(PostgresSettings, base_env), schema=self.schema)
        s3 = dataclasses.replace(load(S3Settings, base_env), bucket=self.bucket)
        group = f"demo-{run_id}-consumer"
        env = {
            **base_env,
            **to_env(kafka, topics, pg, s3),
            "BROOK_CONSUMER_GROUP": group,
            "BROOK_CONSUMER_WORKERS": str(min(2, os.cpu_count() or 1)),
            "BROOK_FLINK_BOUNDED": "true",
            "BROOK_FLINK_CHECKPOINT_DIR": (self.paths.home / "flink" / "checkpoints" / f"demo-{run_id}").as_uri(),
        }
        print(f"[demo] run {run_id}: topics {topics.bets}, schema {pg.schema}, bucket {s3.bucket}", flush=True)
        self.fresh_state(pg, s3)

        consumer = self.spawn("consumer", "jobs.bets.consumer", env)
        started = time.monotonic()
        producer_args = ["--count", str(self.events), "--seed", str(self.seed), "--rate", str(self.rate)]
        self.finish("producer", self.spawn("producer", "jobs.bets.producer", env, *producer_args), 3600)
        produced = self.summary("producer", "producer")["sent"]
        self.timings.append(("producer → Kafka", produced, time.monotonic() - started))
        if self.faults:
            faults = self.paths.run / "demo-faults.jsonl"
            write_faults(kafka, topics, faults, self.faults)
            self.finish("faults", self.spawn("faults", "jobs.bets.producer", env, "--input", str(faults)), 600)
            produced += self.summary("faults", "producer")["sent"]
        self.wait_drained(kafka, topics.bets, group, consumer, timeout=600)
        self.timings.append(("Kafka → consumer → Postgres (incl. producer time)", produced, time.monotonic() - started))
        consumer.send_signal(signal.SIGTERM)
        self.finish("consumer", consumer, 60)

        began = time.monotonic()
        self.finish("flink", self.spawn("flink", "jobs.bets.flink.all", env), 1800)
        self.timings.append(("Flink, 4 aggregations (bounded job incl. startup)", produced, time.monotonic() - began))

        began = time.monotonic()
        if self.airflow is None:
            self.finish("exporter", self.spawn("exporter", "jobs.bets.exporter", env), 1800)
            stage = "exporter Postgres → Parquet → MinIO"
        else:
            self.export_run = self.export_with_airflow(self.airflow, pg, s3, run_id)
            stage = "Airflow bets_export run (incl. scheduling)"
        stored = self._stored(pg)
        self.timings.append((stage, stored, time.monotonic() - began))

        print("\n[demo] throughput (this machine, rough; `make bench` measures properly)")
        for stage, count, seconds in self.timings:
            print(f"  {stage:<52} {count:>8} in {seconds:6.1f}s = {count / max(seconds, 1e-9):>9.0f}/s")
        print("\n[demo] conservation audit")
        checks = audit(kafka, topics, pg, s3, produced, expect_exported=True)
        render(checks)
        self.where_to_look()
        summary("bets-demo", run=run_id, **as_summary(checks))
        return 0 if passed(checks) else 1

    @staticmethod
    def export_with_airflow(api: AirflowApi, pg: PostgresSettings, s3: S3Settings, run_id: str) -> str:
        """Point the local Airflow's bets_export at this schema and bucket, run it once, and wait for its success."""
        api.merge_local_env({"BROOK_PG_SCHEMA": pg.schema, "BROOK_S3_BUCKET": s3.bucket})
        dag_run = api.trigger(EXPORT_DAG, f"demo__{run_id}")
        print(
            f"[demo] exporter: Airflow {api.url} runs {EXPORT_DAG} ({dag_run}) on schema {pg.schema}, bucket "
            f"{s3.bucket} (Variable brook_local_env, left set: the scheduled runs export the demo's rows too)",
            flush=True,
        )
        state = api.wait_for_run(EXPORT_DAG, dag_run, EXPORT_TIMEOUT)
        where = api.ui_url(EXPORT_DAG, dag_run, EXPORT_TASK)
        if state != "success":
            raise RuntimeError(f"Airflow's {EXPORT_DAG} run {dag_run} {state}: its task log is at {where}")
        print(f"[demo] {EXPORT_DAG} {dag_run}: success; task log in the UI: {where}", flush=True)
        return dag_run

    def where_to_look(self) -> None:
        """The UIs and endpoints that show this run (or how to start them): Airflow, Superset, metrics."""
        print("\n[demo] where to look")
        if self.airflow is not None and self.export_run is not None:
            print(f"  Airflow:  {self.airflow.ui_url(EXPORT_DAG, self.export_run, EXPORT_TASK)}")
        else:
            print("  Airflow:  not running; `make airflow`, then `make demo` exports through its bets_export DAG")
        superset = LocalSuperset()
        if superset.healthy():
            url, schema = superset.instance.url, superset.instance.schema
            print(f"  Superset: {url} (dashboards read schema {schema}; `make superset` prints the login)")
        else:
            print("  Superset: not running; `make superset` starts it with the dashboards (docs/dashboards.md)")
        print(
            "  Metrics:  BROOK_METRICS_PORT=<port> serves a job's /metrics; `make metrics` runs Prometheus "
            "scraping them (docs/metrics.md)",
            flush=True,
        )

    @staticmethod
    def _stored(pg: PostgresSettings) -> int:
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM bets")
            return int(cur.fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.bets_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events to produce (default 50000)")
    parser.add_argument("--rate", type=float, default=0.0, help="producer events/s (0 = as fast as possible)")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed")
    parser.add_argument(
        "--faults", type=int, default=None, help="replayed + invalid events to add (default: 0.2%% of --events)"
    )
    parser.add_argument("--keep-services", action="store_true", help="leave Kafka/Postgres/MinIO running")
    parser.add_argument(
        "--airflow",
        choices=("auto", "on", "off"),
        default="auto",
        help="export through make airflow's bets_export DAG: auto (if that Airflow runs), on (required), off",
    )
    args = parser.parse_args(argv)

    faults = args.faults if args.faults is not None else max(5, args.events // 500)

    airflow = None if args.airflow == "off" else running_default()
    if airflow is None and args.airflow == "on":
        print("[demo] --airflow on, but no local Airflow answers: start it with `make airflow`", file=sys.stderr)
        return 1
    if airflow is None:
        print("[demo] no local Airflow running (`make airflow`): the demo runs the exporter itself", flush=True)
    api = airflow.api() if airflow is not None else None
    return run_demo(
        lambda paths: BetsDemo(args.events, args.rate, args.seed, paths, faults, airflow=api), None, args.keep_services
    )


if __name__ == "__main__":
    run(main, "bets-demo")
