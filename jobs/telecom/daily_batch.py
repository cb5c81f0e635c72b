"""Daily batch: recompute ``daily_stats`` for one UTC date from ``real_time_metrics``, in one transaction.

``python -m jobs.telecom.daily_batch --date YYYY-MM-DD [--check-only]``

Rows for the date (windows whose ``window_start`` falls on it, UTC): one per (event_type, region), one per
event_type with region ``ALL``, and one ``most_active`` row naming the region with the most events (its totals over
every type; ties go to the alphabetically first region). Units: hours = seconds / 3600, TB = MB / 1024² (binary, as
the seed), amount in tenge; averages are per event. Delete + insert under a per-date advisory lock in one
transaction, so a rerun, a retry or a concurrent run leaves exactly one consistent set of rows.

``--check-only`` changes nothing: exits 0 when the date has metrics *and* the stream has closed it (a window ends at
or after the next midnight), 1 otherwise — the Airflow DAG's check_data. Exit codes: 0 ok, 1 failure, 2 bad
configuration or arguments.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

import psycopg2

from jobs.common.cli import run, summary
from jobs.common.settings import PostgresSettings, load
from jobs.telecom.contract import ALL_REGIONS, MOST_ACTIVE

# A date's windows, as a WHERE clause with the parameter %(date)s (UTC midnight to midnight).
DAY = (
    "window_start >= (%(date)s::date)::timestamp AT TIME ZONE 'UTC' "
    "AND window_start < (%(date)s::date + 1)::timestamp AT TIME ZONE 'UTC'"
)
MB_PER_TB = 1024 * 1024
LOCK_NAMESPACE = 0x7E1EC0  # pg_advisory_xact_lock(namespace, day number): one batch per date at a time

RECOMPUTE = f"""
WITH day AS (
    SELECT event_type, region, event_count, total_duration, total_data_mb, total_amount
    FROM real_time_metrics WHERE {DAY}
), grouped AS (
    SELECT event_type, CASE WHEN GROUPING(region) = 1 THEN %(all)s ELSE region END AS region,
           SUM(event_count) AS n, SUM(total_duration) AS seconds, SUM(total_data_mb) AS mb,
           SUM(total_amount) AS amount, COUNT(*) AS windows
    FROM day GROUP BY GROUPING SETS ((event_type, region), (event_type))
), busiest AS (
    SELECT %(most_active)s AS event_type, region, SUM(event_count) AS n, SUM(total_duration) AS seconds,
           SUM(total_data_mb) AS mb, SUM(total_amount) AS amount, COUNT(*) AS windows
    FROM day GROUP BY region ORDER BY n DESC, region LIMIT 1
)
INSERT INTO daily_stats (date, event_type, region, total_events, total_duration_hours, total_data_tb, total_amount,
                         avg_duration_seconds, avg_data_per_event_mb, windows)
SELECT %(date)s::date, event_type, region, n, round(seconds / 3600.0, 6), round(mb / {MB_PER_TB}, 9), amount,
       round(seconds::numeric / n, 3), round(mb / n, 3), windows
FROM (SELECT * FROM grouped UNION ALL SELECT * FROM busiest) AS all_rows
"""


class NoMetrics(RuntimeError):
    """The date has no windows in real_time_metrics (or the stream has not closed it yet)."""


def day_summary(cur: psycopg2.extensions.cursor, day: date) -> tuple[int, int]:
    """(windows, events) in real_time_metrics for ``day``."""
    cur.execute(f"SELECT COUNT(*), COALESCE(SUM(event_count), 0) FROM real_time_metrics WHERE {DAY}", {"date": day})
    windows, events = cur.fetchone()
    return int(windows), int(events)


def check(pg: PostgresSettings, day: date) -> str:
    """A line describing the date's metrics; raise :class:`NoMetrics` if there are none or the day is still open."""
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        windows, events = day_summary(cur, day)
        cur.execute("SELECT max(window_end) FROM real_time_metrics")
        newest = cur.fetchone()[0]
        cur.execute("SELECT (%(date)s::date + 1)::timestamp AT TIME ZONE 'UTC'", {"date": day})
        midnight = cur.fetchone()[0]
    if not windows:
        raise NoMetrics(f"no real_time_metrics for {day} (is the Flink job telecom-metrics running?)")
    if newest < midnight:
        raise NoMetrics(f"{day} is not closed yet: the newest window ends at {newest.isoformat()} (Flink behind?)")
    return f"{day}: {windows} windows, {events} events; newest window ends {newest.isoformat()}"


def recompute(pg: PostgresSettings, day: date) -> int:
    """Replace the date's daily_stats rows; return how many were written."""
    conn = psycopg2.connect(pg.dsn())
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, day.toordinal()))
            if not day_summary(cur, day)[0]:
                raise NoMetrics(f"no real_time_metrics for {day}: daily_stats left unchanged")
            cur.execute("DELETE FROM daily_stats WHERE date = %s", (day,))
            cur.execute(RECOMPUTE, {"date": day, "all": ALL_REGIONS, "most_active": MOST_ACTIVE})
            return cur.rowcount
    finally:
        conn.close()


def parse_args(prog: str, description: str, argv: list[str] | None, check_only: bool) -> argparse.Namespace:
    """The ``--date`` command line shared by the batch and its validation."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="the UTC date, YYYY-MM-DD")
    if check_only:
        parser.add_argument("--check-only", action="store_true", help="only check the date has closed metrics")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args("python -m jobs.telecom.daily_batch", __doc__.splitlines()[0], argv, check_only=True)
    pg = load(PostgresSettings)
    try:
        if args.check_only:
            print(f"[telecom-daily] check: {check(pg, args.date)}", flush=True)
            return 0
        written = recompute(pg, args.date)
    except NoMetrics as err:
        print(f"telecom daily batch: {err}", file=sys.stderr)
        return 1
    except psycopg2.Error as err:
        print(f"telecom daily batch: database error, nothing changed ({err})".strip(), file=sys.stderr)
        return 1
    print(f"[telecom-daily] {args.date}: {written} daily_stats rows written", flush=True)
    summary("telecom-daily", date=args.date, rows=written)
    return 0


if __name__ == "__main__":
    run(main, "telecom-daily")
