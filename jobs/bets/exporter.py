"""Export unexported bets from Postgres to the bucket as Parquet, exactly once per bet (DESIGN §2.3).

``python -m jobs.bets.exporter [--max-rows N] [--chunk-rows N] [--workers N]`` — run by the Airflow DAG
``bets_export`` as a KubernetesPodOperator pod, or by hand in local mode. Each range: claim the next rows in ingest
order below the horizon of finished transactions and read them (Postgres, one short transaction; one batch per UTC
date in it) → write each batch to ``raw/YYYY-MM-DD/part-<batch>-<fingerprint>.parquet`` → complete the batch (one
ledger row; no bets row is updated). Batches a crashed run left pending are re-exported first, to the same key.
``--workers`` runs that loop in parallel threads, each with its own connection: while one worker's claim is read by
Postgres, another's batch is encoded and uploaded. Exit codes: 0 done, 1 failure (the next run resumes where
this one stopped), 2 configuration error. See docs/exporter.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg2
import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError
from prometheus_client import Counter, Gauge

from jobs.bets import export_ledger as ledger
from jobs.bets.export_ledger import Batch
from jobs.bets.export_parquet import read_batch, read_range, to_parquet
from jobs.common.cli import run, summary
from jobs.common.lifecycle import Stop
from jobs.common.settings import ConfigError, PostgresSettings, S3Settings, load, setting

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"

# Prometheus metrics (docs/metrics.md). A run is short: BROOK_METRICS_TEXTFILE writes them when it ends, and
# BROOK_METRICS_PORT serves them while it runs (jobs/common/metrics.py).
ROWS = Counter("brook_exporter_rows_total", "Rows written to the bucket in completed batches.")
OBJECTS = Counter("brook_exporter_objects_total", "Parquet objects written and completed in the ledger.")
WRITTEN_BYTES = Counter("brook_exporter_written_bytes_total", "Bytes of the Parquet objects written.")
BACKLOG_AGE = Gauge(
    "brook_exporter_backlog_age_seconds",
    "Age (now - ingested_at) of the first stored row past the export frontier, when the run ended; 0: none left.",
)
LAST_SUCCESS = Gauge(
    "brook_exporter_last_success_timestamp_seconds", "Unix time at which a run last ended without an error."
)
# The first row past the frontier in ingest order (bets_export_position_idx): one index probe, not a scan.
_BACKLOG = (
    "SELECT coalesce(extract(epoch FROM now() - min(b.ingested_at)), 0) FROM (SELECT ingested_at FROM bets, "
    "export_frontier f WHERE (ingest_xid, bet_id) > (f.hi_xid, f.hi_bet) AND export_batch IS NULL "
    "ORDER BY bets.ingest_xid, bets.bet_id LIMIT 1) b"
)


@dataclass(frozen=True, kw_only=True)
class ExportSettings:
    """Batch size, run length and crash takeover of the exporter (docs/exporter.md)."""

    chunk_rows: int = setting(
        "EXPORT_CHUNK_ROWS",
        100_000,
        help="Rows per claimed range (one Parquet object of ~3 MB per UTC date in it); memory is ~110 MB + ~1.3 KB "
        "per row of one range.",
    )
    max_rows: int = setting(
        "EXPORT_MAX_ROWS", 0, help="Stop a run after about this many rows (0: until nothing is left to export)."
    )
    lease_seconds: int = setting(
        "EXPORT_LEASE_SECONDS",
        300,
        help="A batch left pending this long by a run that died is re-exported by the next run; keep it well "
        "above the time one batch takes.",
    )

    workers: int = setting(
        "EXPORT_WORKERS",
        2,
        help="Batches read, encoded and uploaded in parallel, each by a thread with its own Postgres connection: "
        "memory grows by one range per worker; 2 keeps Postgres and the encoder busy at once.",
    )
    horizon_wait_seconds: float = setting(
        "EXPORT_HORIZON_WAIT_SECONDS",
        60.0,
        help="How long a run waits for write transactions older than itself to end, so that it exports every row "
        "committed before it started; rows of a transaction open longer go to the next run.",
    )

    def validate(self) -> None:
        if self.horizon_wait_seconds < 0:
            raise ConfigError(f"BROOK_EXPORT_HORIZON_WAIT_SECONDS={self.horizon_wait_seconds}: must be 0 or more.")
        if self.chunk_rows < 1:
            raise ConfigError(f"BROOK_EXPORT_CHUNK_ROWS={self.chunk_rows}: must be at least 1.")
        if self.max_rows < 0:
            raise ConfigError(f"BROOK_EXPORT_MAX_ROWS={self.max_rows}: must be 0 (no limit) or more.")
        if self.workers < 1:
            raise ConfigError(f"BROOK_EXPORT_WORKERS={self.workers}: must be at least 1.")
        if self.lease_seconds < 0:
            raise ConfigError(f"BROOK_EXPORT_LEASE_SECONDS={self.lease_seconds}: must be 0 or more.")


class StopFlag(Protocol):
    requested: bool


@dataclass
class Summary:
    rows: int = 0
    objects: int = 0
    bytes: int = 0
    recovered: int = 0  # batches re-exported for a run that died
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        return (
            f"rows={self.rows} objects={self.objects} bytes={self.bytes} recovered={self.recovered} "
            f"seconds={self.seconds:.2f} rows/s={rate:.0f}"
        )


def ensure_bucket(client: Any, bucket: str, region: str) -> bool:
    """Create the bucket if it does not exist; True if this call created it."""
    try:
        client.head_bucket(Bucket=bucket)
        return False
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    options: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**options)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            return False  # a concurrent run created it
        raise
    return True


class _Worker:
    """One export loop's connection and S3 client (boto3 clients are thread-safe, psycopg2 connections are not)."""

    def __init__(self, pg: PostgresSettings, s3: S3Settings) -> None:
        self.client = s3.client()  # created by the caller's thread: boto3's default session is not thread-safe
        self.conn = psycopg2.connect(pg.dsn())


class _Shared:
    """What one run's workers share: the row budget, the summary, and the first failure (which stops them all)."""

    def __init__(self, max_rows: int, stop: StopFlag | None) -> None:
        self.lock = threading.Lock()  # summary and failure
        self.claim_lock = threading.Lock()  # the budget: held for a whole claim, so kept apart from the summary's
        self.max_rows = max_rows
        self.claimed = 0
        self.summary = Summary()
        self.failure: BaseException | None = None
        self.stop = stop

    @property
    def stopping(self) -> bool:
        return self.failure is not None or bool(self.stop and self.stop.requested)

    def exported(self, batch: Batch, size: int) -> None:
        with self.lock:
            self.summary.rows += batch.row_count
            self.summary.objects += 1
            self.summary.bytes += size
            self.summary.recovered += batch.recovered


class Exporter:
    """One export run: recover expired batches, then claim and export new ranges until done or ``max_rows``,
    with ``cfg.workers`` loops in parallel (each is what an overlapping run would be: claims serialise on the
    frontier row, each batch is leased to one loop)."""

    def __init__(self, pg: PostgresSettings, s3: S3Settings, cfg: ExportSettings) -> None:
        self.s3 = s3
        self.cfg = cfg
        self.workers: list[_Worker] = []
        try:
            for _ in range(cfg.workers):
                self.workers.append(_Worker(pg, s3))
        except BaseException:
            self.close()
            raise
        self.conn = self.workers[0].conn
        self.client = self.workers[0].client

    def close(self) -> None:
        for worker in self.workers:
            worker.conn.close()

    def run(self, after_upload: Callable[[Batch], None] | None = None, stop: StopFlag | None = None) -> Summary:
        """Export until nothing is left, ``max_rows`` is reached or ``stop.requested``.

        ``after_upload`` is called between writing a batch's object and completing it (tests inject crashes
        there), by the worker's thread. The first worker to fail stops the others after their current batch; its
        exception is raised here once every worker has released what it held.
        """
        started = time.monotonic()
        if ensure_bucket(self.client, self.s3.bucket, self.s3.region):
            print(f"[exporter] created bucket {self.s3.bucket}", flush=True)
        target = ledger.started_before(self.conn)
        shared = _Shared(self.cfg.max_rows, stop)
        loops = [
            threading.Thread(target=self._loop, args=(w, shared, target, after_upload), name=f"exporter-{i}")
            for i, w in enumerate(self.workers[1:], start=1)
        ]
        for thread in loops:
            thread.start()
        self._loop(self.workers[0], shared, target, after_upload)
        for thread in loops:
            thread.join()
        if shared.failure is not None:
            raise shared.failure
        shared.summary.seconds = time.monotonic() - started
        return shared.summary

    def _loop(
        self, worker: _Worker, shared: _Shared, target: int, after_upload: Callable[[Batch], None] | None
    ) -> None:
        """One worker: take over an expired batch or claim a range, export its batches, until done or stopped."""
        claimed: list[tuple[Batch, pa.Table | None]] = []  # this worker's last claim still to write (leased to it)
        wait_until = time.monotonic() + self.cfg.horizon_wait_seconds
        try:
            while not shared.stopping:
                if not claimed:
                    taken = self._claim(worker, shared)
                    if taken is None:
                        break
                    claimed = taken
                if not claimed and self._wait_for_horizon(worker.conn, target, wait_until):
                    continue
                if not claimed:
                    break
                batch, rows = claimed.pop(0)
                try:
                    size = self._export(worker, batch, rows, after_upload)
                except BaseException:
                    self._release(worker.conn, batch)
                    raise
                if size is not None:
                    shared.exported(batch, size)
                    ROWS.inc(batch.row_count)
                    OBJECTS.inc()
                    WRITTEN_BYTES.inc(size)
        except BaseException as err:
            with shared.lock:
                shared.failure = shared.failure or err
        finally:
            for held, _ in claimed:  # stopped between the dates of one range: the next run takes them at once
                self._release(worker.conn, held)

    def _claim(self, worker: _Worker, shared: _Shared) -> list[tuple[Batch, pa.Table | None]] | None:
        """An expired batch to take over (its rows to be read again), else the next range within the run's row
        budget with its rows ([] when none is exportable yet); None when the budget is spent."""
        with shared.claim_lock:  # claims serialise on the frontier row anyway; this keeps the budget exact
            left = shared.max_rows - shared.claimed if shared.max_rows else self.cfg.chunk_rows
            if left <= 0:
                return None
            expired = ledger.take_expired(worker.conn, self.cfg.lease_seconds)
            limit = min(left, self.cfg.chunk_rows)
            batches = [(expired, None)] if expired else ledger.claim(worker.conn, limit, read_range)
            shared.claimed += sum(b.row_count for b, _ in batches)
        return batches

    def observe_backlog(self) -> float:
        """Set (and return) the backlog age gauge from the database."""
        with self.conn, self.conn.cursor() as cur:
            cur.execute(_BACKLOG)
            age = float(cur.fetchone()[0])
        BACKLOG_AGE.set(age)
        return age

    def _wait_for_horizon(self, conn: psycopg2.extensions.connection, target: int, wait_until: float) -> bool:
        """True (after a short sleep) while a write transaction older than this run is still open: rows it or an
        even older one committed may yet become claimable. False once every such transaction has ended, or the
        wait ran out (the next run exports what is left)."""
        oldest = ledger.horizon(conn)
        if oldest >= target:
            return False
        if time.monotonic() >= wait_until:
            print(
                f"[exporter] transaction {oldest} (older than this run) is still open after "
                f"{self.cfg.horizon_wait_seconds:.0f} s: rows committed after it are left to the next run "
                "(BROOK_EXPORT_HORIZON_WAIT_SECONDS; see pg_stat_activity.backend_xid)",
                flush=True,
            )
            return False
        time.sleep(0.2)
        return True

    @staticmethod
    def _release(conn: psycopg2.extensions.connection, batch: Batch) -> None:
        """Best effort: if Postgres is gone too, the lease simply expires."""
        try:
            conn.rollback()
            ledger.release(conn, batch)
        except psycopg2.Error:
            pass

    def _export(
        self, worker: _Worker, batch: Batch, rows: pa.Table | None, after_upload: Callable[[Batch], None] | None
    ) -> int | None:
        """Write one batch's object, then complete it; the object size, or None if another run completed it.
        ``rows``: what the claim read (None: a taken-over batch, read again by its bounds)."""
        if rows is None:
            table = read_batch(worker.conn, batch)
            worker.conn.commit()
        else:
            table = rows
        if table.num_rows != batch.row_count:
            raise ledger.LedgerError(
                f"batch {batch.batch_id}: {table.num_rows} rows in bets, the ledger says {batch.row_count}"
            )
        data = to_parquet(table)
        del table
        # put_object returns only once the store has the whole object (boto3 also sends a CRC32 the server
        # checks), so the batch is completed below only after its object is durably written.
        worker.client.put_object(
            Bucket=self.s3.bucket,
            Key=batch.object_key,
            Body=data,
            ContentType=PARQUET_CONTENT_TYPE,
            Metadata={"brook-batch": str(batch.batch_id), "brook-rows": str(batch.row_count)},
        )
        if after_upload is not None:
            after_upload(batch)
        if not ledger.complete(worker.conn, batch, len(data)):
            return None
        note = " (recovered)" if batch.recovered else ""
        print(f"[exporter] {batch.object_key} rows={batch.row_count} bytes={len(data)}{note}", flush=True)
        return len(data)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bets.exporter", description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=_count, help="stop after about N rows (0: no limit; BROOK_EXPORT_MAX_ROWS)")
    parser.add_argument("--chunk-rows", type=_count, help="rows per batch/object (BROOK_EXPORT_CHUNK_ROWS)")
    parser.add_argument("--workers", type=_count, help="batches exported in parallel (BROOK_EXPORT_WORKERS)")
    args = parser.parse_args(argv)
    pg, s3, cfg = load(PostgresSettings), load(S3Settings), load(ExportSettings)
    overrides = {"max_rows": args.max_rows, "chunk_rows": args.chunk_rows, "workers": args.workers}
    cfg = dataclasses.replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    cfg.validate()

    try:
        exporter = Exporter(pg, s3, cfg)
    except psycopg2.OperationalError as err:
        print(f"exporter: cannot reach Postgres at {pg.host}:{pg.port} ({err})".strip(), file=sys.stderr)
        return 1
    try:
        done = exporter.run(stop=Stop())
        exporter.observe_backlog()
        LAST_SUCCESS.set_to_current_time()
    except (psycopg2.Error, BotoCoreError, ClientError, ledger.LedgerError) as err:
        print(f"exporter: failed, the next run resumes ({err.__class__.__name__}: {err})".strip(), file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        exporter.close()
    print(f"[exporter] done: {done.line()}", flush=True)
    summary("exporter", **dataclasses.asdict(done))
    return 0


if __name__ == "__main__":
    run(main, "exporter")
