"""One export batch from Postgres to Parquet bytes, without a Python object per value.

Postgres streams the batch with ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` and Arrow's multi-threaded CSV reader
parses it straight into the exact column types (DESIGN §2.3): decimals as ``decimal128`` with the table's scale,
timestamps as ``timestamp[us, tz=UTC]`` (sent as epoch microseconds, so no time zone or date style can change
them), uuid/text as strings, ``payload`` as its JSON text. Memory is bounded by one batch (``--chunk-rows``).
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg2 import sql
from psycopg2.extensions import connection

from jobs.bets.export_ledger import Batch
from jobs.bets.export_naming import day_bounds

COMPRESSION = "zstd"
TIMESTAMP = pa.timestamp("us", tz="UTC")


class Column(NamedTuple):
    name: str
    select: str  # SQL expression producing the CSV text of the column
    arrow: pa.DataType  # the type in the Parquet file
    nullable: bool = False


def _micros(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


# The bets columns except the export bookkeeping (ingest_xid, export_batch), in table order.
COLUMNS = (
    Column("bet_id", "bet_id::text", pa.string()),
    Column("user_id", "user_id", pa.string()),
    Column("game", "game", pa.string()),
    Column("amount", "amount", pa.decimal128(12, 2)),
    Column("currency", "currency", pa.string()),
    Column("odds", "odds", pa.decimal128(12, 4)),
    Column("status", "status", pa.string()),
    Column("event_time", _micros("event_time"), TIMESTAMP),
    Column("payload", "payload::text", pa.string(), nullable=True),
    Column("ingested_at", _micros("ingested_at"), TIMESTAMP),
)
SCHEMA = pa.schema([pa.field(c.name, c.arrow, nullable=c.nullable) for c in COLUMNS])

# A batch: the rows of one UTC date whose position is in (lo, hi], found on bets_export_position_idx (007).
_RANGE = (
    "(ingest_xid, bet_id) > ({lo_xid}::xid8, {lo_bet}::uuid) AND (ingest_xid, bet_id) <= ({hi_xid}::xid8, "
    "{hi_bet}::uuid) AND export_batch IS NULL AND event_time >= {start} AND event_time < {end}"
)
_LEGACY = "export_batch = {batch}"  # a batch claimed by migration 003: its rows carry its id
_COPY = "COPY (SELECT {cols} FROM bets WHERE {where}) TO STDOUT (FORMAT csv)"
# What a claim reads: the next `limit` rows after the frontier below the horizon, in position order (found through
# bets_export_position_idx), with the position's transaction id as an extra last column. ORDER BY names the table's
# columns (bets.…): a bare name means the *output* column of that name first, here the ::text casts, and text order
# puts xid 10000 before 9999 — a claim straddling a power of ten then took a wrong last position, and the next claim
# exported its rows again (a CI failure) or skipped some for ever.
_CLAIM_COPY = (
    "COPY (SELECT {cols}, ingest_xid::text FROM bets WHERE (ingest_xid, bet_id) > ({lo_xid}::xid8, {lo_bet}::uuid) "
    "AND ingest_xid < {horizon}::xid8 AND export_batch IS NULL ORDER BY bets.ingest_xid, bets.bet_id "
    "LIMIT {limit}) TO STDOUT (FORMAT csv)"
)
_XID = "ingest_xid"
_DAY_MICROS = 86_400_000_000
# Rows in an object are sorted by (event_time, bet_id) in Arrow: the same rows always give the same bytes,
# whichever path read them, and Postgres does not sort (a text sort of 100k rows spilled to disk: ~20 % of a read).
_ORDER = [("event_time", "ascending"), ("bet_id", "ascending")]
# CSV as Postgres writes it: NULL is an empty unquoted field, an empty string is "" (quoted); values may hold
# newlines inside quotes.
_PARSE = pacsv.ParseOptions(newlines_in_values=True)
_CONVERT = pacsv.ConvertOptions(
    column_types={_XID: pa.string(), **{c.name: pa.int64() if c.arrow == TIMESTAMP else c.arrow for c in COLUMNS}},
    null_values=[""],
    strings_can_be_null=True,
    quoted_strings_can_be_null=False,
)


def read_batch(conn: connection, batch: Batch) -> pa.Table:
    """The rows of a pending batch (a retry or a takeover), sorted as :func:`read_range` sorts them.

    A claimed range is final (docs/exporter.md, "Ranges"), so every read of a batch returns the same rows.
    """
    if batch.lo is None or batch.hi is None:
        where = sql.SQL(_LEGACY).format(batch=sql.Literal(batch.batch_id))
    else:
        start, end = day_bounds(batch.event_date)
        bounds = {"lo_xid": batch.lo[0], "lo_bet": batch.lo[1], "hi_xid": batch.hi[0], "hi_bet": batch.hi[1]}
        where = sql.SQL(_RANGE).format(
            start=sql.Literal(start), end=sql.Literal(end), **{k: sql.Literal(v) for k, v in bounds.items()}
        )
    raw = _copy(conn, sql.SQL(_COPY).format(cols=_COLS, where=where), [c.name for c in COLUMNS])
    return _table(raw, f"batch {batch.batch_id}").sort_by(_ORDER)


def read_range(
    conn: connection, lo: tuple[str, str], horizon: str, limit: int
) -> tuple[dict[date, pa.Table], tuple[str, str] | None]:
    """The next ``limit`` rows after position ``lo`` below ``horizon`` (inside the claim's transaction): one sorted
    table per UTC date of event_time, and the last position read (None when there is nothing)."""
    query = sql.SQL(_CLAIM_COPY).format(
        cols=_COLS,
        lo_xid=sql.Literal(lo[0]),
        lo_bet=sql.Literal(lo[1]),
        horizon=sql.Literal(horizon),
        limit=sql.Literal(limit),
    )
    raw = _copy(conn, query, [*(c.name for c in COLUMNS), _XID])
    if raw.num_rows == 0:
        return {}, None
    last = (raw.column(_XID)[-1].as_py(), raw.column("bet_id")[-1].as_py())
    table = _table(raw, f"range after {lo}")
    days = pc.divide(raw.column("event_time"), _DAY_MICROS)  # epoch µs of valid events (after 1970) → UTC day
    split = {}
    for day in pc.unique(days).to_pylist():
        rows = table.filter(pc.equal(days, day)).sort_by(_ORDER)
        split[_EPOCH + timedelta(days=day)] = rows
    return split, last


_COLS = sql.SQL(", ").join(sql.SQL(c.select) for c in COLUMNS)
_EPOCH = date(1970, 1, 1)


def _copy(conn: connection, query: sql.Composable, names: list[str]) -> pa.Table:
    """Run one COPY … TO STDOUT (FORMAT csv) and parse it with Arrow into the column types (timestamps as µs)."""
    buf = io.BytesIO()
    with conn.cursor() as cur:
        cur.copy_expert(query, buf)
    if buf.tell() == 0:
        return pa.table({name: pa.array([], _CONVERT.column_types[name]) for name in names})
    return pacsv.read_csv(pa.py_buffer(buf.getbuffer()), pacsv.ReadOptions(column_names=names), _PARSE, _CONVERT)


def _table(raw: pa.Table, what: str) -> pa.Table:
    """The parsed columns as :data:`SCHEMA` (timestamps typed, the position column dropped); NULLs refused."""
    arrays = [raw.column(c.name).cast(c.arrow) if c.arrow == TIMESTAMP else raw.column(c.name) for c in COLUMNS]
    nulls = [c.name for c, a in zip(COLUMNS, arrays, strict=True) if not c.nullable and a.null_count]
    if nulls:
        raise ValueError(f"{what}: NULL in non-nullable column(s) {', '.join(nulls)}")
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def to_parquet(table: pa.Table) -> bytes:
    """The table as one Parquet file (zstd, one row group per batch)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=COMPRESSION, row_group_size=max(table.num_rows, 1))
    return sink.getvalue().to_pybytes()
