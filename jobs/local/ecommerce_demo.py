"""The e-commerce batch end to end on the local services, ending with its conservation audit.

``python -m jobs.local.ecommerce_demo [--days 3] [--orders 300] [--seed 2026] [--start 2026-03-01]
[--invalid-rate 0.01] [--schema demo_ecommerce] [--bucket brook-demo-ecommerce] [--no-rerun]``

Starts Postgres and MinIO (if not running), gives the run a fresh schema and an emptied bucket, then: generator
(``--days`` days of logs into ``logs/YYYY-MM-DD/``) → for each day the PyFlink batch reading ``s3://`` and its
validation against the Python recount → the first day's batch again (a rerun replaces its date: the audit below
would count duplicates; ``--no-rerun`` skips it, as the e2e test does to stay at one Flink run) → the audit over
every day. Exit 0 only when every count agrees. Process handling is the
local runner's (:class:`jobs.local.runner.Children`).
"""

from __future__ import annotations

import argparse
import dataclasses
from datetime import date, timedelta

import psycopg2

from jobs.common.audit import as_summary, passed, render
from jobs.common.cli import run, summary
from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, S3Settings, load, to_env
from jobs.ecommerce.audit import audit
from jobs.ecommerce.settings import EcommerceSettings
from jobs.local.runner import Children, run_demo
from jobs.local.services import Paths


class EcommerceDemo(Children):
    def __init__(self, args: argparse.Namespace, home: Paths) -> None:
        super().__init__(home)
        self.args = args

    def fresh_schema(self, pg: PostgresSettings) -> None:
        with psycopg2.connect(dataclasses.replace(pg, schema="public").dsn()) as conn, conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {pg.schema} CASCADE; CREATE SCHEMA {pg.schema}")
        migrate(pg.dsn())

    @staticmethod
    def empty_bucket(s3: S3Settings, bucket: str) -> None:
        client = s3.client()
        if bucket in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    client.delete_object(Bucket=bucket, Key=obj["Key"])

    def run(self, base_env: dict[str, str]) -> int:
        args = self.args
        pg = dataclasses.replace(load(PostgresSettings, base_env), schema=args.schema)
        s3 = load(S3Settings, base_env)
        env = {**base_env, **to_env(pg), "BROOK_ECOMMERCE_BUCKET": args.bucket}
        eco = load(EcommerceSettings, env)
        days = [args.start + timedelta(days=n) for n in range(args.days)]
        print(f"[demo] e-commerce: {args.days} days from {args.start}, schema {pg.schema}, bucket {eco.bucket}")
        self.fresh_schema(pg)
        self.empty_bucket(s3, eco.bucket)
        self.stage(
            "generator → MinIO (all days)", args.days, "ecommerce-generator", "jobs.ecommerce.generator", env,
            "--date", args.start.isoformat(), "--days", str(args.days), "--orders", str(args.orders),
            "--seed", str(args.seed), "--invalid-rate", str(args.invalid_rate),
        )  # fmt: skip
        rows = self.summary("ecommerce-generator", "ecommerce-generator")["rows"]
        per_day = sum(rows.values()) // args.days
        for day in days:
            self.stage(f"Flink batch {day} (incl. JVM start)", per_day, f"ecommerce-batch-{day}",
                       "jobs.ecommerce.batch", env, "--date", day.isoformat())  # fmt: skip
            self.stage(f"validate {day} (Python recount)", per_day, f"ecommerce-validate-{day}",
                       "jobs.ecommerce.validate", env, "--date", day.isoformat())  # fmt: skip
        if not args.no_rerun:
            again = days[0].isoformat()
            self.stage(f"Flink batch {again} again (rerun)", per_day, f"ecommerce-rerun-{again}",
                       "jobs.ecommerce.batch", env, "--date", again)  # fmt: skip
            self.stage(f"validate {again} after the rerun", per_day, f"ecommerce-revalidate-{again}",
                       "jobs.ecommerce.validate", env, "--date", again)  # fmt: skip

        print("\n[demo] stages (this machine, rough)")
        for label, count, seconds in self.timings:
            print(f"  {label:<44} {count:>8} in {seconds:6.1f}s")
        print(f"\n[demo] e-commerce conservation audit ({len(days)} days)")
        checks = audit(s3, eco, pg, args.start, args.days)
        render(checks)
        summary("ecommerce-demo", days=[d.isoformat() for d in days], rows=rows, **as_summary(checks))
        return 0 if passed(checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.ecommerce_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3, help="days of logs (default 3)")
    parser.add_argument("--orders", type=int, default=300, help="orders per day (default 300)")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1), help="first day")
    parser.add_argument("--invalid-rate", type=float, default=0.01, help="share of hostile rows")
    parser.add_argument("--schema", default="demo_ecommerce", help="Postgres schema (dropped and recreated)")
    parser.add_argument("--bucket", default="brook-demo-ecommerce", help="bucket (emptied first)")
    parser.add_argument("--no-rerun", action="store_true", help="skip the first day's second batch")
    parser.add_argument("--keep-services", action="store_true", help="leave Postgres/MinIO running")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    return run_demo(lambda paths: EcommerceDemo(args, home=paths), ["postgres", "minio"], args.keep_services)


if __name__ == "__main__":
    run(main, "ecommerce-demo")
