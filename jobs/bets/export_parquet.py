"""One export batch from Postgres to Parquet bytes, without a Python object per value.

Postgres streams the batch's columns as stored with ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` and Arrow's
multi-threaded CSV reader parses it straight into the exact column types (DESIGN §2.3): decimals as ``decimal128``
with the table's scale, timestamps as ``timestamp[us, tz=UTC]`` (ISO 8601 text with offset ``+00``: every read pins
``TimeZone`` and ``DateStyle`` for its transaction, so no server or role default can change them), uuid/text as
strings, ``payload`` as its JSON text. No expression runs per row in Postgres: an epoch cast per timestamp cost
about a fifth of a read. Memory is bounded by one batch (``--chunk-rows``).
"""

from __future__ import annotations

import io
from datetime import date
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
    arrow: pa.DataType  # the type in the Parquet file
    nullable: bool = False


# The bets columns except the export bookkeeping (ingest_xid, export_batch), in table order.
COLUMNS = (
    Column("bet_id", pa.string()),
    Column("user_id", pa.string()),
    Column("game", pa.string()),
    Column("amount", pa.decimal128(12, 2)),
    Column("currency", pa.string()),
    Column("odds", pa.decimal128(12, 4)),
    Column("status", pa.string()),
    Column("event_time", TIMESTAMP),
    Column("payload", pa.string(), nullable=True),
    Column("ingested_at", TIMESTAMP),
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
# columns (bets.…): a bare name means the *output* column of that name first, and for ingest_xid that is its ::text
# cast: text order puts xid 10000 before 9999 — a claim straddling a power of ten then took a wrong last position,
# and the next claim exported its rows again (a CI failure) or skipped some for ever.
_CLAIM_COPY = (
    "COPY (SELECT {cols}, ingest_xid::text FROM bets WHERE (ingest_xid, bet_id) > ({lo_xid}::xid8, {lo_bet}::uuid) "
    "AND ingest_xid < {horizon}::xid8 AND export_batch IS NULL ORDER BY bets.ingest_xid, bets.bet_id "
    "LIMIT {limit}) TO STDOUT (FORMAT csv)"
)
_XID = "ingest_xid"
# Timestamps as text the CSV reader parses exactly: ISO 8601, UTC, offset "+00". SET LOCAL ends with the transaction.
_PIN_FORMAT = "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'"
# Rows in an object are sorted by (event_time, bet_id) in Arrow, by to_parquet: the same rows always give the same
# bytes, whichever path read them; Postgres does not sort (a text sort of 100k rows spilled to disk: ~20 % of a
# read), and the claim does not either (it holds the frontier lock: every other claim waits for it).
_ORDER = [("event_time", "ascending"), ("bet_id", "ascending")]
# CSV as Postgres writes it: NULL is an empty unquoted field, an empty string is "" (quoted); values may hold
# newlines inside quotes.
_PARSE = pacsv.ParseOptions(newlines_in_values=True)
_CONVERT = pacsv.ConvertOptions(
    column_types={_XID: pa.string(), **{c.name: c.arrow for c in COLUMNS}},
    null_values=[""],
    strings_can_be_null=True,
    quoted_strings_can_be_null=False,
)


def read_batch(conn: connection, batch: Batch) -> pa.Table:
    """The rows of a pending batch (a retry or a takeover): the rows :func:`read_range` gave its claim.

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
    return _table(raw, f"batch {batch.batch_id}")


def read_range(
    conn: connection, lo: tuple[str, str], horizon: str, limit: int
) -> tuple[dict[date, pa.Table], tuple[str, str] | None]:
    """The next ``limit`` rows after position ``lo`` below ``horizon`` (inside the claim's transaction): one
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
    # The UTC date of each row: the UTC wall time without its zone, truncated to a date. Compared with Arrow
    # scalars: converting a Python date for each comparison cost ~0.2 s in a run's first claim, under the lock.
    days = table.column("event_time").cast(pa.timestamp("us")).cast(pa.date32())
    return {day.as_py(): table.filter(pc.equal(days, day)) for day in pc.unique(days)}, last


_COLS = sql.SQL(", ").join(sql.Identifier(c.name) for c in COLUMNS)


def _copy(conn: connection, query: sql.Composable, names: list[str]) -> pa.Table:
    """Run one COPY … TO STDOUT (FORMAT csv) and parse it with Arrow into the column types."""
    buf = io.BytesIO()
    with conn.cursor() as cur:
        cur.execute(_PIN_FORMAT)
        cur.copy_expert(query, buf)
    if buf.tell() == 0:
        return empty_table(names)
    return pacsv.read_csv(pa.py_buffer(buf.getbuffer()), pacsv.ReadOptions(column_names=names), _PARSE, _CONVERT)


def empty_table(names: list[str]) -> pa.Table:
    """No rows, in the columns' types. Built from typed null arrays: ``pa.array([], type)`` and
    ``Schema.empty_table()`` import pandas for a timezone-aware timestamp, ~1.2 s that the last claim of every run
    (the one that finds nothing) paid, half of a 300,000-row run."""
    types = _CONVERT.column_types
    return pa.Table.from_arrays([pa.nulls(0, types[name]) for name in names], names=names)


def _table(raw: pa.Table, what: str) -> pa.Table:
    """The parsed columns as :data:`SCHEMA` (the position column dropped); NULLs refused."""
    arrays = [raw.column(c.name) for c in COLUMNS]
    nulls = [c.name for c, a in zip(COLUMNS, arrays, strict=True) if not c.nullable and a.null_count]
    if nulls:
        raise ValueError(f"{what}: NULL in non-nullable column(s) {', '.join(nulls)}")
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def to_parquet(table: pa.Table) -> bytes:
    """The table as one Parquet file: rows sorted by (event_time, bet_id), zstd, one row group per batch."""
    sink = pa.BufferOutputStream()
    pq.write_table(table.sort_by(_ORDER), sink, compression=COMPRESSION, row_group_size=max(table.num_rows, 1))
    return sink.getvalue().to_pybytes()
