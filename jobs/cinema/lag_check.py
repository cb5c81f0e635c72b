"""Wait until the warehouse has every row the OLTP committed: ``python -m jobs.cinema.lag_check [--timeout S]``.

The cinema DAG's step between the generator and ``dbt build`` (in a pod or locally, jobs/dags/cinema_elt.py). It
reads both databases (``BROOK_CINEMA_OLTP_PG_*``, ``BROOK_CINEMA_WAREHOUSE_PG_*``: jobs/cinema/databases.py) and
polls :func:`jobs.cinema.replication.wait_for_zero_lag`. Exit 0 with the lag reading as the summary line; exit 1
with the reading's explanation after the timeout (the task is retried); exit 2 when a setting is missing.
"""

from __future__ import annotations

import argparse
import os
import sys

from jobs.cinema import replication
from jobs.cinema.databases import OLTP, WAREHOUSE, load_scoped
from jobs.common.cli import run, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.cinema.lag_check", description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for lag zero (default 300)")
    args = parser.parse_args(argv)
    publisher, subscriber = load_scoped(OLTP, os.environ), load_scoped(WAREHOUSE, os.environ)
    try:
        lag = replication.wait_for_zero_lag(publisher.dsn(), subscriber.dsn(), timeout=args.timeout)
    except replication.ReplicationError as err:
        print(f"[cinema-lag] {err}", file=sys.stderr)
        return 1
    print(f"[cinema-lag] replication lag zero: {lag.tables_ready}/{lag.tables} tables ready")
    summary("cinema-lag", bytes=lag.bytes, tables_ready=lag.tables_ready, tables=lag.tables, errors=lag.errors)
    return 0


if __name__ == "__main__":
    run(main, "cinema-lag")
