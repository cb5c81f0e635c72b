"""Conservation audit of the telecom pipeline: every valid event is in exactly one window or counted as late, and
every day's daily_stats add up to that day's windows.

``python -m jobs.telecom.audit [--produced N]`` — against any deployment reachable with the ``BROOK_*`` settings,
on a quiesced pipeline (generator stopped, Flink caught up, daily batch run). An independent recount: the topic is
re-read and re-validated with the contract (``jobs.telecom.contract``); windows, late events and daily_stats are
summed from their tables. Exits 1 when a check fails. Same table format as the bets audit.
"""

from __future__ import annotations

import argparse
from datetime import date

import psycopg2

from jobs.common.audit import Check, as_summary, passed, read_topic, render
from jobs.common.cli import run, summary
from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings, load
from jobs.telecom.contract import ALL_REGIONS, parse_telecom
from jobs.telecom.topics import TelecomTopics


def topic_counts(kafka: KafkaSettings, topics: TelecomTopics) -> tuple[int, int]:
    """(messages, contract-valid events) in the telecom topic."""
    messages = valid = 0
    for _, _, value, _ in read_topic(kafka, topics.events):
        messages += 1
        try:
            parse_telecom(value)
        except InvalidEvent:
            continue
        valid += 1
    return messages, valid


def table_counts(pg: PostgresSettings) -> tuple[int, int, dict[date, tuple[int, int]], dict[date, tuple[int, int]]]:
    """(Σ event_count, late events, per-date window totals, per-date daily_stats totals); totals = (events, amount)."""
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SELECT window_start::date, SUM(event_count), SUM(total_amount) FROM real_time_metrics GROUP BY 1")
        windows = {day: (int(n), amount) for day, n, amount in cur.fetchall()}
        cur.execute("SELECT COUNT(*) FROM telecom_late_events")
        late = int(cur.fetchone()[0])
        cur.execute(
            "SELECT date, SUM(total_events), SUM(total_amount) FROM daily_stats WHERE region = %s GROUP BY 1",
            (ALL_REGIONS,),
        )
        daily = {day: (int(n), amount) for day, n, amount in cur.fetchall()}
    return sum(n for n, _ in windows.values()), late, windows, daily


def audit(
    kafka: KafkaSettings, topics: TelecomTopics, pg: PostgresSettings, produced: int | None = None
) -> list[Check]:
    messages, valid = topic_counts(kafka, topics)
    windowed, late, windows, daily = table_counts(pg)
    checks = [
        Check("produced", produced if produced is not None else messages),
        Check(f"in Kafka ({topics.events})", messages, produced, "= produced"),
        Check("  invalid (dropped by the contract)", messages - valid),
        Check("  valid events", valid),
        Check("Σ event_count in real_time_metrics", windowed),
        Check("late events (telecom_late_events)", late),
        Check("windowed + late", windowed + late, valid, "= valid events"),
    ]
    for day in sorted(windows.keys() | daily.keys()):
        events, amount = windows.get(day, (0, 0))
        stats_events, stats_amount = daily.get(day, (0, 0))
        checks.append(Check(f"daily_stats {day} events (ALL rows)", stats_events, events, "= Σ windows of the day"))
        cents = Check(f"  amount in tiyn (KZT/100) {day}", int(stats_amount * 100), int(amount * 100), "= windows")
        checks.append(cents)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.telecom.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--produced", type=int, help="events the generator reported (checked against Kafka)")
    args = parser.parse_args(argv)
    kafka, topics, pg = load(KafkaSettings), load(TelecomTopics), load(PostgresSettings)
    checks = audit(kafka, topics, pg, args.produced)
    render(checks)
    summary("telecom-audit", **as_summary(checks))
    return 0 if passed(checks) else 1


if __name__ == "__main__":
    run(main, "telecom-audit")
