"""The independent recount of a day: the same files read as lines, plain Python judges and computes every result row.

No Flink and no SQL: it shares only the contract's rules (:func:`jobs.ecommerce.contract.judge`) and the result
shape (:data:`jobs.ecommerce.results.TABLES`) with the batch, so a wrong join, filter or aggregation in the Flink
job shows up as a difference. Used by the DAG's validate task, the audit, the tests and the bench's baseline.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from jobs.ecommerce.contract import ALL, CATEGORIES, DUPLICATE_ORDER, KINDS, ORPHAN_LINE, hour, judge, log_key
from jobs.ecommerce.results import Results, empty, normalise

Judged = tuple[str | None, dict[str, Any] | None]  # (reason, None) or (None, the accepted row)


def lines(body: bytes) -> list[bytes]:
    """A file's lines as Flink's ``filesystem`` source cuts them: at ``\\n``, one ``\\r`` before it dropped, no
    line after a final ``\\n``; an empty line is a line (and rejected). Bytes, not text: undecodable bytes are the
    contract's to judge, not the reader's."""
    parts = body.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [part[:-1] if part.endswith(b"\r") else part for part in parts]


def read_kind(client: Any, bucket: str, day: date, kind: str) -> list[bytes]:
    """``kind``'s file of ``day`` as raw lines (a plain GET and a split: no JSON reader that could refuse a line)."""
    return lines(client.get_object(Bucket=bucket, Key=log_key(day, kind))["Body"].read())


def read_day(client: Any, bucket: str, day: date) -> dict[str, list[Judged]]:
    """Every line of the day's four files with its verdict (:func:`jobs.ecommerce.contract.judge`)."""
    return {kind: [judge(kind, line, day) for line in read_kind(client, bucket, day, kind)] for kind in KINDS}


def recount(judged: dict[str, list[Judged]], day: date, top_n: int) -> Results:
    """Every result row of ``day`` from its judged lines."""
    out = empty()
    verdicts = {kind: [why for why, _ in judged[kind]] for kind in KINDS}
    copies = Counter(row["order_id"] for _, row in judged["orders"] if row is not None)
    verdicts["orders"] = [
        DUPLICATE_ORDER if row is not None and copies[row["order_id"]] > 1 else why for why, row in judged["orders"]
    ]
    orders = {row["order_id"]: row for _, row in judged["orders"] if row is not None and copies[row["order_id"]] == 1}
    verdicts["order_lines"] = [
        why if why is not None or row is None or row["order_id"] in orders else ORPHAN_LINE
        for why, row in judged["order_lines"]
    ]
    rows = {kind: [row for _, row in judged[kind]] for kind in KINDS}
    ok = {kind: [r for r, why in zip(rows[kind], verdicts[kind], strict=True) if why is None] for kind in KINDS}
    for kind in KINDS:
        out["ecommerce_intake"].add((kind, len(judged[kind]), len(ok[kind])))
        for why, n in Counter(why for why in verdicts[kind] if why is not None).items():
            out["ecommerce_rejects"].add((kind, why, n))

    revenue: dict[tuple[str, int], list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
    products: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    line_orders: dict[str, set[str]] = defaultdict(set)
    line_buyers: dict[str, set[str]] = defaultdict(set)
    sold: Counter[str] = Counter()
    for line in ok["order_lines"]:
        order = orders[line["order_id"]]
        quantity, amount = int(line["quantity"]), int(line["quantity"]) * Decimal(line["unit_price"])
        cell = revenue[(line["category"], hour(order["ts"]))]
        cell[0], cell[1], cell[2] = cell[0] + 1, cell[1] + quantity, cell[2] + amount
        product = products[(line["product_id"], line["category"])]
        product[0], product[1] = product[0] + quantity, product[1] + amount
        line_orders[line["category"]].add(line["order_id"])
        line_buyers[line["category"]].add(order["customer_id"])
        sold[line["category"]] += quantity
    out["ecommerce_revenue"] = {normalise((c, h, *v)) for (c, h), v in revenue.items()}

    ranked = sorted(products.items(), key=lambda item: (-item[1][1], item[0][0]))[:top_n]
    out["ecommerce_top_products"] = {
        normalise((rank, pid, cat, units, amount)) for rank, ((pid, cat), (units, amount)) in enumerate(ranked, 1)
    }

    views: Counter[str] = Counter(v["category"] for v in ok["views"])
    viewers: dict[str, set[str]] = defaultdict(set)
    for v in ok["views"]:
        viewers[v["category"]].add(v["customer_id"])
    for cat in CATEGORIES:
        converted = len(viewers[cat] & line_buyers[cat])
        out["ecommerce_conversion"].add((cat, views[cat], len(viewers[cat]), len(line_orders[cat]), converted))
    all_viewers = {v["customer_id"] for v in ok["views"]}
    buyers = {o["customer_id"] for o in orders.values()}
    out["ecommerce_conversion"].add((ALL, len(ok["views"]), len(all_viewers), len(orders), len(all_viewers & buyers)))

    returned: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in ok["returns"]:
        returned[r["category"]][0] += 1
        returned[r["category"]][1] += int(r["quantity"])
    for cat in CATEGORIES:
        out["ecommerce_returns"].add((cat, returned[cat][0], returned[cat][1], sold[cat]))

    per_customer = Counter(o["customer_id"] for o in orders.values())
    out["ecommerce_customer_days"] = set(per_customer.items())
    return out
