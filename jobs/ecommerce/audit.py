"""The e-commerce conservation audit: every input row of a day is in the results, accepted or rejected with a reason.

``python -m jobs.ecommerce.audit --date YYYY-MM-DD [--days N]``

Per day, from the files (re-read as lines, judged again) and the stored tables: rows per file = the batch's
intake; accepted + rejected (Σ reasons) = rows; accepted order lines = Σ revenue lines; accepted views and orders =
the conversion table's ALL row; orders = Σ customer-days; accepted returns = Σ returns; units in revenue = units
sold in the returns table; and every stored row equals the independent recount. Exit 0 only when all agree.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

from jobs.common.audit import Check, as_summary, passed, render
from jobs.common.cli import run, summary
from jobs.common.settings import PostgresSettings, S3Settings, load
from jobs.ecommerce.contract import ALL, KINDS
from jobs.ecommerce.recount import read_day, recount
from jobs.ecommerce.results import Results, differences, read
from jobs.ecommerce.settings import EcommerceSettings

JOB = "ecommerce-audit"


def _sum(rows: set[tuple[Any, ...]], index: int) -> int:
    return sum(int(row[index]) for row in rows)


def day_checks(day: date, files: dict[str, list[dict[str, Any]]], stored: Results, expected: Results) -> list[Check]:
    """The audit rows of one day (see the module docstring)."""
    intake = {row[0]: row for row in stored["ecommerce_intake"]}
    rejected = {kind: sum(r[2] for r in stored["ecommerce_rejects"] if r[0] == kind) for kind in KINDS}
    everything = next((r for r in stored["ecommerce_conversion"] if r[0] == ALL), (ALL, 0, 0, 0, 0))
    checks = []
    for kind in KINDS:
        rows = len(files[kind])
        stored_rows, accepted = intake.get(kind, (kind, 0, 0))[1:]
        checks.append(Check(f"{day} {kind}: rows in the file", rows))
        checks.append(Check("  read by the batch", stored_rows, rows, "batch intake = file rows"))
        checks.append(Check("  accepted + rejected", accepted + rejected[kind], rows, "one verdict per row"))
    accepted = {kind: intake.get(kind, (kind, 0, 0))[2] for kind in KINDS}
    checks += [
        Check(f"{day} lines in revenue", _sum(stored["ecommerce_revenue"], 2), accepted["order_lines"], "Σ lines"),
        Check(f"{day} views in conversion", int(everything[1]), accepted["views"], "ALL.views"),
        Check(f"{day} orders in conversion", int(everything[3]), accepted["orders"], "ALL.orders"),
        Check(f"{day} orders in customer-days", _sum(stored["ecommerce_customer_days"], 1), accepted["orders"], "Σ"),
        Check(f"{day} returns", _sum(stored["ecommerce_returns"], 1), accepted["returns"], "Σ returns"),
        Check(
            f"{day} units sold",
            _sum(stored["ecommerce_returns"], 3),
            _sum(stored["ecommerce_revenue"], 3),
            "returns.sold_units = revenue.units",
        ),
        Check(f"{day} tables differing from the recount", len(differences(expected, stored, limit=0)), 0, "recount"),
    ]
    return checks


def audit(s3: S3Settings, eco: EcommerceSettings, pg: PostgresSettings, first: date, days: int) -> list[Check]:
    client, checks = s3.client(), []
    for offset in range(days):
        day = first + timedelta(days=offset)
        files = read_day(client, eco.bucket, day)
        checks += day_checks(day, files, read(pg.dsn(), day), recount(files, day, eco.top_products))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.ecommerce.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="first UTC date, YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=1, help="how many consecutive days")
    args = parser.parse_args(argv)
    checks = audit(load(S3Settings), load(EcommerceSettings), load(PostgresSettings), args.date, args.days)
    render(checks)
    summary(JOB, **as_summary(checks))
    return 0 if passed(checks) else 1


if __name__ == "__main__":
    run(main, JOB)
