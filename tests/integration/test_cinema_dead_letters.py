"""Hostile rows into the cinema OLTP loader on real Postgres: each goes to ``cinema_dead_letters`` with the reason
the contract (or the database) gives, the valid rows around it are all stored, and a replay stores nothing twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from jobs.cinema import store
from jobs.cinema.contract import parse_event
from jobs.cinema.generator import HOSTILE_STORED, hostile_rows
from jobs.common.rules import InvalidEvent, encode
from jobs.common.settings import PostgresSettings
from tests.hostile_events import FIELD_CASES, WHOLE, dumps

pytestmark = pytest.mark.integration

VIEWER = "33333333-3333-4333-8333-333333333333"
FILM = "44444444-4444-4444-8444-444444444444"
SESSION = "55555555-5555-4555-8555-555555555555"
T0 = datetime(2026, 3, 3, 21, tzinfo=UTC)
DB_REASONS = {"unknown_viewer", "unknown_film", "duplicate_seq"}  # hostile_rows() names the database refuses


def event(seq: int, /, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": f"66666666-0000-4000-8000-{seq:012d}",
        "session_id": SESSION,
        "seq": seq,
        "viewer_id": VIEWER,
        "film_id": FILM,
        "event_type": "start" if seq == 1 else "seek",
        "position_s": seq * 10,
        "event_time": (T0 + timedelta(seconds=seq)).isoformat(),
    }
    base.update(changes)
    return base


def hostile() -> dict[str, bytes | None]:
    """The platform's whole-message cases, its time cases on a cinema row, cinema's own field cases, and the
    generator's hostile rows (including those only the database refuses)."""
    out: dict[str, bytes | None] = dict(WHOLE)
    for n, (name, change) in enumerate(FIELD_CASES.items()):
        if "event_time" in change:
            out[name] = dumps(event(1000 + n, event_time=change["event_time"]))
    out["surrogate_type"] = dumps(event(2000, event_type="st\ud800op"))
    out["position_string"] = dumps(event(2001, position_s="10"))
    out["position_too_far"] = dumps(event(2002, position_s=86_401))
    out["seq_zero"] = dumps(event(2003, seq=0))
    out["seq_bool"] = dumps(event(2004, seq=True))
    out["upper_uuid_ok"] = dumps(event(2005, viewer_id=VIEWER.upper()))
    out.update(hostile_rows(VIEWER, FILM, seed=5))
    return out


def expected_reason(name: str, raw: bytes | None) -> str | None:
    """None when the row is valid and must be stored; else its dead-letter reason."""
    try:
        parse_event(raw)
    except InvalidEvent as err:
        return err.code
    if name in HOSTILE_STORED or name not in DB_REASONS:
        return None
    return name


def test_hostile_rows_go_to_the_dead_letter_table_and_never_stall(pg_schema: PostgresSettings) -> None:
    conn = psycopg2.connect(pg_schema.dsn())
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO cinema_viewers VALUES (%s, 'bo', 'DE', %s)", (VIEWER, T0))
        cur.execute("INSERT INTO cinema_films VALUES (%s, 'Hostile', 'thriller', 5400, 1999)", (FILM,))
    bad = hostile()
    valid = [encode(event(seq)) for seq in range(1, len(bad) + 2)]
    mixed: list[bytes | None] = [valid[0]]
    for raw, good in zip(bad.values(), valid[1:], strict=True):
        mixed += [raw, good]  # every hostile row sits between two valid ones
    expected = {name: expected_reason(name, raw) for name, raw in bad.items()}
    stored_hostile = [name for name, reason in expected.items() if reason is None]
    assert set(DB_REASONS) <= {reason for reason in expected.values() if reason}  # the database path is exercised
    assert len(stored_hostile) < len(bad) // 4  # nearly all of them are refused

    counts = store.load(conn, mixed, batch=5)  # small batches: several fall back to row-by-row
    assert counts.loaded == len(valid) + len(stored_hostile)
    assert counts.dead == len(bad) - len(stored_hostile)
    with conn.cursor() as cur:
        cur.execute("SELECT event_id::text FROM cinema_events")
        ids = {row[0] for row in cur.fetchall()}
        cur.execute("SELECT raw, reason FROM cinema_dead_letters")
        dead = Counter(cur.fetchall())
    assert {str(event(seq)["event_id"]) for seq in range(1, len(valid) + 1)} <= ids
    want = Counter((store.printable(bad[name]), reason) for name, reason in expected.items() if reason)
    assert dead == want

    again = store.load(conn, mixed, batch=5)  # a replay of the same rows: nothing stored twice, nothing stalls
    assert (again.loaded, again.duplicates, again.dead) == (0, counts.loaded, counts.dead)
    conn.close()
