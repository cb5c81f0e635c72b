"""The exporter on real Postgres + MinIO: partitions, exact round trip, crashes, overlapping runs, CLI.

Each test has its own migrated schema (``pg_schema``) and its own bucket, so it shares nothing with other tests.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import secrets
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.bets import export_ledger
from jobs.bets.contract import Bet
from jobs.bets.export_ledger import Batch
from jobs.bets.export_parquet import SCHEMA, read_batch, read_range, to_parquet
from jobs.bets.exporter import Exporter, ExportSettings, Summary
from jobs.bets.store import insert_bets
from jobs.common.cli import read_summary
from jobs.common.migrate import migrate, sql_dirs
from jobs.common.settings import PostgresSettings, S3Settings, to_env
from tests.message_strategies import profile

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MINUS_2 = timezone(timedelta(hours=-2))
COLUMNS = "bet_id::text, user_id, game, amount, currency, odds, status, event_time, payload, ingested_at"


@pytest.fixture
def s3(s3_settings: S3Settings) -> Iterator[S3Settings]:
    """S3 settings with a bucket of this test's own, which does not exist yet; emptied and removed afterwards."""
    settings = dataclasses.replace(s3_settings, bucket=f"t-export-{secrets.token_hex(6)}")
    yield settings
    client = settings.client()
    try:
        for key in keys(settings):
            client.delete_object(Bucket=settings.bucket, Key=key)
        client.delete_bucket(Bucket=settings.bucket)
    except client.exceptions.NoSuchBucket:
        pass


def bet(n: int, event_time: datetime, **changes: object) -> Bet:
    base = Bet(
        bet_id=str(uuid.UUID(int=n)),
        user_id=f"user-{n % 7}",
        game="roulette",
        amount=Decimal("10.50") + n,
        currency="EUR",
        odds=Decimal("2.5000"),
        status="placed",
        event_time=event_time,
        payload=None,
    )
    return base._replace(**changes)


def insert(pg: PostgresSettings, bets: list[Bet]) -> None:
    with psycopg2.connect(pg.dsn()) as conn:
        assert insert_bets(conn, bets) == len(bets)


def spread(count: int, start: datetime, first: int = 1) -> list[Bet]:
    """``count`` bets one second apart from ``start``."""
    return [bet(first + i, start + timedelta(seconds=i)) for i in range(count)]


def keys(s3: S3Settings) -> list[str]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def read_object(s3: S3Settings, key: str) -> pa.Table:
    body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


def exported_ids(s3: S3Settings) -> Counter[str]:
    """How many times each bet_id appears across every object in the bucket."""
    ids: Counter[str] = Counter()
    for key in keys(s3):
        ids.update(read_object(s3, key).column("bet_id").to_pylist())
    return ids


def query(pg: PostgresSettings, sql: str, *args: object) -> list[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def exported_rows(pg: PostgresSettings) -> int:
    """Rows in a completed batch (the view the audit counts)."""
    return query(pg, "SELECT count(*) FROM bets_exported")[0][0]


def unexported(pg: PostgresSettings) -> int:
    return query(pg, "SELECT count(*) FROM bets")[0][0] - exported_rows(pg)


def run(pg: PostgresSettings, s3: S3Settings, **cfg: int) -> Summary:
    exporter = Exporter(pg, s3, ExportSettings(**cfg))
    try:
        return exporter.run()
    finally:
        exporter.close()


def test_two_utc_dates_exact_round_trip(pg_schema: PostgresSettings, s3: S3Settings) -> None:
    day1 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    bets = spread(5, day1)
    bets += [
        # 23:30 at UTC-2 is 01:30 the next UTC day; microseconds must survive.
        bet(100, datetime(2026, 3, 1, 23, 30, 0, 123456, tzinfo=MINUS_2), amount=Decimal("0.01"), odds=Decimal("1.01")),
        bet(
            101,
            datetime(2026, 3, 2, 0, 0, tzinfo=UTC),
            amount=Decimal("9999999999.99"),
            odds=Decimal("99999999.9999"),
            user_id="tab\there \\ back",
            game='football:"ARS", CHE\nsecond line ✓',
            status="won",
            currency="GBP",
            payload={"note": 'a,"b"\n', "n": 1.5, "nested": {"k": [1, 2, None]}, "empty": ""},
        ),
        bet(102, datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC), status="cancelled", payload={}),
    ]
    insert(pg_schema, bets)

    summary = run(pg_schema, s3, chunk_rows=3)

    # One transaction: ranges of 3 in bet_id order, one object per UTC date of a range: 1-3 | 4-5, 100 | 101-102.
    assert (summary.rows, summary.objects, summary.recovered) == (8, 4, 0)
    found = keys(s3)
    assert len(found) == 4
    assert {k.rsplit("/", 1)[0] for k in found} == {"raw/2026-03-01", "raw/2026-03-02"}
    assert summary.bytes == sum(s3.client().head_object(Bucket=s3.bucket, Key=k)["ContentLength"] for k in found)

    exported: dict[str, dict] = {}
    for key in found:
        table = read_object(s3, key)
        assert table.schema.equals(SCHEMA), table.schema  # exact types: decimal128(12,2/4), timestamp[us, UTC]
        meta = pq.ParquetFile(io.BytesIO(s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read())).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        day = date.fromisoformat(key.split("/")[1])
        for row in table.to_pylist():
            assert row["event_time"].astimezone(UTC).date() == day, (key, row)
            exported[row["bet_id"]] = row
    assert len(exported) == len(bets)

    for db in query(pg_schema, f"SELECT {COLUMNS} FROM bets"):
        row = exported[db[0]]
        assert (row["user_id"], row["game"], row["currency"], row["status"]) == (db[1], db[2], db[4], db[6])
        assert row["amount"] == db[3] and row["amount"].as_tuple().exponent == -2
        assert row["odds"] == db[5] and row["odds"].as_tuple().exponent == -4
        assert row["event_time"] == db[7] and row["ingested_at"] == db[9]
        assert (json.loads(row["payload"]) if row["payload"] is not None else None) == db[8]
    assert exported[str(uuid.UUID(int=100))]["event_time"] == datetime(2026, 3, 2, 1, 30, 0, 123456, tzinfo=UTC)
    assert exported[str(uuid.UUID(int=101))]["amount"] == Decimal("9999999999.99")
    assert exported[str(uuid.UUID(int=1))]["payload"] is None

    assert unexported(pg_schema) == 0
    assert query(pg_schema, "SELECT count(*) FROM export_batches WHERE exported_at IS NULL") == [(0,)]
    again = run(pg_schema, s3, chunk_rows=3)
    assert (again.rows, again.objects) == (0, 0)
    assert keys(s3) == found


def crash_on(batch_number: int) -> tuple[list[Batch], object]:
    """An after_upload hook that raises on the n-th batch (the object is written, the rows are not marked). Workers
    call it from their threads: counting and appending happen under a lock, so exactly one call is the n-th."""
    seen: list[Batch] = []
    lock = threading.Lock()

    def hook(batch: Batch) -> None:
        with lock:
            seen.append(batch)
            crash = len(seen) == batch_number
        if crash:
            raise RuntimeError("injected crash between upload and commit")

    return seen, hook


def test_crash_after_upload_then_rerun_exports_each_row_once(pg_schema: PostgresSettings, s3: S3Settings) -> None:
    insert(pg_schema, spread(25, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)))
    seen, hook = crash_on(2)
    exporter = Exporter(pg_schema, s3, ExportSettings(chunk_rows=10, workers=1))  # one loop: exact counts below
    with pytest.raises(RuntimeError, match="injected crash"):
        exporter.run(after_upload=hook)
    exporter.close()

    crashed = seen[1]
    assert crashed.object_key in keys(s3)  # durably written ...
    pending = "SELECT row_count, exported_at FROM export_batches WHERE batch_id = %s"
    assert query(pg_schema, pending, crashed.batch_id) == [(10, None)]  # ... but not completed
    assert exported_rows(pg_schema) == 10

    summary = run(pg_schema, s3, chunk_rows=10)  # the failed run released its lease: the retry resumes at once
    assert (summary.rows, summary.objects, summary.recovered) == (15, 2, 1)
    ids = exported_ids(s3)
    assert len(ids) == 25 and set(ids.values()) == {1}
    assert len(keys(s3)) == 3
    assert query(pg_schema, "SELECT attempts FROM export_batches WHERE batch_id = %s", crashed.batch_id) == [(2,)]
    assert unexported(pg_schema) == 0


def test_a_failing_worker_stops_the_run_and_the_rerun_exports_each_row_once(
    pg_schema: PostgresSettings, s3: S3Settings
) -> None:
    insert(pg_schema, spread(200, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)))
    seen, hook = crash_on(3)
    exporter = Exporter(pg_schema, s3, ExportSettings(chunk_rows=10, workers=3))
    with pytest.raises(RuntimeError, match="injected crash"):
        exporter.run(after_upload=hook)
    exporter.close()

    # The other workers stopped after their current batch and released every batch they still held.
    assert exported_rows(pg_schema) < 200
    held = "SELECT count(*) FROM export_batches WHERE exported_at IS NULL AND leased_at IS NOT NULL"
    assert query(pg_schema, held) == [(0,)]
    run(pg_schema, s3, chunk_rows=10)
    ids = exported_ids(s3)
    assert len(ids) == 200 and set(ids.values()) == {1}
    assert unexported(pg_schema) == 0
    # The crashed batch was released, then exported again (by a sibling worker before it stopped, or the rerun).
    crashed = "SELECT exported_at IS NOT NULL, attempts FROM export_batches WHERE batch_id = %s"
    assert query(pg_schema, crashed, seen[2].batch_id) == [(True, 2)]


HARD_CRASH = """
import os
from jobs.bets.exporter import Exporter, ExportSettings
from jobs.common.settings import PostgresSettings, S3Settings, load
exporter = Exporter(load(PostgresSettings), load(S3Settings), load(ExportSettings))
exporter.run(after_upload=lambda batch: os._exit(17))  # the process dies: no rollback, no lease release
"""


def test_hard_crash_is_recovered_once_the_lease_expires(pg_schema: PostgresSettings, s3: S3Settings) -> None:
    insert(pg_schema, spread(25, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)))
    # One worker: the run dies holding exactly one batch.
    env = {
        "PATH": os.environ["PATH"],
        **to_env(pg_schema, s3),
        "BROOK_EXPORT_CHUNK_ROWS": "10",
        "BROOK_EXPORT_WORKERS": "1",
    }
    died = subprocess.run([sys.executable, "-c", HARD_CRASH], env=env, cwd=ROOT, capture_output=True, text=True)
    assert died.returncode == 17, died.stderr
    [(pending, key)] = query(pg_schema, "SELECT batch_id, object_key FROM export_batches WHERE exported_at IS NULL")
    assert keys(s3) == [key]

    live = run(pg_schema, s3, chunk_rows=10)  # lease still valid: the batch may belong to a live, slow run
    assert (live.rows, live.recovered) == (15, 0)
    assert unexported(pg_schema) == 10

    expired = run(pg_schema, s3, chunk_rows=10, lease_seconds=0)  # as if the lease ran out
    assert (expired.rows, expired.objects, expired.recovered) == (10, 1, 1)
    ids = exported_ids(s3)
    assert len(ids) == 25 and set(ids.values()) == {1}
    assert key in keys(s3) and len(keys(s3)) == 3
    assert query(pg_schema, "SELECT exported_at IS NOT NULL FROM export_batches WHERE batch_id = %s", pending) == [
        (True,)
    ]


def run_together(exporters: list[Exporter]) -> tuple[list[Summary | BaseException], list[Batch]]:
    """Run the exporters in threads that all hold an uploaded, unmarked batch at the same moment.

    Returns each run's summary (or error) and the batch each run held at that moment.
    """
    barrier = threading.Barrier(len(exporters), timeout=120)
    results: list[Summary | BaseException] = [RuntimeError("did not finish")] * len(exporters)
    held: list[Batch] = []

    def work(i: int) -> None:
        first = True

        def meet(batch: Batch) -> None:
            nonlocal first
            if first:
                first = False
                held.append(batch)
                barrier.wait()

        try:
            results[i] = exporters[i].run(after_upload=meet)
        except BaseException as err:
            barrier.abort()
            results[i] = err
        finally:
            exporters[i].close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(exporters))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, held


def test_overlapping_runs_export_each_row_once(pg_schema: PostgresSettings, s3: S3Settings) -> None:
    total = 2000
    insert(pg_schema, spread(total, datetime(2026, 3, 1, 23, 50, tzinfo=UTC)))  # crosses midnight UTC
    exporters = [Exporter(pg_schema, s3, ExportSettings(chunk_rows=50)) for _ in range(2)]
    results, held = run_together(exporters)

    assert all(isinstance(r, Summary) for r in results), results
    a, b = results
    assert a.rows > 0 and b.rows > 0  # both really worked, on different batches
    assert len({batch.batch_id for batch in held}) == 2
    assert a.rows + b.rows == total and a.recovered == b.recovered == 0
    ids = exported_ids(s3)
    assert len(ids) == total and set(ids.values()) == {1}
    assert len(keys(s3)) == a.objects + b.objects
    assert query(pg_schema, "SELECT count(*), sum(row_count) FROM export_batches WHERE exported_at IS NOT NULL") == [
        (a.objects + b.objects, total)
    ]


def test_stalled_and_recovering_runs_writing_one_batch_leave_one_object(
    pg_schema: PostgresSettings, s3: S3Settings
) -> None:
    insert(pg_schema, spread(30, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)))
    conn = psycopg2.connect(pg_schema.dsn())
    try:
        [(batch, claimed)] = export_ledger.claim(conn, 100, read_range)  # a run that claimed and died
        assert batch.row_count == 30
        expected = to_parquet(read_batch(conn, batch))
        assert to_parquet(claimed) == expected  # what the claim read is what a takeover reads
        assert to_parquet(read_batch(conn, batch)) == expected  # same batch, same bytes
    finally:
        conn.close()

    # Lease 0 everywhere: as if every lease ran out. A takes the batch and stalls after uploading; B takes it over,
    # uploads it again and completes it; then A wakes up and tries to complete it too.
    uploaded, resume = threading.Event(), threading.Event()
    stalled: list[Batch] = []

    def stall(held: Batch) -> None:
        stalled.append(held)
        uploaded.set()
        assert resume.wait(60), "the test never resumed the stalled run"

    # One worker per run: with lease 0 a sibling worker would take the stalled batch over inside the same run.
    slow = Exporter(pg_schema, s3, ExportSettings(lease_seconds=0, workers=1))
    result: list[Summary | BaseException] = []

    def work() -> None:
        try:
            result.append(slow.run(after_upload=stall))
        except BaseException as err:
            result.append(err)
            uploaded.set()

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert uploaded.wait(60) and not result, f"the stalled run never uploaded: {result}"
        taken = run(pg_schema, s3, lease_seconds=0, workers=1)
    finally:
        resume.set()
        thread.join()
        slow.close()

    assert [b.batch_id for b in stalled] == [batch.batch_id]
    assert (taken.rows, taken.recovered) == (30, 1)
    assert len(result) == 1 and isinstance(result[0], Summary), result
    assert (result[0].rows, result[0].objects) == (0, 0)  # found the batch already done
    assert keys(s3) == [batch.object_key]
    assert s3.client().get_object(Bucket=s3.bucket, Key=batch.object_key)["Body"].read() == expected
    assert exported_rows(pg_schema) == 30
    assert query(pg_schema, "SELECT attempts FROM export_batches") == [(3,)]  # claim + two takeovers


def exporter_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs.bets.exporter", *args],
        env={"PATH": os.environ["PATH"], **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_cli_creates_the_bucket_and_stops_at_max_rows(pg_schema: PostgresSettings, s3: S3Settings) -> None:
    insert(pg_schema, spread(30, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)))
    client = s3.client()
    with pytest.raises(client.exceptions.ClientError):
        client.head_bucket(Bucket=s3.bucket)

    done = exporter_cli(to_env(pg_schema, s3), "--max-rows", "25", "--chunk-rows", "10")
    assert done.returncode == 0, done.stderr
    assert f"created bucket {s3.bucket}" in done.stdout
    summary = read_summary(done.stdout, "exporter")
    assert (summary["rows"], summary["objects"]) == (25, 3)
    assert summary["bytes"] > 0 and summary["seconds"] > 0
    client.head_bucket(Bucket=s3.bucket)
    assert [len(read_object(s3, k)) for k in keys(s3)] == [10, 10, 5]
    assert unexported(pg_schema) == 5


def test_cli_missing_endpoint_is_a_config_error(pg_schema: PostgresSettings, s3: S3Settings) -> None:
    env = to_env(pg_schema, s3)
    del env["BROOK_S3_ENDPOINT"]
    failed = exporter_cli(env)
    assert failed.returncode == 2
    assert "BROOK_S3_ENDPOINT" in failed.stderr
    assert query(pg_schema, "SELECT count(*) FROM export_batches") == [(0,)]


def test_a_row_of_an_open_transaction_is_not_skipped_by_a_later_commit(
    pg_schema: PostgresSettings, s3: S3Settings
) -> None:
    """Transaction ids are assigned in one order and commit in another: a range is claimed only below the oldest
    open transaction, so the row of a transaction still open when a later one commits is exported afterwards."""
    early = psycopg2.connect(pg_schema.dsn())
    try:
        insert_bets(early, [bet(1, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))])  # open: its transaction id is older
        insert(pg_schema, [bet(2, datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC))])  # committed, younger id
        while_open = run(pg_schema, s3, horizon_wait_seconds=1)
        early.commit()
    finally:
        early.close()
    after = run(pg_schema, s3)  # waits for the older transactions of the shared test server to end

    assert (while_open.rows, after.rows) == (0, 2)  # nothing below the horizon while the older one was open
    ids = exported_ids(s3)
    assert set(ids) == {str(uuid.UUID(int=1)), str(uuid.UUID(int=2))} and set(ids.values()) == {1}
    assert unexported(pg_schema) == 0


# Transaction ids on both sides of powers of ten: their text forms sort in another order than their values (the
# claim once ordered by the text column and exported a range twice, skipping or doubling rows).
XID_POOL = sorted({power + step for power in (10, 100, 1_000, 10_000) for step in range(-2, 2)})


def burn_transaction_ids_past(pg: PostgresSettings, xid: int) -> None:
    """Advance the server's transaction counter beyond ``xid`` (a fresh server starts near 750), so rows given
    those ids by hand are below the claim horizon like any committed row."""
    conn = psycopg2.connect(pg.dsn())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_current_xact_id()::text")
            for _ in range(max(0, xid + 1 - int(cur.fetchone()[0]))):
                cur.execute("SELECT pg_current_xact_id()")
    finally:
        conn.close()


@pytest.mark.fuzz
@profile(20)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(XID_POOL), st.integers(1, 10**9), st.booleans()),
        min_size=1,
        max_size=40,
        unique_by=lambda row: row[1],
    ),
    chunk=st.integers(1, 45),
)
def test_claims_follow_transaction_id_order_across_powers_of_ten(
    pg_schema: PostgresSettings, s3: S3Settings, rows: list[tuple[int, int, bool]], chunk: int
) -> None:
    """Rows whose positions straddle 9→10, 99→100, … in any mix, chunk size and UTC dates: every row is exported
    exactly once, and the frontier ends on the largest position by value."""
    burn_transaction_ids_past(pg_schema, max(XID_POOL))
    client = s3.client()
    try:
        for key in keys(s3):  # the objects of the previous example
            client.delete_object(Bucket=s3.bucket, Key=key)
    except client.exceptions.NoSuchBucket:
        pass
    day = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    bets = [bet(n, day + timedelta(hours=2 if next_day else 0, seconds=i)) for i, (_, n, next_day) in enumerate(rows)]
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE bets, export_batches")
        cur.execute("UPDATE export_frontier SET hi_xid = '0', hi_bet = '00000000-0000-0000-0000-000000000000'")
        assert insert_bets(conn, bets) == len(bets)
        cur.executemany(
            "UPDATE bets SET ingest_xid = %s::xid8 WHERE bet_id = %s",
            [(str(xid), str(uuid.UUID(int=n))) for xid, n, _ in rows],
        )

    summary = run(pg_schema, s3, chunk_rows=chunk, horizon_wait_seconds=0)

    assert summary.rows == len(rows)
    assert exported_ids(s3) == Counter(str(uuid.UUID(int=n)) for _, n, _ in rows)  # each once, none missing
    assert unexported(pg_schema) == 0
    last = max((xid, uuid.UUID(int=n)) for xid, n, _ in rows)
    assert query(pg_schema, "SELECT hi_xid::text::bigint, hi_bet FROM export_frontier") == [(last[0], str(last[1]))]


def test_migration_007_finishes_a_pending_003_batch_and_skips_exported_rows(
    pg_settings: PostgresSettings, s3: S3Settings, tmp_path: Path
) -> None:
    """A database exported by the 003 design (per-row flags) migrates to ranges: rows already exported stay out,
    a batch left pending is written to its recorded key, the rest is exported once."""
    old = tmp_path / "sql"
    old.mkdir()
    for folder in sql_dirs():
        for path in folder.glob("*.sql"):
            if int(path.name[:3]) < 7:
                (old / path.name).write_text(path.read_text())
    name = f"t_export_legacy_{secrets.token_hex(3)}"
    with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {name}")
    pg = dataclasses.replace(pg_settings, schema=name)
    try:
        migrate(pg.dsn(), [old])
        insert(pg, spread(40, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)))
        pending_key = "raw/2026-03-01/part-000000000002-0123abcd.parquet"
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:  # the state 003's exporter leaves
            cur.execute(
                "INSERT INTO export_batches (batch_id, event_date, object_key, row_count, exported_at) VALUES "
                "(1, '2026-03-01', 'raw/2026-03-01/part-000000000001-00000000.parquet', 10, now()), "
                "(2, '2026-03-01', %s, 10, NULL)",
                (pending_key,),
            )
            cur.execute("SELECT setval(pg_get_serial_sequence('export_batches', 'batch_id'), 2)")
            ids = [str(uuid.UUID(int=n)) for n in range(1, 41)]
            cur.execute("UPDATE bets SET export_batch = 1, exported = true WHERE bet_id::text = ANY(%s)", (ids[:10],))
            cur.execute("UPDATE bets SET export_batch = 2 WHERE bet_id::text = ANY(%s)", (ids[10:20],))
            cur.execute("UPDATE bets SET exported = true WHERE bet_id::text = ANY(%s)", (ids[20:25],))  # before 003
        assert min(m.version for m in migrate(pg.dsn())) == 7  # and any later ones

        summary = run(pg, s3, chunk_rows=100)

        assert (summary.rows, summary.objects, summary.recovered) == (25, 2, 1)
        assert pending_key in keys(s3)
        assert sorted(read_object(s3, pending_key).column("bet_id").to_pylist()) == sorted(ids[10:20])
        exported_now = exported_ids(s3)
        assert set(exported_now) == set(ids[10:20] + ids[25:]) and set(exported_now.values()) == {1}
        assert unexported(pg) == 0
        assert run(pg, s3).rows == 0
    finally:
        with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {name} CASCADE")
