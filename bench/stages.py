"""One benchmark trial per process: ``python -m bench.stages <stage> <variant> [--events N] [--source NAME]``.

Each trial runs in its own process so its peak RSS is its own, and prints one JSON line: count, seconds, bytes,
maxrss_kb and the settings it ran with. Data preparation (generating events, filling a topic or a table) happens
before the clock starts; only the measured operation is timed. ``brook`` is the shipped code path with its
shipped settings; ``baseline`` is the raw thing on the same data (library defaults, a plain COPY, one PUT).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import itertools
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from kafka import KafkaProducer

from bench.behaviour import TRIALS as BEHAVIOUR_TRIALS
from bench.cdc import TRIALS as CDC_TRIALS
from bench.ecommerce import TRIALS as ECOMMERCE_TRIALS
from bench.load import LoadProducer
from bench.telecom import TRIALS as TELECOM_TRIALS
from jobs.bets.consumer import BetConsumer, ConsumerSettings
from jobs.bets.contract import BETS_PARTITIONS, encode_bet, parse_bet
from jobs.bets.export_parquet import COMPRESSION
from jobs.bets.exporter import Exporter, ExportSettings, ensure_bucket
from jobs.bets.generator import BetGenerator
from jobs.bets.store import COLUMNS, copy_text
from jobs.bets.topics import BetsTopics
from jobs.common.kafka import ensure_topics
from jobs.common.lifecycle import Stop
from jobs.common.migrate import migrate
from jobs.common.produce import ProducerSettings, produce, producer_options
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, load
from jobs.local.backup import LocalBackup, private_postgres
from jobs.local.ports import free_ports
from jobs.local.services import LocalServices

SEED = 2026
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def events(n: int) -> list[tuple[bytes, bytes]]:
    """The benchmark's fixed data set: (key, value) of n seeded events at 1000 events/s of event time."""
    stream = itertools.islice(BetGenerator(seed=SEED, start=START, rate=1000), n)
    return [(e["user_id"].encode(), encode_bet(e)) for e in stream]


def fresh_schema(pg: PostgresSettings, name: str) -> PostgresSettings:
    with psycopg2.connect(dataclasses.replace(pg, schema="public").dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")
    scoped = dataclasses.replace(pg, schema=name)
    migrate(scoped.dsn())
    return scoped


# --- producer → Kafka -----------------------------------------------------------------------------------------
def producer_trial(variant: str, n: int, kafka: KafkaSettings) -> dict[str, Any]:
    data = events(n)
    topic = f"bench-producer-{secrets.token_hex(4)}"
    ensure_topics(kafka, {topic: BETS_PARTITIONS})
    settings = producer_options(load(ProducerSettings)) if variant == "brook" else {}
    client = KafkaProducer(**kafka.client_options(), **settings)
    started = time.perf_counter()
    if variant == "brook":
        produce(client, topic, data, label="bench-producer")
    else:
        for key, value in data:
            client.send(topic, key=key, value=value)
        client.flush()
    seconds = time.perf_counter() - started
    client.close()
    return {"count": n, "seconds": seconds, "bytes": sum(len(v) for _, v in data), "settings": settings}


# --- consumer → Postgres --------------------------------------------------------------------------------------
def consumer_trial(variant: str, n: int, kafka: KafkaSettings, pg: PostgresSettings, source: str) -> dict[str, Any]:
    scoped = fresh_schema(pg, f"bench_consumer_{variant}")
    if variant == "baseline":
        bets = [parse_bet(value) for _, value in events(n)]  # same rows, already in memory
        text = copy_text(bets).getvalue()
        conn = psycopg2.connect(scoped.dsn())
        started = time.perf_counter()
        with conn, conn.cursor() as cur:
            cur.copy_expert(f"COPY bets ({', '.join(COLUMNS)}) FROM STDIN", io.StringIO(text))
        seconds = time.perf_counter() - started
        conn.close()
        return {"count": n, "seconds": seconds, "bytes": len(text), "settings": {"COPY": "one statement"}}
    settings = dataclasses.replace(load(ConsumerSettings), group=f"bench-{secrets.token_hex(4)}", progress_seconds=0)
    stop = Stop()
    started = time.perf_counter()
    consumer = BetConsumer(kafka, scoped, settings, BetsTopics(bets=source, dlq=f"{source}.dlq"))

    def until_all(counts: Any) -> None:
        stop.requested = counts.consumed >= n

    counts = consumer.run(stop, on_batch=until_all)
    seconds = time.perf_counter() - started
    consumer.close()
    if counts.stored != counts.consumed or counts.consumed < n:
        raise SystemExit(f"consumer stored {counts.stored} of {counts.consumed} consumed rows (wanted {n})")
    return {"count": counts.consumed, "seconds": seconds, "bytes": 0, "settings": dataclasses.asdict(settings)}


def consumer_processes_trial(variant: str, n: int, kafka: KafkaSettings, pg: PostgresSettings, source: str) -> dict:
    """``python -m jobs.bets.consumer`` with BROOK_CONSUMER_WORKERS=2 (brook) or 1 (baseline), as shipped: from
    process start until all ``n`` rows are committed (polled every 0.1 s). Both variants pay one process start.
    Peak RSS is the largest consumer process's (the children's, reported as maxrss_children_kb)."""
    from jobs.common.settings import to_env

    workers = 2 if variant == "brook" else 1
    scoped = fresh_schema(pg, f"bench_consumer_p{workers}")
    env = {
        **os.environ,
        **to_env(kafka, BetsTopics(bets=source, dlq=f"{source}.dlq"), scoped),
        "BROOK_CONSUMER_GROUP": f"bench-{secrets.token_hex(4)}",
        "BROOK_CONSUMER_WORKERS": str(workers),
        "BROOK_CONSUMER_PROGRESS_SECONDS": "0",
    }
    conn = psycopg2.connect(scoped.dsn())
    conn.autocommit = True
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "jobs.bets.consumer"], env=env, stdout=subprocess.DEVNULL)
    stored = 0
    try:
        while stored < n:
            if proc.poll() is not None:
                raise SystemExit(f"consumer exited {proc.returncode} after storing {stored} of {n} rows")
            time.sleep(0.1)
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM bets")
                stored = cur.fetchone()[0]
        seconds = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=120)
        conn.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    settings = {"workers": workers}
    return {"count": n, "seconds": seconds, "bytes": 0, "maxrss_children_kb": children, "settings": settings}


# --- exporter → MinIO -----------------------------------------------------------------------------------------
def exporter_trial(variant: str, n: int, pg: PostgresSettings, s3: S3Settings) -> dict[str, Any]:
    scoped = fresh_schema(pg, f"bench_exporter_{variant}")
    bets = [parse_bet(value) for _, value in events(n)]
    with psycopg2.connect(scoped.dsn()) as conn, conn.cursor() as cur:
        cur.copy_expert(f"COPY bets ({', '.join(COLUMNS)}) FROM STDIN", copy_text(bets))
        cur.execute("ANALYZE bets")
    bucket = f"bench-{variant}-{secrets.token_hex(3)}"
    store = dataclasses.replace(s3, bucket=bucket)
    client = store.client()
    ensure_bucket(client, bucket, store.region)
    if variant == "brook":
        settings = load(ExportSettings)
        exporter = Exporter(scoped, store, settings)
        started = time.perf_counter()
        summary = exporter.run()
        seconds = time.perf_counter() - started
        exporter.close()
        if summary.rows != n:
            raise SystemExit(f"exporter exported {summary.rows} of {n} rows")
        size, details = summary.bytes, dataclasses.asdict(settings)
    else:
        conn = psycopg2.connect(scoped.dsn())
        started = time.perf_counter()
        raw = io.BytesIO()
        with conn.cursor() as cur:
            cur.copy_expert(f"COPY (SELECT {', '.join(COLUMNS)} FROM bets) TO STDOUT (FORMAT csv, HEADER)", raw)
        raw.seek(0)
        table = pacsv.read_csv(raw)
        out = io.BytesIO()
        pq.write_table(table, out, compression=COMPRESSION)
        client.put_object(Bucket=bucket, Key="raw/baseline.parquet", Body=out.getvalue())
        seconds = time.perf_counter() - started
        conn.close()
        size, details = out.tell(), {"COPY": "TO STDOUT csv", "parquet": COMPRESSION, "objects": 1}
    _drop_bucket(client, bucket)
    return {"count": n, "seconds": seconds, "bytes": size, "settings": details}


# --- exporter cost as the table grows ---------------------------------------------------------------------------
# brook variant: FACTOR × the timed rows already exported (2M for the full run's 100k); the 10M history is
# BROOK_BENCH_FLAT_FACTOR=100 (its setup exports 10M synthetic rows first: minutes, so not the default)
FLAT_PREFIX_FACTOR = 20

_SYNTHETIC = """
INSERT INTO bets (bet_id, user_id, game, amount, currency, odds, status, event_time)
SELECT gen_random_uuid(), 'user-' || (i %% 5000), 'game-' || (i %% 40), 1 + (i %% 500), 'EUR', 2.5, 'placed',
       %s::timestamptz - make_interval(secs => i / 1000.0)
FROM generate_series(1, %s) AS i
"""


def exporter_flat_trial(variant: str, n: int, pg: PostgresSettings, s3: S3Settings) -> dict[str, Any]:
    """Export time of the last ``n`` rows once ``prefix`` rows are already exported: brook = factor × n (factor:
    BROOK_BENCH_FLAT_FACTOR, default :data:`FLAT_PREFIX_FACTOR`), baseline = n.

    Setup, not timed: ``prefix`` synthetic rows (SQL ``generate_series``, one day before the benchmark data) are
    exported by the exporter itself, so the ledger and the table hold what a long-running deployment's would; then
    the benchmark's ``n`` rows are stored by a separate transaction and one exporter run is timed on them.
    """
    factor = int(os.environ.get("BROOK_BENCH_FLAT_FACTOR", FLAT_PREFIX_FACTOR))
    prefix = n * factor if variant == "brook" else n
    scoped = fresh_schema(pg, f"bench_exporter_flat_{variant}")
    bucket = f"bench-flat-{variant}-{secrets.token_hex(3)}"
    store = dataclasses.replace(s3, bucket=bucket)
    client = store.client()
    ensure_bucket(client, bucket, store.region)
    settings = load(ExportSettings)
    with psycopg2.connect(scoped.dsn()) as conn, conn.cursor() as cur:
        cur.execute(_SYNTHETIC, (START, prefix))
    exporter = Exporter(scoped, store, settings)
    before = exporter.run()
    bets = [parse_bet(value) for _, value in events(n)]
    with psycopg2.connect(scoped.dsn()) as conn, conn.cursor() as cur:
        cur.copy_expert(f"COPY bets ({', '.join(COLUMNS)}) FROM STDIN", copy_text(bets))
        cur.execute("ANALYZE bets")
    started = time.perf_counter()
    summary = exporter.run()
    seconds = time.perf_counter() - started
    exporter.close()
    if before.rows != prefix or summary.rows != n:
        raise SystemExit(f"exporter exported {before.rows} of {prefix} prefix rows, {summary.rows} of {n} timed rows")
    _drop_bucket(client, bucket)
    details = {**dataclasses.asdict(settings), "already_exported": prefix}
    return {"count": n, "seconds": seconds, "bytes": summary.bytes, "settings": details}


def _drop_bucket(client: Any, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)


# --- Flink ----------------------------------------------------------------------------------------------------
def flink_trial(
    variant: str, n: int, kafka: KafkaSettings, pg: PostgresSettings, source: str, parallelism: int = 0
) -> dict[str, Any]:
    """The four aggregations as one bounded job vs a pass-through (same source → blackhole) on the same topic.

    Seconds are Flink's net runtime of the job (from running to finished), so JVM start and planning, which a
    long-running FlinkDeployment pays once, are excluded from both variants alike.
    """
    from jobs.bets.flink.skeleton import AGGREGATIONS, build

    settings = bounded_flink("brook-bench-flink-")
    if parallelism:  # flink_p2: the four aggregations at parallelism 2 (brook) vs 1 (baseline)
        settings = dataclasses.replace(settings, parallelism=parallelism)
    if variant == "brook" or parallelism:
        scoped = fresh_schema(pg, f"bench_flink_{variant}")
        topics = BetsTopics(bets=source, dlq=f"{source}.dlq")
        statements = build(list(AGGREGATIONS), kafka, topics, scoped, settings, "bench-brook-all")
    else:
        statements = passthrough(settings, kafka, source)
    seconds = net_runtime(statements)
    details = {**dataclasses.asdict(settings), "jars": "local"}
    return {"count": n, "seconds": seconds, "bytes": 0, "jvm_peak_rss_kb": jvm_peak_rss_kb(), "settings": details}


def bounded_flink(checkpoint_prefix: str) -> Any:
    """The shipped FlinkSettings as a bounded job from the earliest offset, checkpoints in a fresh temp folder."""
    import tempfile

    from jobs.flink.settings import FlinkSettings

    checkpoints = Path(tempfile.mkdtemp(prefix=checkpoint_prefix)).as_uri()
    return dataclasses.replace(
        load(FlinkSettings), bounded=True, startup_mode="earliest-offset", checkpoint_dir=checkpoints
    )


def passthrough(settings: Any, kafka: KafkaSettings, source: str) -> Any:
    """Flink's floor for a job reading ``source``: the same raw read the contracts start from (one STRING per
    message), straight into a blackhole."""
    from jobs.common.sql_rules import raw_value
    from jobs.flink.environment import kafka_source_options, table_environment, with_clause

    t_env = table_environment(settings, "bench-passthrough")
    options = with_clause(kafka_source_options(kafka, source, "bench-passthrough", settings))
    t_env.execute_sql(f"CREATE TEMPORARY TABLE bets_source (message STRING) {raw_value(options)}")
    t_env.execute_sql("CREATE TEMPORARY TABLE sink (message STRING) WITH ('connector' = 'blackhole')")
    statements = t_env.create_statement_set()
    statements.add_insert_sql("INSERT INTO sink SELECT message FROM bets_source")
    return statements


def net_runtime(statements: Any) -> float:
    """Run a bounded statement set to the end; Flink's net runtime in seconds (running to finished: JVM start and
    planning, which a long-running FlinkDeployment pays once, are excluded)."""
    job = statements.execute().get_job_client().get_job_execution_result().result()
    return job.get_net_runtime() / 1000


def jvm_peak_rss_kb(root: int = 0) -> int:
    """Peak RSS (VmHWM) of the Java processes under ``root`` (default: this trial; PyFlink's local cluster: heap,
    managed memory, metaspace and native memory together), 0 if none is running."""
    procs: dict[int, dict[str, str]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        procs[int(status.parent.name)] = dict(line.split(":", 1) for line in lines if ":" in line)
    root = root or os.getpid()

    def under(pid: int) -> bool:
        for _ in range(8):
            pid = int(procs.get(pid, {}).get("PPid", "0"))
            if pid == root:
                return True
            if pid <= 1:
                return False
        return False

    java = [pid for pid, f in procs.items() if f.get("Name", "").strip() == "java" and under(pid)]
    return max((int(procs[pid].get("VmHWM", "0 kB").split()[0]) for pid in java), default=0)


# --- end to end latency ---------------------------------------------------------------------------------------
# Seconds the job runs at the trial's rate before the clock: a cold JVM's first seconds (JIT compilation), which a
# long-running FlinkDeployment pays once, are not measured. Without it a 30 s trial at 10k events/s mostly measured
# them (bench/results/2026-11-28-unmeasured-rows.md).
LATENCY_WARMUP_S = 20


def latency_trial(
    variant: str, seconds: int, kafka: KafkaSettings, pg: PostgresSettings, rate: float
) -> dict[str, Any]:
    """Producer at ``rate`` → Kafka → unbounded Flink job → bet_status rows; latency of every event = when its
    window's row shows all of the window's events in Postgres − when the event was sent, for the events of the
    ``seconds`` after :data:`LATENCY_WARMUP_S` seconds at the same rate. Shipped Flink settings except the window
    size, shortened (BROOK_BENCH_WINDOW_SECONDS, default 10 s) so a run takes a minute."""
    import os
    import signal
    import subprocess

    from jobs.common.settings import to_env

    window = int(os.environ.get("BROOK_BENCH_WINDOW_SECONDS", "10"))
    topic = f"bench-latency-{secrets.token_hex(4)}"
    scoped = fresh_schema(pg, "bench_latency")
    ensure_topics(kafka, {topic: BETS_PARTITIONS})
    env = {
        **os.environ,
        **to_env(kafka, BetsTopics(bets=topic, dlq=f"{topic}.dlq"), scoped),
        "BROOK_WINDOW_SECONDS": str(window),
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": f"file:///tmp/{topic}",
    }
    # Before the job starts (its JVM start needs the cores) and before the clock: every event generated, encoded and
    # bucketed by window, so the send loop only sends (generating in the loop capped the offered rate at ~3.7k
    # events/s, 2026-11-28). Event times advance 1/rate per event from the generator's start; a constant offset to
    # the send time does not change the latency (windows close on event time, latency is measured from the send).
    generator = BetGenerator(seed=SEED, rate=rate, start=datetime.now(UTC))
    total_s = LATENCY_WARMUP_S + seconds
    prepared = [_prepared(event, window) for event in itertools.islice(generator, int(total_s * rate))]
    flink = subprocess.Popen(
        [sys.executable, "-m", "jobs.bets.flink.bet_status"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    client = LoadProducer(kafka, load(ProducerSettings))
    conn = psycopg2.connect(scoped.dsn())
    conn.autocommit = True
    sent: dict[datetime, list[float]] = {}  # window start → send times of its measured events
    expected: dict[datetime, int] = {}  # window start → events sent into it, warm-up included
    visible: dict[datetime, float] = {}
    try:
        time.sleep(15)  # JVM start + job submission, before the clock starts
        started = time.time()
        polled = started
        count = 0
        for key, value, start in prepared:
            now = time.time()
            if now - started >= total_s:
                break
            client.send(topic, key=key, value=value)
            expected[start] = expected.get(start, 0) + 1
            if now - started >= LATENCY_WARMUP_S:
                sent.setdefault(start, []).append(now)
            count += 1
            ahead = count / rate - (time.time() - started)
            if ahead > 0:
                time.sleep(ahead)
            if now - polled >= 0.05:
                _poll_visible(conn, expected, visible)
                polled = now
        offered = count / (time.time() - started)
        client.close()
        deadline = time.time() + window + 60
        while time.time() < deadline and len(visible) < len(expected) - 1:
            _poll_visible(conn, expected, visible)
            time.sleep(0.1)
    finally:
        jvm = jvm_peak_rss_kb(flink.pid)
        os.killpg(flink.pid, signal.SIGTERM)
        flink.wait(timeout=60)
        conn.close()
    # The last window never closes (no later event moves the watermark past it): it is not counted.
    latencies = sorted(visible[w] - t for w, times in sent.items() if w in visible for t in times)
    if not latencies:
        raise SystemExit("no window became visible: is the Flink job failing? run jobs.bets.flink.bet_status by hand")
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {
        "count": len(latencies),
        "seconds": seconds,
        "bytes": 0,
        "p50_s": pick(0.50),
        "p99_s": pick(0.99),
        "window_s": window,
        "jvm_peak_rss_kb": jvm,
        "offered_rate": offered,
        "settings": {
            "rate": rate,
            "window_seconds": window,
            "warmup_seconds": LATENCY_WARMUP_S,
            "flink": "shipped defaults otherwise",
        },
    }


def _prepared(event: dict[str, Any], window: int) -> tuple[bytes, bytes, datetime]:
    """What the latency trial's send loop needs of one event: key, encoded value, start of its event-time window."""
    at = datetime.fromisoformat(event["event_time"]).timestamp()
    return event["user_id"].encode(), encode_bet(event), datetime.fromtimestamp(at - at % window, tz=UTC)


def _poll_visible(conn: Any, expected: dict[datetime, int], visible: dict[datetime, float]) -> None:
    """Marks each window whose bet_status rows hold every event sent into it as visible now."""
    with conn.cursor() as cur:
        cur.execute("SELECT window_start, sum(bets) FROM bet_status GROUP BY window_start")
        now = time.time()
        for start, total in cur.fetchall():
            key = start.astimezone(UTC)
            if key not in visible and key in expected and total >= expected[key]:
                visible[key] = now


def fill_topic(kafka: KafkaSettings, topic: str, n: int) -> None:
    """Put the benchmark data set into ``topic`` (setup for the consumer and Flink stages; not timed)."""
    ensure_topics(kafka, {topic: BETS_PARTITIONS})
    client = KafkaProducer(**kafka.client_options(), **producer_options(load(ProducerSettings)))
    produce(client, topic, events(n), label="bench-source")
    client.close()


# --- backups (docs/backups.md) ----------------------------------------------------------------------------------
def _pg_basebackup(backup: LocalBackup, target: Path) -> None:
    pg = backup.pg_settings
    cmd = [str(backup.pg.bindir() / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(backup.pg.port), "-U", pg.user]
    cmd += ["-D", str(target), "-X", "stream", "-c", "fast", "--no-sync"]
    subprocess.run(backup.pg._as_owner(cmd), env={**os.environ, "PGPASSWORD": pg.password}, check=True)


def backup_trial(stage: str, variant: str, n: int) -> dict[str, Any]:
    """``backup``: barman-cloud-backup into MinIO vs pg_basebackup to local disk. ``restore``: barman-cloud-restore
    + WAL replay from the archive until promoted vs a copy of a local pg_basebackup started as a server. On a
    private archiving cluster (the shared Postgres is never restarted) holding ``n`` rows, before the clock starts;
    bytes = the cluster's database size. MinIO is the shared one (a bucket of its own, this trial's folder)."""
    home = LocalServices().paths.home / "bench" / f"pg-{secrets.token_hex(3)}"
    try:
        with private_postgres(home, free_ports(27432)) as services:
            pg = load(PostgresSettings, services.env())
            migrate(pg.dsn())
            bets = [parse_bet(value) for _, value in events(n)]
            with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
                cur.copy_expert(f"COPY bets ({', '.join(COLUMNS)}) FROM STDIN", copy_text(bets))
            backup = LocalBackup(services, bucket="brook-bench-backups", server=f"bench-{home.name}")
            try:
                return {"count": n, **_backup_measure(backup, stage, variant, home)}
            finally:
                backup.forget()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _backup_measure(backup: LocalBackup, stage: str, variant: str, home: Path) -> dict[str, Any]:
    backup.configure(restart=True)
    size = backup.database_bytes()
    local, restored = home / "basebackup", home / "data" / "restored"
    local.mkdir()
    backup.pg._chown(local)
    if stage == "backup" and variant == "brook":
        seconds = backup.base_backup()["seconds"]
        details: dict[str, Any] = {"tool": "barman-cloud-backup", "target": "MinIO (loopback)"}
    elif stage == "backup":
        started = time.perf_counter()
        _pg_basebackup(backup, local)
        seconds = time.perf_counter() - started
        details = {"tool": "pg_basebackup -X stream -c fast", "target": "local disk"}
    elif variant == "brook":
        backup.base_backup()
        backup.switch_and_wait()
        done = backup.restore(restored, free_ports(28432))
        backup.stop(restored)
        seconds = done.seconds
        details = {
            "tool": "barman-cloud-restore + WAL replay (barman-cloud-wal-restore)",
            "files_s": done.restore_seconds,
        }
    else:
        _pg_basebackup(backup, local)
        started = time.perf_counter()
        restored.mkdir(mode=0o700)
        backup.pg._chown(restored)
        subprocess.run(backup.pg._as_owner(["cp", "-a", f"{local}/.", str(restored)]), check=True)
        restored.chmod(0o700)  # cp -a copied the backup folder's mode
        backup.start(restored, free_ports(28432))
        seconds = time.perf_counter() - started
        backup.stop(restored)
        details = {"tool": "cp -a of a local pg_basebackup + pg_ctl start"}
    return {"seconds": seconds, "bytes": size, "settings": details}


TRIALS: dict[str, Callable[..., dict[str, Any]]] = {
    "producer": lambda v, a: producer_trial(v, a.events, load(KafkaSettings)),
    "consumer": lambda v, a: consumer_trial(v, a.events, load(KafkaSettings), load(PostgresSettings), a.source),
    "exporter": lambda v, a: exporter_trial(v, a.events, load(PostgresSettings), load(S3Settings)),
    "exporter_flat": lambda v, a: exporter_flat_trial(v, a.events, load(PostgresSettings), load(S3Settings)),
    "consumer_processes": lambda v, a: consumer_processes_trial(
        v, a.events, load(KafkaSettings), load(PostgresSettings), a.source
    ),
    "flink": lambda v, a: flink_trial(v, a.events, load(KafkaSettings), load(PostgresSettings), a.source),
    "flink_p2": lambda v, a: flink_trial(
        v, a.events, load(KafkaSettings), load(PostgresSettings), a.source, 2 if v == "brook" else 1
    ),
    "latency": lambda v, a: latency_trial(v, a.events, load(KafkaSettings), load(PostgresSettings), a.rate),
    "latency_2k": lambda v, a: latency_trial(v, a.events, load(KafkaSettings), load(PostgresSettings), a.rate),
    "latency_10k": lambda v, a: latency_trial(v, a.events, load(KafkaSettings), load(PostgresSettings), a.rate),
    "backup": lambda v, a: backup_trial("backup", v, a.events),
    "restore": lambda v, a: backup_trial("restore", v, a.events),
    **CDC_TRIALS,  # the IoT and cinema stages (bench/cdc.py)
    **BEHAVIOUR_TRIALS,  # the behaviour gateway (bench/behaviour.py)
    **ECOMMERCE_TRIALS,  # the e-commerce batch vs a raw pyarrow read (bench/ecommerce.py)
    **TELECOM_TRIALS,  # the telecom generator, windows and daily batch (bench/telecom.py)
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=[*TRIALS, "fill"])
    parser.add_argument("variant", choices=["brook", "baseline"])
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--source", default="", help="pre-filled topic (consumer and Flink stages)")
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s (latency stage)")
    args = parser.parse_args(argv)
    if args.stage == "fill":
        fill_topic(load(KafkaSettings), args.source, args.events)
        return 0
    result = TRIALS[args.stage](args.variant, args)
    result["maxrss_kb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, result.get("maxrss_children_kb", 0))
    print("BENCH_RESULT " + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
