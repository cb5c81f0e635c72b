"""Validate ``daily_stats`` for a date against ``real_time_metrics``: same rows, same totals, or exit 1 with the diff.

``python -m jobs.telecom.validate --date YYYY-MM-DD``

An independent recount: plain per-(event_type, region) sums are read from real_time_metrics and the expected rows
(the ALL rows, the most_active region, units, averages) are derived here in Python with exact decimals — not by
re-running the batch's SQL. Counts, amounts and window counts must be equal; hours, TB and averages must be the
exact value rounded to the column's scale (within half a unit of its last decimal). Late events for the date are
reported (they are not in the windows by design). Exit codes: 0 equal, 1 different or failed, 2 bad configuration.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg2

from jobs.common.cli import run, summary
from jobs.common.settings import PostgresSettings, load
from jobs.telecom.contract import ALL_REGIONS, MOST_ACTIVE
from jobs.telecom.daily_batch import DAY, MB_PER_TB, parse_args

# Column → the largest allowed |stored − exact|: half a unit of the column's last decimal (0 = must be equal).
TOLERANCE = {
    "total_events": Decimal(0),
    "total_duration_hours": Decimal("0.0000005"),
    "total_data_tb": Decimal("0.0000000005"),
    "total_amount": Decimal(0),
    "avg_duration_seconds": Decimal("0.0005"),
    "avg_data_per_event_mb": Decimal("0.0005"),
    "windows": Decimal(0),
}
COLUMNS = tuple(TOLERANCE)


@dataclass
class Totals:
    events: int = 0
    seconds: int = 0
    mb: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    windows: int = 0

    def add(self, other: Totals) -> None:
        self.events += other.events
        self.seconds += other.seconds
        self.mb += other.mb
        self.amount += other.amount
        self.windows += other.windows

    def row(self) -> dict[str, Decimal]:
        """The exact (unrounded) daily_stats values of these totals."""
        return {
            "total_events": Decimal(self.events),
            "total_duration_hours": Decimal(self.seconds) / 3600,
            "total_data_tb": self.mb / MB_PER_TB,
            "total_amount": self.amount,
            "avg_duration_seconds": Decimal(self.seconds) / self.events,
            "avg_data_per_event_mb": self.mb / self.events,
            "windows": Decimal(self.windows),
        }


def expected_rows(pg: PostgresSettings, day: date) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(event_type, region) → exact expected values, from per-(type, region) sums of real_time_metrics."""
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT event_type, region, SUM(event_count), SUM(total_duration), SUM(total_data_mb), SUM(total_amount), "
            f"COUNT(*) FROM real_time_metrics WHERE {DAY} GROUP BY event_type, region",
            {"date": day},
        )
        sums = {(kind, region): Totals(int(n), int(s), mb, amount, w) for kind, region, n, s, mb, amount, w in cur}
    every_type: dict[str, Totals] = defaultdict(Totals)
    every_region: dict[str, Totals] = defaultdict(Totals)
    for (kind, region), totals in sums.items():
        every_type[kind].add(totals)
        every_region[region].add(totals)
    rows = {key: totals.row() for key, totals in sums.items()}
    rows.update({(kind, ALL_REGIONS): totals.row() for kind, totals in every_type.items()})
    if every_region:
        busiest = min(every_region, key=lambda region: (-every_region[region].events, region))
        rows[(MOST_ACTIVE, busiest)] = every_region[busiest].row()
    return rows


def stored_rows(pg: PostgresSettings, day: date) -> dict[tuple[str, str], dict[str, Decimal]]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT event_type, region, {', '.join(COLUMNS)} FROM daily_stats WHERE date = %s", (day,))
        return {(kind, region): dict(zip(COLUMNS, map(Decimal, values), strict=True)) for kind, region, *values in cur}


def differences(expected: dict, stored: dict) -> list[str]:
    """Human-readable differences; empty when daily_stats matches real_time_metrics."""
    diff = [f"missing row {key}" for key in sorted(expected.keys() - stored.keys())]
    diff += [f"unexpected row {key}" for key in sorted(stored.keys() - expected.keys())]
    for key in sorted(expected.keys() & stored.keys()):
        for column, tolerance in TOLERANCE.items():
            want, got = expected[key][column], stored[key][column]
            if abs(got - want) > tolerance:
                diff.append(f"{key} {column}: daily_stats {got} != real_time_metrics {want:.12g}")
    return diff


def late_events(pg: PostgresSettings, day: date) -> int:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM telecom_late_events WHERE {DAY}", {"date": day})
        return int(cur.fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    args = parse_args("python -m jobs.telecom.validate", __doc__.splitlines()[0], argv, check_only=False)
    pg = load(PostgresSettings)
    try:
        expected, stored = expected_rows(pg, args.date), stored_rows(pg, args.date)
        late = late_events(pg, args.date)
    except psycopg2.Error as err:
        print(f"telecom validate: database error ({err})".strip(), file=sys.stderr)
        return 1
    diff = differences(expected, stored)
    if not expected:
        diff.append(f"no real_time_metrics for {args.date}: nothing to validate against")
    if diff:
        print(f"telecom validate {args.date}: FAILED, {len(diff)} differences", file=sys.stderr)
        for line in diff:
            print(f"  {line}", file=sys.stderr)
        return 1
    events = sum(row["total_events"] for (_, region), row in expected.items() if region == ALL_REGIONS)
    print(
        f"[telecom-validate] {args.date}: {len(stored)} rows match real_time_metrics ({events} events; "
        f"{late} late events outside the windows)",
        flush=True,
    )
    summary("telecom-validate", date=args.date, rows=len(stored), events=events, late=late)
    return 0


if __name__ == "__main__":
    run(main, "telecom-validate")
