"""A day's results as rows per table, and the one transaction that replaces a date's rows with them.

Both producers of results fill the same :data:`TABLES` shape: the Flink batch (:mod:`jobs.ecommerce.batch`) and
the independent Python recount (:mod:`jobs.ecommerce.recount`); :func:`read` gives the stored rows in that shape,
so validation is a comparison of three dicts of sets.

Why not Flink's JDBC sink: it upserts row by row in its own transactions, per sink, so a rerun could neither
delete the rows a new run no longer produces nor make seven tables change together. The results of a day are
small (hundreds of rows), so the batch collects them and :func:`replace` writes them in one transaction under a
per-date advisory lock: a rerun, a retry or a concurrent run of the same date leaves exactly one consistent set.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import psycopg2
from psycopg2.extras import execute_values

# table → its columns after ``date`` (keys first). One definition for the batch, the recount, the audit and tests.
TABLES: dict[str, tuple[str, ...]] = {
    "ecommerce_intake": ("source", "rows", "accepted"),
    "ecommerce_rejects": ("source", "reason", "rows"),
    "ecommerce_revenue": ("category", "hour", "order_lines", "units", "revenue"),
    "ecommerce_conversion": ("category", "views", "viewers", "orders", "converted"),
    "ecommerce_top_products": ("rank", "product_id", "category", "units", "revenue"),
    "ecommerce_returns": ("category", "returns", "returned_units", "sold_units"),
    "ecommerce_customer_days": ("customer_id", "orders"),
}
LOCK_NAMESPACE = 0xEC0B  # pg_advisory_xact_lock(namespace, day number): one writer per date at a time

Results = dict[str, set[tuple[Any, ...]]]


def empty() -> Results:
    return {table: set() for table in TABLES}


def normalise(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Ints as int, decimals with two places, text as text: how both producers and Postgres compare equal."""
    out: list[Any] = []
    for value in row:
        if isinstance(value, Decimal):
            out.append(value.quantize(Decimal("0.01")))
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            out.append(value)
        else:
            out.append(int(value))
    return tuple(out)


def replace(dsn: str, day: date, results: Results) -> dict[str, int]:
    """Delete ``day``'s rows from every table and insert ``results``, in one transaction; rows written per table."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, day.toordinal()))
            written = {}
            for table, cols in TABLES.items():
                cur.execute(f"DELETE FROM {table} WHERE date = %s", (day,))
                rows = sorted(results[table], key=repr)
                if rows:
                    execute_values(
                        cur, f"INSERT INTO {table} (date, {', '.join(cols)}) VALUES %s", [(day, *r) for r in rows]
                    )
                written[table] = len(rows)
            return written
    finally:
        conn.close()


def read(dsn: str, day: date) -> Results:
    """The stored rows of ``day``, in :data:`TABLES` shape."""
    out = empty()
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for table, cols in TABLES.items():
            cur.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE date = %s", (day,))
            out[table] = {normalise(row) for row in cur.fetchall()}
    conn.close()
    return out


def differences(expected: Results, actual: Results, limit: int = 5) -> list[str]:
    """Human lines naming rows missing or extra per table (empty when equal)."""
    lines = []
    for table in TABLES:
        missing, extra = expected[table] - actual[table], actual[table] - expected[table]
        if missing or extra:
            lines.append(
                f"{table}: {len(missing)} missing, {len(extra)} unexpected; "
                f"e.g. missing {sorted(missing, key=repr)[:limit]} unexpected {sorted(extra, key=repr)[:limit]}"
            )
    return lines
