"""The exporter's batch ledger in Postgres (migrations 003 and 007): claim, lease, complete — each one short
transaction, none of which updates a bets row.

Every bet has an export position ``(ingest_xid, bet_id)``: the id of the transaction that inserted it (a column
default) and its key. A claim reads the next ``limit`` positions after the frontier (``export_frontier``, one row,
locked by the claim so claims never overlap), all below the horizon ``pg_snapshot_xmin(pg_current_snapshot())``:
every transaction with a smaller id has committed or aborted, so no row can appear inside a claimed range later,
however the consumers' transactions interleave. The range becomes one batch per UTC date present in it (each
object holds one date), recorded with its bounds and its fixed object key; the frontier moves to the range's end.
A batch is completed (``exported_at`` set) in one statement after its object is written. A batch left pending —
its run crashed between claim and completion — is re-exported, to the same key, by the first run that finds its
lease expired; a run that fails with an exception releases its leases at once so its retry resumes immediately.
Batches claimed before migration 007 (no bounds) are finished the old way: their rows carry ``export_batch``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sized
from datetime import date
from typing import NamedTuple, TypeVar

from psycopg2.extensions import connection

from jobs.bets.export_naming import object_key


class Batch(NamedTuple):
    batch_id: int
    event_date: date
    object_key: str
    row_count: int
    recovered: bool  # taken over from a run that did not complete it
    lo: tuple[str, str] | None = None  # (ingest_xid, bet_id) just before the range; None: a migration-003 batch
    hi: tuple[str, str] | None = None  # last position in the range


T = TypeVar("T", bound=Sized)
# Reads a range inside the claim's transaction: (conn, frontier position, horizon, limit) → (rows per UTC date,
# last position read or None). jobs.bets.export_parquet.read_range is the one the exporter uses.
RangeReader = Callable[[connection, tuple[str, str], str, int], tuple[dict[date, T], tuple[str, str] | None]]


class LedgerError(RuntimeError):
    """The ledger and the bets table disagree (rows deleted or changed behind the exporter's back)."""


_EXPIRED = """
SELECT batch_id, event_date, object_key, row_count, lo_xid::text, lo_bet::text, hi_xid::text, hi_bet::text
FROM export_batches
WHERE exported_at IS NULL AND (leased_at IS NULL OR leased_at <= now() - make_interval(secs => %s))
ORDER BY batch_id LIMIT 1
FOR NO KEY UPDATE SKIP LOCKED
"""
_LEASE = "UPDATE export_batches SET leased_at = now(), attempts = attempts + 1 WHERE batch_id = %s"

_FRONTIER = "SELECT hi_xid::text, hi_bet::text FROM export_frontier FOR UPDATE"
_HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, pg_current_xact_id()::text"
_NEXT_ID = "SELECT nextval(pg_get_serial_sequence('export_batches', 'batch_id'))"
_RECORD = """
INSERT INTO export_batches (batch_id, event_date, object_key, row_count, leased_at, lo_xid, lo_bet, hi_xid, hi_bet)
VALUES (%s, %s, %s, %s, now(), %s::xid8, %s::uuid, %s::xid8, %s::uuid)
"""
_ADVANCE = "UPDATE export_frontier SET hi_xid = %s::xid8, hi_bet = %s::uuid"

_DONE = """
UPDATE export_batches SET exported_at = now(), bytes = %s, leased_at = NULL
WHERE batch_id = %s AND exported_at IS NULL
"""
_RELEASE = "UPDATE export_batches SET leased_at = NULL WHERE batch_id = %s AND exported_at IS NULL"


def fingerprint(lo: tuple[str, str], hi: tuple[str, str], day: date) -> str:
    """8 hex digits naming a batch by its bounds: the bet ids in them keep two databases' keys apart."""
    return hashlib.md5(f"{lo[0]}/{lo[1]}/{hi[0]}/{hi[1]}/{day.isoformat()}".encode()).hexdigest()[:8]


def started_before(conn: connection) -> int:
    """The first transaction id not yet assigned: every row committed before now is below it."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")
        return int(cur.fetchone()[0])


def horizon(conn: connection) -> int:
    """The oldest transaction id still open (cluster-wide): rows below it can be claimed."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
        return int(cur.fetchone()[0])


def take_expired(conn: connection, lease_seconds: int) -> Batch | None:
    """Lease the oldest pending batch whose lease ran out (its run died, or it was released), or None."""
    with conn, conn.cursor() as cur:
        cur.execute(_EXPIRED, (lease_seconds,))
        row = cur.fetchone()
        if row is None:
            return None
        cur.execute(_LEASE, (row[0],))
    lo = (row[4], row[5]) if row[4] is not None else None
    hi = (row[6], row[7]) if row[6] is not None else None
    return Batch(row[0], row[1], row[2], row[3], recovered=True, lo=lo, hi=hi)


def claim(conn: connection, limit: int, read: RangeReader[T]) -> list[tuple[Batch, T]]:
    """Claim and read the next range of up to ``limit`` rows below the horizon, in one transaction: its batches
    (one per UTC date, all leased to this run) with their rows as ``read`` returned them, or [] when nothing is
    exportable yet. Reading inside the claim scans each row once (a retry reads its batch again by its bounds)."""
    with conn, conn.cursor() as cur:
        cur.execute(_FRONTIER)
        lo = cur.fetchone()
        if lo is None:
            raise LedgerError("export_frontier has no row: is migration 007 applied?")
        cur.execute(_HORIZON)  # after the lock: a horizon at least as late as the frontier we hold
        horizon, current = cur.fetchone()
        if int(current) <= int(lo[0]):
            raise LedgerError(
                f"the database's transaction ids ({current}) are behind the export frontier ({lo[0]}): it was "
                "recreated from a logical dump, so new rows would sort before ranges already exported. Reset the "
                "ledger as docs/exporter.md ('Restores') says."
            )
        days, hi = read(conn, lo, horizon, limit)
        if hi is None:
            return []
        batches = []
        for day, rows in sorted(days.items()):
            cur.execute(_NEXT_ID)
            batch_id = cur.fetchone()[0]
            key = object_key(day, batch_id, fingerprint(lo, hi, day))
            cur.execute(_RECORD, (batch_id, day, key, len(rows), *lo, *hi))
            batches.append((Batch(batch_id, day, key, len(rows), recovered=False, lo=lo, hi=hi), rows))
        cur.execute(_ADVANCE, hi)
    return batches


def complete(conn: connection, batch: Batch, size: int) -> bool:
    """Mark the batch exported (one ledger row); False if another run completed it first."""
    with conn, conn.cursor() as cur:
        cur.execute(_DONE, (size, batch.batch_id))
        return cur.rowcount == 1


def release(conn: connection, batch: Batch) -> None:
    """Give a pending batch back at once (this run failed), so the next run re-exports it without waiting."""
    with conn, conn.cursor() as cur:
        cur.execute(_RELEASE, (batch.batch_id,))
