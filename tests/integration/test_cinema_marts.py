"""The dbt project on real Postgres: a known-answer session mart from hand-made events (through the loader and
replication, as in production), every dbt test passing on it, and the custom minutes-watched test failing when a
mart disagrees with the raw events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from jobs.cinema import replication, store
from jobs.cinema.audit import MICROS, oltp_watched_micros
from jobs.cinema.marts import DbtResult, DbtSettings, build
from jobs.common.rules import encode
from jobs.common.settings import PostgresSettings, load
from jobs.local.services import LocalSettings
from tests.integration.cinema_pair import cinema_fresh, cinema_pair  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration

VIEWER = "11111111-1111-4111-8111-111111111111"
FILM = "22222222-2222-4222-8222-222222222222"  # 100 minutes
T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
# session → (events as (seconds after its start, type, position), expected mart row)
SESSIONS: dict[str, tuple[list[tuple[int, str, int]], dict[str, object]]] = {
    # watched 600 + 300 + 300 = 1200 s; paused 300 s; a seek while playing keeps playing
    "aaaaaaaa-0000-4000-8000-000000000001": (
        [(0, "start", 0), (600, "pause", 600), (900, "resume", 600), (1200, "seek", 900), (1500, "stop", 1800)],
        {"duration_s": 1500, "watched_s": 1200, "pauses": 1, "seeks": 1, "outcome": "stop", "completion": "0.3000"},
    ),
    # the whole film in one go
    "aaaaaaaa-0000-4000-8000-000000000002": (
        [(0, "start", 0), (6000, "finish", 6000)],
        {"duration_s": 6000, "watched_s": 6000, "pauses": 0, "seeks": 0, "outcome": "finish", "completion": "1.0000"},
    ),
    # a seek while paused keeps it paused: watched 100 + 100 = 200 s
    "aaaaaaaa-0000-4000-8000-000000000003": (
        [(0, "start", 0), (100, "pause", 100), (200, "seek", 500), (300, "resume", 500), (400, "stop", 600)],
        {"duration_s": 400, "watched_s": 200, "pauses": 1, "seeks": 1, "outcome": "stop", "completion": "0.1000"},
    ),
    # still open: no stop or finish yet; the last pause ends the watched time
    "aaaaaaaa-0000-4000-8000-000000000004": (
        [(0, "start", 0), (60, "pause", 60)],
        {"duration_s": 60, "watched_s": 60, "pauses": 1, "seeks": 0, "outcome": "open", "completion": "0.0100"},
    ),
}


def hand_made() -> list[bytes]:
    raws = []
    for n, (session_id, (events, _)) in enumerate(SESSIONS.items()):
        start = T0 + timedelta(days=n % 2, hours=n)
        for seq, (offset, kind, position) in enumerate(events, start=1):
            raws.append(
                encode(
                    {
                        "event_id": f"bbbbbbbb-0000-4000-8000-{n:06d}{seq:06d}",
                        "session_id": session_id,
                        "seq": seq,
                        "viewer_id": VIEWER,
                        "film_id": FILM,
                        "event_type": kind,
                        "position_s": position,
                        "event_time": (start + timedelta(seconds=offset)).isoformat(),
                    }
                )
            )
    return raws


def dbt_settings(tmp_path: Path) -> DbtSettings:
    home = Path(load(LocalSettings).home).resolve()
    return DbtSettings(bin=str(home / "venv" / "dbt" / "bin" / "dbt"), work_dir=str(tmp_path / "dbt"))


def query(pg: PostgresSettings, statement: str) -> list[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(statement)
        found = cur.fetchall() if cur.description else []
    conn.close()
    return found


def loaded(oltp: PostgresSettings, warehouse: PostgresSettings) -> None:
    """The hand-made catalogue and events in the OLTP, replicated to the warehouse."""
    conn = psycopg2.connect(oltp.dsn())
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO cinema_viewers VALUES (%s, 'ana', 'KZ', %s)", (VIEWER, T0 - timedelta(days=1)))
        cur.execute("INSERT INTO cinema_films VALUES (%s, 'Known Answer', 'drama', 6000, 2001)", (FILM,))
    counts = store.load(conn, hand_made())
    conn.close()
    assert (counts.loaded, counts.dead) == (sum(len(e) for e, _ in SESSIONS.values()), 0)
    replication.wait_for_zero_lag(oltp.dsn(), warehouse.dsn())


def passed(result: DbtResult) -> bool:
    assert result.ok, "\n".join(result.failures) or result.output[-3000:]
    return True


def test_session_mart_known_answer_every_dbt_test_passes_and_the_watched_test_catches_a_mismatch(
    cinema_fresh: tuple[PostgresSettings, PostgresSettings],  # noqa: F811
    tmp_path: Path,
) -> None:
    oltp, warehouse = cinema_fresh
    loaded(oltp, warehouse)
    cfg = dbt_settings(tmp_path)
    result = build(warehouse, cfg)
    assert passed(result)
    assert result.statuses["model:success"] == 7
    assert result.statuses["test:pass"] >= 20  # unique, not_null, relationships, accepted_values and the custom ones

    got = {
        str(row[0]): {
            "duration_s": int(row[1]),
            "watched_s": int(row[2]),
            "pauses": row[3],
            "seeks": row[4],
            "outcome": row[5],
            "completion": str(row[6]),
        }
        for row in query(
            warehouse,
            "SELECT session_id, duration_s, watched_s, pauses, seeks, outcome, completion_ratio "
            f"FROM {cfg.marts_schema()}.fct_watch_sessions",
        )
    }
    assert got == {session_id: expected for session_id, (_, expected) in SESSIONS.items()}
    assert oltp_watched_micros(oltp) == 7460 * MICROS  # the audit's recount agrees with the mart: 1200+6000+200+60

    [(sessions, watched, finished, abandoned, active_days, binge_days, d1)] = query(
        warehouse,
        "SELECT sessions, watched_s, finished, abandoned, active_days, binge_days, retained_d1 "
        f"FROM {cfg.marts_schema()}.mart_viewer_engagement",
    )
    assert (sessions, watched, finished, abandoned, active_days, binge_days, d1) == (
        4, Decimal(7460), 1, 2, 2, 2, True
    )  # fmt: skip
    hours = query(
        warehouse,
        f"SELECT hour_of_day, sessions, watched_s FROM {cfg.marts_schema()}.mart_film_hourly ORDER BY hour_of_day",
    )
    assert [(h, s, int(w)) for h, s, w in hours] == [(20, 1, 1200), (21, 1, 6000), (22, 1, 200), (23, 1, 60)]

    # The custom test is not vacuous: a mart that disagrees with the raw events fails it (and only it).
    query(warehouse, f"UPDATE {cfg.marts_schema()}.fct_watch_sessions SET watched_s = watched_s + 60")
    tampered = build(warehouse, cfg, "--select", "assert_minutes_watched_match_raw_events")
    assert tampered.returncode != 0
    assert [f.split(":")[0] for f in tampered.failures] == ["test.cinema.assert_minutes_watched_match_raw_events"]
