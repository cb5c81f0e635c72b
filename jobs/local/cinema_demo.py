"""The cinema ELT pipeline end to end on two local Postgres instances, ending with its conservation audit.

``python -m jobs.local.cinema_demo [--viewers N] [--days D] [--seed S] [--keep-services]``

Starts the OLTP and warehouse instances (``jobs.local.cinema_postgres``; the shared local services are not
needed), gives both fresh tables (the cinema migration), the replication role, publication and subscription, then:
generator (N viewers' sessions over D days, plus the hostile rows, into the OLTP) → wait for replication lag zero →
``dbt build`` (staging, marts, dbt tests) on the warehouse → audit (OLTP rows = replicated rows = events in the
session mart; watched time in the marts = the Python recount; dead letters = hostile rows). Exit 0 only when all
agree. The instances it started are stopped at the end unless ``--keep-services``.
"""

from __future__ import annotations

import argparse
import signal
import sys

import psycopg2

from jobs.cinema import replication
from jobs.cinema.audit import audit
from jobs.cinema.marts import PROJECT, DbtSettings
from jobs.common.audit import as_summary, passed, render
from jobs.common.cli import run, summary
from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, load, to_env
from jobs.local.cinema_postgres import Instance, instances, up
from jobs.local.runner import Children
from jobs.local.services import LocalSettings, Paths, ServiceError

CINEMA_SQL = PROJECT.parent / "sql"  # the cinema tables, on both databases (jobs/cinema/sql/008_cinema.sql)


def fresh(oltp: Instance, warehouse: Instance) -> tuple[PostgresSettings, PostgresSettings]:
    """Empty cinema tables on both instances, the role, the publication and a new subscription (its initial copy
    of empty tables is immediate). Returns the (OLTP, warehouse) settings."""
    pub, sub = oltp.settings(), warehouse.settings()
    replication.drop_subscription(sub.dsn())  # also drops its slot on the publisher
    for pg, extra in ((pub, "DROP PUBLICATION IF EXISTS cinema_pub;"), (sub, "")):
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
            cur.execute(
                f"{extra} DROP SCHEMA IF EXISTS cinema_staging, cinema_marts CASCADE; "
                "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"
            )
        conn.close()
        migrate(pg.dsn(), [CINEMA_SQL])
    password = oltp.replication_password()
    replication.setup_publisher(pub.dsn(), password)
    replication.setup_subscriber(sub.dsn(), replication.publisher_conninfo(pub.host, pub.port, pub.database, password))
    return pub, sub


class CinemaDemo(Children):
    def __init__(self, paths: Paths, viewers: int, days: int, seed: int, dbt_bin: str) -> None:
        super().__init__(paths)
        self.viewers, self.days, self.seed, self.dbt_bin = viewers, days, seed, dbt_bin

    def run(self, oltp: Instance, warehouse: Instance) -> int:
        pub, sub = fresh(oltp, warehouse)
        print(f"[demo] cinema: OLTP 127.0.0.1:{pub.port} → warehouse 127.0.0.1:{sub.port} (logical replication)")
        args = ["--viewers", str(self.viewers), "--days", str(self.days), "--seed", str(self.seed), "--hostile"]
        self.stage(
            "generator → OLTP (viewers)", self.viewers, "cinema-generator", "jobs.cinema.generator", to_env(pub), *args
        )
        loaded = self.summary("cinema-generator", "cinema-generator")
        lag = replication.wait_for_zero_lag(pub.dsn(), sub.dsn())
        print(f"[demo] replication lag zero ({lag.tables_ready}/{lag.tables} tables ready)", flush=True)
        dbt = DbtSettings(bin=self.dbt_bin, work_dir=str(self.paths.home / "cinema" / "dbt"))
        env = {**to_env(sub, dbt)}
        self.stage("dbt build (models + tests)", loaded["loaded"], "cinema-marts", "jobs.cinema.marts", env)
        built = self.summary("cinema-marts", "cinema-marts")

        print("\n[demo] stages (this machine, rough)")
        for label, count, seconds in self.timings:
            print(f"  {label:<44} {count:>8} in {seconds:6.1f}s")
        print(f"\n[demo] dbt: {', '.join(f'{k} {v}' for k, v in built.items() if ':' in k)}")
        print("\n[demo] cinema conservation audit")
        checks = audit(pub, sub, dbt.marts_schema(), loaded["loaded"], loaded["dead"])
        render(checks)
        summary("cinema-demo", generated=loaded["generated"], dead=loaded["dead"], **as_summary(checks))
        return 0 if passed(checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.cinema_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=40, help="viewers to simulate (default 40)")
    parser.add_argument("--days", type=int, default=14, help="days of simulated history (default 14)")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed")
    parser.add_argument("--keep-services", action="store_true", help="leave both cinema Postgres instances running")
    args = parser.parse_args(argv)
    paths = Paths(load(LocalSettings).home)
    paths.ensure()
    dbt_bin = str(paths.home / "venv" / "dbt" / "bin" / "dbt")
    oltp, warehouse = instances()
    started = [inst for inst in (oltp, warehouse) if not inst.running()]
    demo = CinemaDemo(paths, args.viewers, args.days, args.seed, dbt_bin)

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        up(oltp, warehouse)
        return demo.run(oltp, warehouse)
    except ServiceError as err:
        print(f"[demo] cinema Postgres failed to start:\n{err}", file=sys.stderr)
        return 1
    except (RuntimeError, replication.ReplicationError) as err:
        print(f"[demo] failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[demo] interrupted: stopping everything it started", file=sys.stderr)
        return 130
    finally:
        demo.stop_children()
        if not args.keep_services:
            for inst in reversed(started):
                inst.down()


if __name__ == "__main__":
    run(main, "cinema-demo")
