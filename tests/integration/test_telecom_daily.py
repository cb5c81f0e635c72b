"""Daily batch and its validation on real Postgres: hand-computed daily_stats, idempotent reruns, injected faults.

real_time_metrics holds windows on 2026-03-10 plus one the day before and one the day after (excluded; the latter
also closes the day for --check-only). Expected rows computed by hand:
call/Almaty 2+1 events 150 s; data_session/Almaty 3 events 600 s 1 TB (1024² MB); call/Astana 4 events 3600 s;
balance_recharge/Astana 2 events 1500.50 KZT; sms/Astana 1 event. Almaty has 6 events, Astana 7 → most_active.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import psycopg2
import pytest

from jobs.common.settings import PostgresSettings, to_env

pytestmark = pytest.mark.integration
D = Decimal
DAY = "2026-03-10"
METRICS = [
    # window_start (UTC), event_type, region, event_count, total_duration, total_data_mb, total_amount
    ("2026-03-10 10:00", "call", "Almaty", 2, 100, "0", "0"),
    ("2026-03-10 10:01", "call", "Almaty", 1, 50, "0", "0"),
    ("2026-03-10 10:00", "data_session", "Almaty", 3, 600, "1048576.000", "0"),
    ("2026-03-10 10:00", "call", "Astana", 4, 3600, "0", "0"),
    ("2026-03-10 11:00", "balance_recharge", "Astana", 2, 0, "0", "1500.50"),
    ("2026-03-10 23:59", "sms", "Astana", 1, 0, "0", "0"),
    ("2026-03-09 23:59", "call", "Almaty", 7, 70, "0", "0"),  # the day before
    ("2026-03-11 00:00", "sms", "Almaty", 5, 0, "0", "0"),  # the day after
]
Z = D("0")
# event_type, region, total_events, hours, TB, amount, avg seconds, avg MB per event, windows
EXPECTED = {
    ("call", "Almaty", 3, D("0.041667"), Z, Z, D("50.000"), Z, 2),
    ("data_session", "Almaty", 3, D("0.166667"), D("1.000000000"), Z, D("200.000"), D("349525.333"), 1),
    ("call", "Astana", 4, D("1.000000"), Z, Z, D("900.000"), Z, 1),
    ("balance_recharge", "Astana", 2, Z, Z, D("1500.50"), Z, Z, 1),
    ("sms", "Astana", 1, Z, Z, Z, Z, Z, 1),
    ("call", "ALL", 7, D("1.041667"), Z, Z, D("535.714"), Z, 3),
    ("data_session", "ALL", 3, D("0.166667"), D("1.000000000"), Z, D("200.000"), D("349525.333"), 1),
    ("balance_recharge", "ALL", 2, Z, Z, D("1500.50"), Z, Z, 1),
    ("sms", "ALL", 1, Z, Z, Z, Z, Z, 1),
    ("most_active", "Astana", 7, D("1.000000"), Z, D("1500.50"), D("514.286"), Z, 3),
}
STATS = (
    "SELECT event_type, region, total_events, total_duration_hours, total_data_tb, total_amount, "
    "avg_duration_seconds, avg_data_per_event_mb, windows FROM daily_stats WHERE date = %s"
)


def sql(pg: PostgresSettings, query: str, *params: object) -> list[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def run(module: str, pg: PostgresSettings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args], env=to_env(pg), capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def metrics(pg_schema: PostgresSettings) -> PostgresSettings:
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        for start, kind, region, n, seconds, mb, amount in METRICS:
            cur.execute(
                "INSERT INTO real_time_metrics (window_start, window_end, event_type, region, event_count, "
                "total_duration, total_data_mb, total_amount) VALUES (%s::timestamp AT TIME ZONE 'UTC', "
                "%s::timestamp AT TIME ZONE 'UTC' + interval '1 minute', %s, %s, %s, %s, %s, %s)",
                (start, start, kind, region, n, seconds, mb, amount),
            )
    return pg_schema


def test_batch_writes_the_hand_computed_rows_and_a_rerun_changes_nothing(metrics: PostgresSettings) -> None:
    first = run("jobs.telecom.daily_batch", metrics, "--date", DAY)
    assert first.returncode == 0, first.stderr
    assert "10 daily_stats rows written" in first.stdout
    assert set(sql(metrics, STATS, DAY)) == EXPECTED
    again = run("jobs.telecom.daily_batch", metrics, "--date", DAY)
    assert again.returncode == 0, again.stderr
    assert set(sql(metrics, STATS, DAY)) == EXPECTED
    assert sql(metrics, "SELECT count(*) FROM daily_stats") == [(10,)]
    ok = run("jobs.telecom.validate", metrics, "--date", DAY)
    assert ok.returncode == 0, ok.stderr
    assert "10 rows match real_time_metrics (13 events" in ok.stdout


def test_a_rerun_picks_up_changed_metrics(metrics: PostgresSettings) -> None:
    assert run("jobs.telecom.daily_batch", metrics, "--date", DAY).returncode == 0
    sql(metrics, "UPDATE real_time_metrics SET event_count = 9 WHERE region = 'Almaty' AND total_duration = 50")
    assert run("jobs.telecom.validate", metrics, "--date", DAY).returncode == 1  # stats are now stale
    assert run("jobs.telecom.daily_batch", metrics, "--date", DAY).returncode == 0
    rows = {(kind, region): n for kind, region, n, *_ in sql(metrics, STATS, DAY)}
    assert rows[("call", "Almaty")] == 11 and rows[("most_active", "Almaty")] == 14
    assert run("jobs.telecom.validate", metrics, "--date", DAY).returncode == 0


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("UPDATE daily_stats SET total_events = total_events + 1 WHERE event_type = 'sms' AND region = 'ALL'",
         "('sms', 'ALL') total_events: daily_stats 2 != real_time_metrics 1"),
        ("UPDATE daily_stats SET total_data_tb = 1.000000002 WHERE event_type = 'data_session' AND region = 'Almaty'",
         "('data_session', 'Almaty') total_data_tb"),
        ("INSERT INTO daily_stats SELECT date, event_type, 'Taraz', total_events, total_duration_hours, total_data_tb, "
         "total_amount, avg_duration_seconds, avg_data_per_event_mb, windows FROM daily_stats "
         "WHERE event_type = 'sms' AND region = 'ALL'", "unexpected row ('sms', 'Taraz')"),
        ("DELETE FROM daily_stats WHERE event_type = 'most_active'", "missing row ('most_active', 'Astana')"),
    ],
    ids=["count", "terabytes", "extra-row", "missing-row"],
)  # fmt: skip
def test_validation_fails_with_a_clear_diff(metrics: PostgresSettings, fault: str, message: str) -> None:
    assert run("jobs.telecom.daily_batch", metrics, "--date", DAY).returncode == 0
    sql(metrics, fault)
    bad = run("jobs.telecom.validate", metrics, "--date", DAY)
    assert bad.returncode == 1
    assert f"telecom validate {DAY}: FAILED, 1 differences" in bad.stderr and message in bad.stderr


def test_check_only_and_days_without_metrics(metrics: PostgresSettings) -> None:
    closed = run("jobs.telecom.daily_batch", metrics, "--date", DAY, "--check-only")
    assert closed.returncode == 0, closed.stderr
    assert "6 windows, 13 events" in closed.stdout
    assert sql(metrics, "SELECT count(*) FROM daily_stats") == [(0,)], "--check-only writes nothing"

    still_open = run("jobs.telecom.daily_batch", metrics, "--date", "2026-03-11", "--check-only")
    assert still_open.returncode == 1 and "2026-03-11 is not closed yet" in still_open.stderr

    empty = run("jobs.telecom.daily_batch", metrics, "--date", "2026-01-01", "--check-only")
    assert empty.returncode == 1 and "no real_time_metrics for 2026-01-01" in empty.stderr
    batch = run("jobs.telecom.daily_batch", metrics, "--date", "2026-01-01")
    assert batch.returncode == 1 and "daily_stats left unchanged" in batch.stderr
    assert run("jobs.telecom.validate", metrics, "--date", "2026-01-01").returncode == 1


def test_bad_arguments_and_configuration_exit_2(metrics: PostgresSettings) -> None:
    assert run("jobs.telecom.daily_batch", metrics, "--date", "10/03/2026").returncode == 2
    broken = subprocess.run(
        [sys.executable, "-m", "jobs.telecom.daily_batch", "--date", DAY],
        env={**to_env(metrics), "BROOK_PG_PORT": "not-a-port"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert broken.returncode == 2 and "BROOK_PG_PORT" in broken.stderr
