"""The e-commerce batch on real MinIO, Postgres and PyFlink: a hand-written day with hand-computed results.

Hostile lines (not JSON, not an object, a number for a string, a duplicate key) are counted rejects with their
reasons. One Flink run for the module (``python -m jobs.ecommerce.batch`` as a subprocess, reading ``s3://`` through the
plugin of ``make flink-s3-plugin``), on a private bucket and schema whose date already holds stale rows and whose
neighbouring date holds rows that must survive. The assertions then read what it wrote: every table equals the
numbers below, worked out by hand; the Python recount agrees row for row; the stale rows are gone (a rerun
replaces its date); the validation and the audit pass, and the validation fails on a tampered row.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from jobs.common.cli import read_summary
from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, S3Settings, to_env
from jobs.ecommerce.contract import log_key
from jobs.ecommerce.generator import ensure_bucket, jsonl
from jobs.ecommerce.recount import read_day, recount
from jobs.ecommerce.results import TABLES, read, replace

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 4, 10)
BEFORE = date(2026, 4, 8)
D = Decimal


def T(hhmm: str) -> str:
    return f"2026-04-10T{hhmm}:00Z"


def line(order: str, no: int, product: str, category: str, quantity: str, price: str) -> dict[str, str]:
    return {
        "order_id": order,
        "line_no": str(no),
        "product_id": product,
        "category": category,
        "quantity": quantity,
        "unit_price": price,
    }


def view(n: int, customer: str, product: str, category: str, ts: str) -> dict[str, str]:
    return {"view_id": f"v-{n}", "customer_id": customer, "product_id": product, "category": category, "ts": ts}


FILES = {
    "orders": [
        {"order_id": "o-1", "customer_id": "c-1", "ts": T("09:15")},
        {"order_id": "o-2", "customer_id": "c-2", "ts": T("09:45")},
        {"order_id": "o-3", "customer_id": "c-1", "ts": T("17:05")},
        {"order_id": "o-4", "customer_id": "c-3", "ts": "2026-04-11T01:00:00Z"},  # other_day
        {"order_id": "o-5", "ts": T("10:00")},  # missing_customer_id
        {"order_id": "o-7", "customer_id": "c-6", "ts": T("11:00")},  # duplicate_order
        {"order_id": "o-7", "customer_id": "c-7", "ts": T("11:30")},  # duplicate_order
    ],
    "order_lines": [
        line("o-1", 1, "p-a", "books", "2", "10.50"),
        line("o-1", 2, "p-b", "toys", "1", "5.25"),
        line("o-2", 1, "p-a", "books", "1", "10.50"),
        line("o-3", 1, "p-c", "books", "3", "0.10"),
        line("o-3", 2, "p-b", "toys", "0", "5.25"),  # bad_quantity
        line("o-4", 1, "p-a", "books", "1", "10.50"),  # orphan_line: its order was rejected
        line("o-9", 1, "p-a", "books", "1", "10.50"),  # orphan_line: no such order
        line("o-7", 1, "p-a", "books", "1", "10.50"),  # orphan_line: its order id is on two orders
    ],
    "views": [
        view(1, "c-1", "p-a", "books", T("08:00")),
        view(2, "c-1", "p-b", "toys", T("08:30")),
        view(3, "c-2", "p-a", "books", T("09:00")),
        view(4, "c-4", "p-a", "books", T("10:00")),
        view(5, "c-5", "p-d", "garden", T("11:00")),
        view(6, "c-1", "p-c", "books", "10 April"),  # bad_time
    ],
    "returns": [
        {"return_id": "r-1", "order_id": "o-0", "product_id": "p-a", "category": "books", "quantity": "1",
         "ts": T("12:00")},
        {"return_id": "r-2", "order_id": "o-0", "product_id": "p-b", "category": "toys", "quantity": "x",
         "ts": T("12:30")},  # bad_quantity
    ],
}  # fmt: skip
# Lines no JSON reader would read as the contract means them: each is one counted reject, none fails the batch.
HOSTILE = {
    "orders": [b"not json", b"[1]"],  # invalid_json, not_object
    "order_lines": [b'{"order_id":"o-1","line_no":"3","product_id":"p-a","category":"books","quantity":3,'
                    b'"unit_price":"10.50"}'],  # bad_quantity: a JSON number, not a string
    "views": [b'{"view_id":"v-7","view_id":"v-8","customer_id":"c-1","product_id":"p-a","category":"books",'
              b'"ts":"2026-04-10T08:00:00Z"}'],  # invalid_json: duplicate key
}  # fmt: skip
ZERO = {"electronics", "grocery", "home"}
EXPECTED = {
    "ecommerce_intake": {("orders", 9, 3), ("order_lines", 9, 4), ("views", 7, 5), ("returns", 2, 1)},
    "ecommerce_rejects": {
        ("orders", "other_day", 1),
        ("orders", "missing_customer_id", 1),
        ("orders", "invalid_json", 1),
        ("orders", "not_object", 1),
        ("orders", "duplicate_order", 2),
        ("order_lines", "bad_quantity", 2),
        ("views", "invalid_json", 1),
        ("order_lines", "orphan_line", 3),
        ("views", "bad_time", 1),
        ("returns", "bad_quantity", 1),
    },
    # books at 09: o-1 2 × 10.50 + o-2 1 × 10.50; toys at 09: o-1 1 × 5.25; books at 17: o-3 3 × 0.10
    "ecommerce_revenue": {("books", 9, 2, 3, D("31.50")), ("toys", 9, 1, 1, D("5.25")), ("books", 17, 1, 3, D("0.30"))},
    "ecommerce_top_products": {(1, "p-a", "books", 3, D("31.50")), (2, "p-b", "toys", 1, D("5.25")),
                               (3, "p-c", "books", 3, D("0.30"))},
    # books: viewers c-1 c-2 c-4, orders o-1 o-2 o-3, buyers c-1 c-2 → 2 converted; ALL: 5 views, 4 viewers, 3 orders
    "ecommerce_conversion": {("books", 3, 3, 3, 2), ("toys", 1, 1, 1, 1), ("garden", 1, 1, 0, 0), ("ALL", 5, 4, 3, 2)}
    | {(c, 0, 0, 0, 0) for c in ZERO},
    "ecommerce_returns": {("books", 1, 1, 6), ("toys", 0, 0, 1), ("garden", 0, 0, 0)} | {(c, 0, 0, 0) for c in ZERO},
    "ecommerce_customer_days": {("c-1", 2), ("c-2", 1)},
}  # fmt: skip


def day_lines(raw: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in raw)


@dataclasses.dataclass(frozen=True)
class Ran:
    pg: PostgresSettings
    s3: S3Settings
    bucket: str
    env: dict[str, str]
    summary: dict


def sql(pg: PostgresSettings, query: str, *params: object) -> list[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


@pytest.fixture(scope="module")
def ran(pg_settings: PostgresSettings, s3_settings: S3Settings, local_env: dict[str, str]) -> Iterator[Ran]:
    suffix = secrets.token_hex(3)
    pg = dataclasses.replace(pg_settings, schema=f"t_ecommerce_{suffix}")
    bucket = f"t-ecommerce-{suffix}"
    sql(pg_settings, f"CREATE SCHEMA {pg.schema}")
    client = s3_settings.client()
    try:
        migrate(pg.dsn())
        ensure_bucket(client, bucket)
        for kind, rows in FILES.items():
            client.put_object(
                Bucket=bucket, Key=log_key(DAY, kind), Body=jsonl(rows) + day_lines(HOSTILE.get(kind, []))
            )
        # Stale rows of DAY (a previous run's) must go; the earlier day's must stay.
        sql(pg, "INSERT INTO ecommerce_revenue VALUES (%s, 'home', 3, 1, 1, 9.99)", DAY)
        sql(pg, "INSERT INTO ecommerce_customer_days VALUES ('c-9', %s, 1), ('c-1', %s, 1)", DAY, BEFORE)
        env = {**os.environ, **local_env, **to_env(pg), "BROOK_ECOMMERCE_BUCKET": bucket}
        done = subprocess.run(
            [sys.executable, "-m", "jobs.ecommerce.batch", "--date", DAY.isoformat()],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        yield Ran(pg, s3_settings, bucket, env, read_summary(done.stdout, "ecommerce-batch"))
    finally:
        sql(pg_settings, f"DROP SCHEMA {pg.schema} CASCADE")
        for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)


def test_every_table_equals_the_hand_computed_day(ran: Ran) -> None:
    assert read(ran.pg.dsn(), DAY) == EXPECTED
    assert ran.summary["rows_in"] == sum(len(rows) for rows in [*FILES.values(), *HOSTILE.values()]) == 27
    assert ran.summary["written"] == {table: len(EXPECTED[table]) for table in TABLES}


def test_the_python_recount_agrees_row_for_row(ran: Ran) -> None:
    assert recount(read_day(ran.s3.client(), ran.bucket, DAY), DAY, top_n=10) == read(ran.pg.dsn(), DAY)


def test_the_run_replaced_its_dates_stale_rows_and_kept_other_dates(ran: Ran) -> None:
    assert sql(ran.pg, "SELECT count(*) FROM ecommerce_revenue WHERE category = 'home'") == [(0,)]
    assert sql(ran.pg, "SELECT customer_id, date FROM ecommerce_customer_days ORDER BY date, customer_id") == [
        ("c-1", BEFORE),
        ("c-1", DAY),
        ("c-2", DAY),
    ]
    # Writing the same results again (what a rerun does after Flink) changes nothing.
    again = read(ran.pg.dsn(), DAY)
    replace(ran.pg.dsn(), DAY, again)
    assert read(ran.pg.dsn(), DAY) == again == EXPECTED


def test_cohort_retention_follows_first_orders_across_dates(ran: Ran) -> None:
    rows = sql(
        ran.pg,
        "SELECT cohort_date, day_offset, customers, cohort_size, retention FROM ecommerce_cohort_retention "
        "ORDER BY cohort_date, day_offset",
    )
    # c-1 first ordered on BEFORE and again two days later; c-2 first ordered on DAY.
    assert rows == [(BEFORE, 0, 1, 1, D("1.0000")), (BEFORE, 2, 1, 1, D("1.0000")), (DAY, 0, 1, 1, D("1.0000"))]


def test_validation_and_audit_pass_and_validation_catches_a_tampered_row(ran: Ran) -> None:
    def job(module: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", module, "--date", DAY.isoformat()]
        return subprocess.run(argv, env=ran.env, cwd=ROOT, capture_output=True, text=True, timeout=120)

    validated, audited = job("jobs.ecommerce.validate"), job("jobs.ecommerce.audit")
    assert validated.returncode == 0, validated.stderr
    assert read_summary(validated.stdout, "ecommerce-validate")["rows"] == sum(len(v) for v in EXPECTED.values())
    assert audited.returncode == 0, audited.stdout
    assert read_summary(audited.stdout, "ecommerce-audit")["passed"] is True
    sql(ran.pg, "UPDATE ecommerce_revenue SET revenue = revenue + 0.01 WHERE date = %s AND hour = 17", DAY)
    try:
        tampered = job("jobs.ecommerce.validate")
        assert tampered.returncode == 1
        assert "ecommerce_revenue: 1 missing, 1 unexpected" in tampered.stderr
    finally:
        sql(ran.pg, "UPDATE ecommerce_revenue SET revenue = revenue - 0.01 WHERE date = %s AND hour = 17", DAY)
