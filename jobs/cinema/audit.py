"""The cinema conservation audit: rows in the OLTP = rows replicated = events accounted for in the marts, and
the watched time of the marts = the watched time recomputed here, in Python, from the OLTP rows.

The recount is a third implementation of the session semantics (``jobs/cinema/contract.py``): the mart computes
watched time with window functions, the dbt test with correlated subqueries, this module by walking each session.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg2
from psycopg2 import sql

from jobs.cinema.contract import ENDING, PLAYING_AFTER
from jobs.common.audit import Check
from jobs.common.settings import PostgresSettings

MICROS = 1_000_000
MS = 1_000  # the audit compares watched time in whole milliseconds (floor), so a row's numbers fit the table


def watched_micros(events: Iterable[tuple[Any, int, str, datetime]]) -> int:
    """Playing time in microseconds of (session_id, seq, event_type, event_time) rows sorted by session and seq."""
    total, previous, playing = 0, None, False
    for session_id, _seq, event_type, at in events:
        if previous is not None and previous[0] == session_id and playing:
            delta = at - previous[1]
            total += (delta.days * 86_400 + delta.seconds) * MICROS + delta.microseconds
        if previous is None or previous[0] != session_id:
            playing = False
        if event_type in PLAYING_AFTER:
            playing = True
        elif event_type != "seek":
            playing = False  # pause, stop, finish
        previous = (session_id, at)
    return total


def _one(dsn: str, query: sql.Composable | str) -> Any:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query)
        value = cur.fetchone()[0]
    conn.close()
    return value


def oltp_watched_micros(oltp: PostgresSettings) -> int:
    with psycopg2.connect(oltp.dsn()) as conn, conn.cursor(name="cinema_audit") as cur:
        cur.itersize = 10_000
        cur.execute("SELECT session_id, seq, event_type, event_time FROM cinema_events ORDER BY session_id, seq")
        total = watched_micros(cur)
    conn.close()
    return total


def audit(
    oltp: PostgresSettings, warehouse: PostgresSettings, marts_schema: str, loaded: int, dead: int
) -> list[Check]:
    """The audit rows; ``loaded``/``dead`` are what the loader reported (its JSON summary)."""
    count = "SELECT count(*) FROM {}"
    checks: list[Check] = []
    oltp_events = _one(oltp.dsn(), count.format("cinema_events"))
    checks.append(Check("OLTP cinema_events", oltp_events, loaded, "rows = rows the loader stored"))
    checks.append(
        Check("OLTP cinema_dead_letters", _one(oltp.dsn(), count.format("cinema_dead_letters")), dead, "= refused")
    )
    for table in ("cinema_viewers", "cinema_films", "cinema_events"):
        checks.append(
            Check(
                f"warehouse {table} (replicated)",
                _one(warehouse.dsn(), count.format(table)),
                _one(oltp.dsn(), count.format(table)),
                "replica = OLTP",
            )
        )
    fct = sql.Identifier(marts_schema, "fct_watch_sessions")
    checks.append(
        Check(
            "events in fct_watch_sessions",
            int(_one(warehouse.dsn(), sql.SQL("SELECT coalesce(sum(event_count), 0) FROM {}").format(fct))),
            oltp_events,
            "Σ event_count = OLTP events",
        )
    )
    sessions = _one(oltp.dsn(), "SELECT count(DISTINCT session_id) FROM cinema_events")
    checks.append(
        Check("sessions in fct_watch_sessions", _one(warehouse.dsn(), sql.SQL(count).format(fct)), sessions, "= OLTP")
    )
    watched_ms = sql.SQL("SELECT floor(coalesce(sum(watched_s), 0) * 1000) FROM {}")
    watched = _one(warehouse.dsn(), watched_ms.format(fct))
    checks.append(
        Check("watched ms in fct_watch_sessions", int(watched), oltp_watched_micros(oltp) // MS, "= recount from OLTP")
    )
    for mart in ("mart_film_hourly", "mart_viewer_engagement"):
        total = _one(warehouse.dsn(), watched_ms.format(sql.Identifier(marts_schema, mart)))
        checks.append(Check(f"watched ms in {mart}", int(total), int(watched), "= session mart"))
    ended = _one(oltp.dsn(), f"SELECT count(*) FROM cinema_events WHERE event_type IN {ENDING!r}")
    checks.append(Check("ended sessions (stop + finish events)", ended))
    return checks
