"""Benchmark trial of the e-commerce batch (issue 14): ``ecommerce_batch``, registered in :data:`bench.run.STAGES`
and dispatched through :data:`TRIALS` like every other trial (one process per trial, one ``BENCH_RESULT`` line).

Before the clock: one generated day of ``--events`` orders (about 7.5 input rows per order: lines, views, returns)
in a private bucket, and a fresh schema. brook = ``python -m jobs.ecommerce.batch --date D`` as shipped (a process:
JVM and Flink mini-cluster start, the s3:// read, every aggregation, the one-transaction write; the job's own
``flink_seconds`` is recorded beside it); baseline = a raw pyarrow read of the same four files from MinIO (GET +
``pyarrow.json.read_json`` into Arrow tables: the generator's lines are all valid), nothing judged or computed.
count = input rows in both.
"""

from __future__ import annotations

import dataclasses
import io
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg2
from pyarrow import json as pyarrow_json

from jobs.common.cli import read_summary
from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, S3Settings, load, to_env
from jobs.ecommerce.contract import KINDS, log_key
from jobs.ecommerce.generator import ensure_bucket, generate, write_day

SEED = 2026
DAY = date(2026, 3, 2)
CUSTOMERS = 2_000


def _prepared(n: int, s3: S3Settings) -> tuple[str, int]:
    bucket = f"bench-ecommerce-{secrets.token_hex(3)}"
    client = s3.client()
    ensure_bucket(client, bucket)
    rows = write_day(client, bucket, DAY, generate(DAY, n, CUSTOMERS, SEED, 0.01))
    return bucket, sum(rows.values())


def day_file(client: Any, bucket: str, kind: str) -> bytes:
    """The bytes of ``kind``'s file of the benchmark day."""
    return client.get_object(Bucket=bucket, Key=log_key(DAY, kind))["Body"].read()


def _drop(s3: S3Settings, bucket: str) -> None:
    client = s3.client()
    for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=obj["Key"])
    client.delete_bucket(Bucket=bucket)


def batch_trial(variant: str, n: int, pg: PostgresSettings, s3: S3Settings) -> dict[str, Any]:
    bucket, count = _prepared(n, s3)
    try:
        if variant == "baseline":
            client = s3.client()
            started = time.perf_counter()
            read = sum(pyarrow_json.read_json(io.BytesIO(day_file(client, bucket, kind))).num_rows for kind in KINDS)
            seconds = time.perf_counter() - started
            assert read == count, (read, count)
            return {"count": count, "seconds": seconds, "bytes": 0, "settings": {"reader": "pyarrow.json"}}
        schema = f"bench_ecommerce_{secrets.token_hex(3)}"
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {schema}")
        scoped = dataclasses.replace(pg, schema=schema)
        migrate(scoped.dsn())
        env = {**os.environ, **to_env(scoped), "BROOK_ECOMMERCE_BUCKET": bucket}
        try:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "jobs.ecommerce.batch", "--date", DAY.isoformat()],
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"ecommerce batch failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
            job = read_summary(done.stdout, "ecommerce-batch")
        finally:
            with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
                cur.execute(f"DROP SCHEMA {schema} CASCADE")
        assert job["rows_in"] == count, (job["rows_in"], count)
        return {
            "count": count,
            "seconds": seconds,
            "bytes": 0,
            "flink_seconds": job["flink_seconds"],
            "settings": {"orders": n, "parallelism": os.environ.get("BROOK_FLINK_PARALLELISM", "1")},
        }
    finally:
        _drop(s3, bucket)


TRIALS: dict[str, Callable[..., dict[str, Any]]] = {
    "ecommerce_batch": lambda v, a: batch_trial(v, a.events, load(PostgresSettings), load(S3Settings)),
}
