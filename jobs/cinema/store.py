"""The OLTP loader: validated rows into ``cinema_events``, refused ones into ``cinema_dead_letters``, never a stall.

A batch is inserted in one statement; if the database refuses it (an unknown viewer or film, a second event at
the same ``(session_id, seq)``), the batch is retried row by row under savepoints, so only the offending rows go to
the dead-letter table and the rest still land. Rows whose ``event_id`` is already stored are duplicates (a replay
of the same file is idempotent) and are counted, not stored twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2.extras import execute_values

from jobs.cinema.contract import FIELDS, ViewingEvent, parse_event
from jobs.common.rules import InvalidEvent

RAW_KEEP = 4096  # characters of a refused row kept for the reader (enough to see what was wrong)
_INSERT = (
    f"INSERT INTO cinema_events ({', '.join(FIELDS)}) VALUES %s ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)
# What the database refuses, by constraint, as a stable reason code (the contract's codes are InvalidEvent's).
_DB_REASONS = {
    "cinema_events_viewer_id_fkey": "unknown_viewer",
    "cinema_events_film_id_fkey": "unknown_film",
    "cinema_events_session_id_seq_key": "duplicate_seq",
}


@dataclass
class LoadCounts:
    loaded: int = 0
    duplicates: int = 0
    dead: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def dead_letter(self, reason: str) -> None:
        self.dead += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def printable(raw: bytes | str | None) -> str:
    """The refused row as storable text: undecodable bytes and NULs escaped, cut to :data:`RAW_KEEP`."""
    if raw is None:
        return "(null)"
    text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes | bytearray) else raw
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates from a str
    return text.replace("\x00", "\\x00")[:RAW_KEEP]


def _dead(cur: Any, counts: LoadCounts, reason: str, field_name: str | None, detail: str, raw: Any) -> None:
    cur.execute(
        "INSERT INTO cinema_dead_letters (reason, field, detail, raw) VALUES (%s, %s, %s, %s)",
        (reason, field_name, detail[:RAW_KEEP], printable(raw)),
    )
    counts.dead_letter(reason)


def _insert_rows(cur: Any, rows: list[tuple[ViewingEvent, Any]], counts: LoadCounts) -> None:
    """One statement for the batch; on a constraint error, row by row under savepoints."""
    cur.execute("SAVEPOINT cinema_batch")
    try:
        inserted = execute_values(cur, _INSERT, [event.row() for event, _ in rows], fetch=True)
        cur.execute("RELEASE SAVEPOINT cinema_batch")
        counts.loaded += len(inserted)
        counts.duplicates += len(rows) - len(inserted)
        return
    except psycopg2.IntegrityError:
        cur.execute("ROLLBACK TO SAVEPOINT cinema_batch")
    for event, raw in rows:
        cur.execute("SAVEPOINT cinema_row")
        try:
            inserted = execute_values(cur, _INSERT, [event.row()], fetch=True)
            cur.execute("RELEASE SAVEPOINT cinema_row")
        except psycopg2.IntegrityError as err:
            cur.execute("ROLLBACK TO SAVEPOINT cinema_row")
            constraint = getattr(err.diag, "constraint_name", None) or ""
            _dead(cur, counts, _DB_REASONS.get(constraint, "db_refused"), None, str(err).strip(), raw)
            continue
        counts.loaded += len(inserted)
        counts.duplicates += 1 - len(inserted)


def load(conn: Any, raws: Iterable[bytes | str | None], batch: int = 1000) -> LoadCounts:
    """Validate and store ``raws`` (JSON rows) in batches of ``batch``, committing each batch."""
    counts = LoadCounts()
    pending: list[tuple[ViewingEvent, Any]] = []

    def flush() -> None:
        with conn, conn.cursor() as cur:
            _insert_rows(cur, pending, counts)
        pending.clear()

    for raw in raws:
        try:
            pending.append((parse_event(raw), raw))
        except InvalidEvent as err:
            with conn, conn.cursor() as cur:
                _dead(cur, counts, err.code, err.field, str(err), raw)
            continue
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return counts
