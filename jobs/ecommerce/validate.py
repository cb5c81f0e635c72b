"""Validate a day's stored results against the independent Python recount (the DAG's validate task).

``python -m jobs.ecommerce.validate --date YYYY-MM-DD``: exit 0 when every row of every result table of the date
equals the recount of the same files (:mod:`jobs.ecommerce.recount`), 1 naming the differences otherwise.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from jobs.common.cli import run, summary
from jobs.common.settings import PostgresSettings, S3Settings, load
from jobs.ecommerce.recount import read_day, recount
from jobs.ecommerce.results import differences, read
from jobs.ecommerce.settings import EcommerceSettings

JOB = "ecommerce-validate"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.ecommerce.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="the UTC date, YYYY-MM-DD")
    args = parser.parse_args(argv)
    s3, eco, pg = load(S3Settings), load(EcommerceSettings), load(PostgresSettings)
    expected = recount(read_day(s3.client(), eco.bucket, args.date), args.date, eco.top_products)
    diffs = differences(expected, read(pg.dsn(), args.date))
    rows = sum(len(v) for v in expected.values())
    if diffs:
        print(f"ecommerce validate {args.date}: stored results differ from the recount:", file=sys.stderr)
        for line in diffs:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"[{JOB}] {args.date}: all {rows} result rows equal the Python recount", flush=True)
    summary(JOB, date=args.date, rows=rows)
    return 0


if __name__ == "__main__":
    run(main, JOB)
