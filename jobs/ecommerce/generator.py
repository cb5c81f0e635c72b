"""Generate e-commerce day logs into MinIO: ``logs/YYYY-MM-DD/{orders,order_lines,views,returns}.jsonl``.

``python -m jobs.ecommerce.generator --date D [--days N] [--orders 400] [--customers 300] [--seed 2026]
[--invalid-rate 0.01]``

Deterministic: the same seed, date and sizes give byte-identical files (each day has its own random stream, so a
day is the same whether it is generated alone or in a range). Each order has 1–4 lines; its customer viewed each of
its products earlier that day; other customers browse without buying (about two views per order); returns on day D
take back about 5 % of day D−1's lines (the returns file of D refers to D−1's orders, as real returns refer to past
orders). Customers come from a fixed pool, so they come back on later days (the cohort table has something to
retain). ``--invalid-rate`` turns that share of rows into hostile ones, each breaking one rule of
:mod:`jobs.ecommerce.contract` (a broken order makes its lines orphans): the batch must reject and count them. The
bucket (``BROOK_ECOMMERCE_BUCKET``) is created if missing; a rerun overwrites the day's objects.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from jobs.common.cli import run, summary
from jobs.common.settings import S3Settings, load
from jobs.ecommerce.contract import CATEGORIES, KINDS, log_key
from jobs.ecommerce.settings import EcommerceSettings

PRODUCTS_PER_CATEGORY = 8
RETURN_SHARE = 0.05
BROWSE_VIEWS_PER_ORDER = 2
# One hostile edit per rule family: (field, bad value). "ts" edits keep the row's kind; each breaks one rule.
HOSTILE = (
    ("customer_id", None),
    ("customer_id", "CUSTOMER 7"),
    ("ts", "2026-13-01 25:00"),
    ("ts", "1999-01-01T00:00:00Z"),
    ("category", "weapons"),
    ("quantity", "0"),
    ("quantity", "-3"),
    ("unit_price", "12.345"),
    ("unit_price", "NaN"),
    ("product_id", ""),
)


@dataclass
class Day:
    """One day's rows per kind, and how many the generator made hostile."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    hostile: Counter[str] = field(default_factory=Counter)


def catalogue(seed: int) -> list[tuple[str, str, Decimal]]:
    """(product_id, category, unit price) of every product: fixed per seed, shared by all days."""
    rng = random.Random(f"{seed}:catalogue")
    return [
        (f"p-{c}{n}", category, Decimal(rng.randrange(199, 20000)) / 100)
        for c, category in enumerate(CATEGORIES)
        for n in range(PRODUCTS_PER_CATEGORY)
    ]


def _ts(rng: random.Random, day: date, low: int = 0, high: int = 86_399) -> tuple[int, str]:
    second = rng.randint(low, high)
    hh, rest = divmod(second, 3600)
    return second, f"{day.isoformat()}T{hh:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


def orders_of(day: date, orders: int, customers: int, seed: int) -> Day:
    """The valid rows of ``day`` (orders, lines, views, and returns of D−1's lines), before any hostile edit."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    products = catalogue(seed)
    out = Day()
    tag = day.strftime("%Y%m%d")
    for n in range(orders):
        order_id, customer = f"o-{tag}-{n}", f"c-{rng.randrange(customers)}"
        second, ts = _ts(rng, day, low=3600)
        out.rows["orders"].append({"order_id": order_id, "customer_id": customer, "ts": ts})
        for line_no, (product, category, price) in enumerate(rng.sample(products, rng.randint(1, 4)), start=1):
            quantity = rng.choice((1, 1, 1, 2, 2, 3, 5))
            out.rows["order_lines"].append(
                {
                    "order_id": order_id,
                    "line_no": str(line_no),
                    "product_id": product,
                    "category": category,
                    "quantity": str(quantity),
                    "unit_price": f"{price:.2f}",
                }
            )
            _, seen = _ts(rng, day, low=max(0, second - 3600), high=second)
            out.rows["views"].append(_view(out, tag, customer, product, category, seen))
    for _ in range(orders * BROWSE_VIEWS_PER_ORDER):
        product, category, _ = rng.choice(products)
        out.rows["views"].append(_view(out, tag, f"c-{rng.randrange(customers)}", product, category, _ts(rng, day)[1]))
    return out


def _view(out: Day, tag: str, customer: str, product: str, category: str, ts: str) -> dict[str, Any]:
    return {
        "view_id": f"v-{tag}-{len(out.rows['views'])}",
        "customer_id": customer,
        "product_id": product,
        "category": category,
        "ts": ts,
    }


def generate(day: date, orders: int, customers: int, seed: int, invalid_rate: float) -> Day:
    """``day``'s rows, returns included, with ``invalid_rate`` of them made hostile (counted in ``hostile``)."""
    out = orders_of(day, orders, customers, seed)
    rng = random.Random(f"{seed}:{day.isoformat()}:returns")
    tag = day.strftime("%Y%m%d")
    for line in orders_of(day - timedelta(days=1), orders, customers, seed).rows["order_lines"]:
        if rng.random() < RETURN_SHARE:
            out.rows["returns"].append(
                {
                    "return_id": f"r-{tag}-{len(out.rows['returns'])}",
                    "order_id": line["order_id"],
                    "product_id": line["product_id"],
                    "category": line["category"],
                    "quantity": str(rng.randint(1, int(line["quantity"]))),
                    "ts": _ts(rng, day)[1],
                }
            )
    if invalid_rate > 0:
        spoil = random.Random(f"{seed}:{day.isoformat()}:hostile")
        for kind in KINDS:
            for row in out.rows[kind]:
                if spoil.random() < invalid_rate:
                    edits = [(name, bad) for name, bad in HOSTILE if name in row]
                    name, bad = spoil.choice(edits)
                    if bad is None:
                        del row[name]
                    else:
                        row[name] = bad
                    out.hostile[kind] += 1
    return out


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    """The file body: one compact JSON object per line."""
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode()


def ensure_bucket(client: Any, bucket: str) -> None:
    """Create ``bucket`` unless it exists (ours or already owned)."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)


def write_day(client: Any, bucket: str, day: date, rows: Day) -> dict[str, int]:
    """Upload the four files of ``day``; return rows per kind."""
    for kind in KINDS:
        client.put_object(Bucket=bucket, Key=log_key(day, kind), Body=jsonl(rows.rows[kind]))
    return {kind: len(rows.rows[kind]) for kind in KINDS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.ecommerce.generator", description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="first UTC date, YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=1, help="how many consecutive days")
    parser.add_argument("--orders", type=int, default=400, help="orders per day")
    parser.add_argument("--customers", type=int, default=300, help="size of the customer pool")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--invalid-rate", type=float, default=0.01, help="share of rows made hostile (0..1)")
    args = parser.parse_args(argv)
    if args.days < 1 or args.orders < 1 or args.customers < 1 or not 0 <= args.invalid_rate <= 1:
        parser.error("--days, --orders and --customers must be at least 1, --invalid-rate within 0..1")
    s3, eco = load(S3Settings), load(EcommerceSettings)
    client = s3.client()
    ensure_bucket(client, eco.bucket)
    totals: Counter[str] = Counter()
    hostile: Counter[str] = Counter()
    for offset in range(args.days):
        day = args.date + timedelta(days=offset)
        rows = generate(day, args.orders, args.customers, args.seed, args.invalid_rate)
        counts = write_day(client, eco.bucket, day, rows)
        totals.update(counts)
        hostile.update(rows.hostile)
        print(f"[ecommerce-generator] {day}: {counts} (hostile {dict(rows.hostile)}) → s3://{eco.bucket}/", flush=True)
    summary("ecommerce-generator", days=args.days, rows=dict(totals), hostile=dict(hostile), bucket=eco.bucket)
    return 0


if __name__ == "__main__":
    run(main, "ecommerce-generator")
