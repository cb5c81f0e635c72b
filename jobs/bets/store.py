"""Batched, idempotent inserts of valid bets into Postgres.

The happy path is one COPY straight into ``bets`` (:func:`copy_rows`): a batch of new ``bet_id`` s, the usual case,
costs the server what a raw COPY costs and no second statement. A batch that meets a ``bet_id`` already stored (a
replay, a duplicate message) makes that COPY fail with a unique violation; its transaction is rolled back and the
batch is inserted again the idempotent way (:func:`insert_rows`): COPY into a session temp table, then
``INSERT … SELECT … ON CONFLICT (bet_id) DO NOTHING`` — so duplicates inside a batch (DO NOTHING also skips a row
that conflicts with one inserted by the same statement), across batches and across replays all collapse to one row,
and the count returned is the number of new rows. COPY beats ``execute_values`` here (measured in ``make bench``):
the rows are streamed as text with no per-row statement parsing.

Postgres may still refuse a row the contract accepted (U+0000 in text, a constraint stricter than the contract):
one such row must not stall the pipeline, so :func:`store_batch` tells *data* errors (SQLSTATE classes 22 and 23:
the row is at fault, retrying cannot help) from everything else. On a data error the batch is split (bisection,
guided by the row the server names) inside one transaction, each part under a savepoint, until the refused rows
stand alone; they are returned, with the database's message, for the caller to dead-letter, and every other row
commits. The happy path is unchanged: the isolation runs only after the whole batch was refused.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg2
from psycopg2.extensions import connection, cursor
from psycopg2.extras import execute_values

from jobs.bets.contract import Bet
from jobs.common.rules import json_default

COLUMNS = ("bet_id", "user_id", "game", "amount", "currency", "odds", "status", "event_time", "payload")
TABLES = ("bets", "consumer_offsets")  # what a batch writes (jobs/bets/sql): a start waits for them to exist
_COLS = ", ".join(COLUMNS)
# Bytes per read of a COPY's text (psycopg2's default is 8 KB). Between chunks psycopg2 needs the GIL, which the
# consumer's main thread holds while it validates the next batch; a 5,000-row batch (~750 KB) is ~92 such waits.
# Measured in the consumer, the writer thread's time for 100k rows: 3.2 s with 8 KB chunks, 2.7 s with one chunk,
# 1.6 s with one chunk and the text rendered on the main thread (bench/results/2026-11-28-consumer-librdkafka.md).
COPY_CHUNK = 4 << 20
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS bets_incoming ON COMMIT DELETE ROWS AS
SELECT {_COLS} FROM bets WITH NO DATA
"""
_MERGE = f"""
INSERT INTO bets ({_COLS})
SELECT {_COLS} FROM bets_incoming
ON CONFLICT (bet_id) DO NOTHING
"""

# Isolation stages a refused batch once, each row with its batch position, and merges subsets of positions: no
# row is copied twice and no staged row is deleted, so the staging heap never fills with dead tuples that every
# later INSERT … SELECT would rescan (a first version re-copied and deleted each part: 277 s for a batch of 5,000
# with 1,000 refused rows; this one 120 s, on the same loaded 2-core machine; 100 refused rows: 22 s → 3.6 s).
_ISOLATING = f"""
CREATE TEMP TABLE IF NOT EXISTS bets_isolating ON COMMIT DELETE ROWS AS
SELECT 0 AS pos, {_COLS} FROM bets WITH NO DATA;
CREATE INDEX IF NOT EXISTS bets_isolating_pos ON bets_isolating (pos)
"""  # the index: a merge of a few positions reads those rows, not the whole staged batch
_MERGE_SOME = f"""
INSERT INTO bets ({_COLS})
SELECT {_COLS} FROM bets_isolating WHERE pos = ANY(%s)
ON CONFLICT (bet_id) DO NOTHING
"""
_SAVEPOINT = "SAVEPOINT brook_isolate"
_RELEASE = "RELEASE SAVEPOINT brook_isolate"
_ROLLBACK = "ROLLBACK TO SAVEPOINT brook_isolate"


def escaped_text(text: str) -> str:
    """``text`` with COPY's escapes (``_ESCAPE``). A printable string has no tab or line break, so only its
    backslashes need doubling, which ``str.replace`` does several times faster than a per-character ``translate``."""
    return text.replace("\\", "\\\\") if text.isprintable() else text.translate(_ESCAPE)


def timestamp_text(moment: datetime) -> str:
    """``moment.isoformat()``; for UTC (every contract event time) a naive isoformat plus the offset, about twice as
    fast (the aware one asks the time zone for its offset and formats it on every call)."""
    return moment.replace(tzinfo=None).isoformat() + "+00:00" if moment.tzinfo is UTC else moment.isoformat()


def row_text(
    bet_id: object,
    user_id: object,
    game: object,
    amount: object,
    currency: object,
    odds: object,
    status: object,
    event_time: object,
    payload: object,
) -> str:
    """One line of COPY text: the :data:`COLUMNS`, in their order, each already in COPY's text form (escaped, \\N
    for NULL). :func:`copy_row` and :mod:`jobs.bets.fast_row` both write rows with it (an f-string: a third of
    ``str.format``'s time per row)."""
    return f"{bet_id}\t{user_id}\t{game}\t{amount}\t{currency}\t{odds}\t{status}\t{event_time}\t{payload}\n"


def copy_row(bet: Bet) -> str:
    """One bet as a line of COPY text (tab-separated, backslash escapes, \\N for NULL)."""
    payload = "\\N" if bet.payload is None else json.dumps(bet.payload, default=json_default).translate(_ESCAPE)
    return row_text(
        bet.bet_id,
        escaped_text(bet.user_id),
        escaped_text(bet.game),
        bet.amount,
        bet.currency,
        bet.odds,
        bet.status,
        timestamp_text(bet.event_time),
        payload,
    )


def copy_text(bets: Sequence[Bet]) -> io.StringIO:
    """The bets as a COPY file (for ``copy_expert``)."""
    return io.StringIO("".join(map(copy_row, bets)))


def copy_rows(conn: connection, rows: Sequence[str]) -> int:
    """COPY a batch (:func:`copy_row` lines) straight into ``bets`` inside the caller's transaction; all rows are new
    or it raises (a ``bet_id`` already stored is a unique violation, SQLSTATE 23505: the caller retries with
    :func:`insert_rows`)."""
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY bets ({_COLS}) FROM STDIN", io.StringIO("".join(rows)), size=COPY_CHUNK)
    return len(rows)


def insert_rows(conn: connection, rows: Sequence[str]) -> int:
    """Insert a batch (:func:`copy_row` lines) inside the caller's transaction; return how many rows were new. The
    caller commits."""
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.execute(_STAGING)
        cur.copy_expert(f"COPY bets_incoming ({_COLS}) FROM STDIN", io.StringIO("".join(rows)), size=COPY_CHUNK)
        cur.execute(_MERGE)
        return cur.rowcount


def insert_bets(conn: connection, bets: Sequence[Bet]) -> int:
    """:func:`insert_rows` for bets (seeding and tests)."""
    return insert_rows(conn, [copy_row(bet) for bet in bets])


DATA_ERROR_CLASSES = frozenset({"22", "23"})  # data exception, integrity constraint violation: the rows are at fault
INFRASTRUCTURE_ERROR_CLASSES = frozenset({"08", "53", "57"})  # connection, insufficient resources, operator action


def sqlstate_class(err: BaseException) -> str:
    """The two-character SQLSTATE class of a database error ('' when the server sent none, e.g. a lost socket)."""
    return (getattr(err, "pgcode", None) or "")[:2]


def is_data_error(err: BaseException) -> bool:
    """Postgres refused the *content* of a row: the same rows fail every time, so they are isolated, never retried."""
    return isinstance(err, psycopg2.Error) and sqlstate_class(err) in DATA_ERROR_CLASSES


def is_infrastructure_error(err: BaseException) -> bool:
    """The database or the path to it failed, not the rows: worth a reconnect and a retry of the whole batch."""
    if is_data_error(err):
        return False
    return sqlstate_class(err) in INFRASTRUCTURE_ERROR_CLASSES or isinstance(
        err, psycopg2.OperationalError | psycopg2.InterfaceError
    )


def database_message(err: BaseException) -> str:
    """The server's primary message and SQLSTATE (the DETAIL line is left out: it repeats the whole row)."""
    diag = getattr(err, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(err).strip().splitlines()[0]
    code = getattr(err, "pgcode", None)
    return f"{primary} (SQLSTATE {code})" if code else primary


@dataclass(frozen=True)
class Rejected:
    """A row Postgres refused: its position in the batch and the database's message."""

    index: int
    error: str


@dataclass(frozen=True)
class Stored:
    """The outcome of one committed batch: rows that were new, and rows refused for a data reason."""

    inserted: int
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class Position:
    """Where a consumer group stands after a batch: the next offset to read, per (topic, partition)."""

    group: str
    offsets: Mapping[tuple[str, int], int]


_SAVE_POSITION = """
INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES %s
ON CONFLICT (consumer_group, topic, partition) DO UPDATE
SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()
"""


def save_position(conn: connection, position: Position) -> None:
    """Record the group's position in the caller's transaction: it commits with the rows or not at all. Never
    moves backwards (a member that lost its partitions may commit an older batch after the new owner)."""
    rows = [(position.group, topic, partition, offset) for (topic, partition), offset in position.offsets.items()]
    if rows:
        with conn.cursor() as cur:
            execute_values(cur, _SAVE_POSITION, rows)


def stored_position(conn: connection, group: str, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The positions recorded for ``partitions`` (absent: the group never stored a batch from that partition)."""
    wanted = list(partitions)
    if not wanted:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer_group = %s "
            "AND (topic, partition) IN %s",
            (group, tuple(wanted)),
        )
        return {(topic, partition): offset for topic, partition, offset in cur.fetchall()}


def store_batch(
    conn: connection,
    rows: Sequence[str],
    position: Position | None = None,
    before_commit: Callable[[list[Rejected]], None] | None = None,
) -> Stored:
    """Insert and commit a batch, with the consumer's ``position`` in the same transaction; rows refused for a data
    reason are isolated and returned, the rest commit.

    ``rows`` are the bets as :func:`copy_row` lines. The consumer renders them on its main thread (Python work on
    the writer thread would compete with it for the GIL), most of them straight from the message
    (:mod:`jobs.bets.fast_row`). A refused row is named by its index in ``rows``.

    ``before_commit`` gets the refused rows while the transaction is still open (the consumer dead-letters them
    there): the position passes them only if they were handed over, so a crash in between replays them.

    Any other error (connection, schema, resources) propagates with nothing committed: the caller decides whether
    to retry. The happy path is one transaction with one COPY (:func:`copy_rows`); a batch that meets stored rows
    pays for a second transaction (:func:`insert_rows`), and only a refused batch pays for :func:`_isolate`.
    """
    refused: psycopg2.Error | None = None
    for insert in (copy_rows, insert_rows):  # a data error in copy_rows may be a mere duplicate: insert_rows decides
        try:
            with conn:
                stored = Stored(insert(conn, rows))
                if position is not None:
                    save_position(conn, position)
                return stored
        except psycopg2.Error as err:
            if not is_data_error(err):
                raise
            refused = err
    assert refused is not None
    with conn:
        stored = _isolate(conn, rows, refused)
        if position is not None:
            save_position(conn, position)
        if before_commit is not None:
            before_commit(stored.rejected)  # raises (e.g. the DLQ is down): the transaction rolls back
        return stored


def _isolate(conn: connection, rows: Sequence[str], refused: psycopg2.Error) -> Stored:
    """Find the refused rows of a batch known to fail, insert all the others (in the caller's transaction).

    Two passes, each :func:`_narrow`: stage every row that COPY can convert (class 22 conversion errors such as
    U+0000 or a value too long surface here), then merge the staged rows into ``bets`` (constraint violations
    surface here). Cost for k refused rows among n: about 3 attempts per refused row when the server names the
    row (:func:`_suspect`, the usual case), at most about 3·k·⌈log2 n⌉ otherwise; each row is copied once more.
    """
    with conn.cursor() as cur:
        cur.execute(_ISOLATING)
        staged, _, unconvertible = _narrow(list(range(len(rows))), rows, lambda part: _stage(cur, rows, part))
        _, inserted, violating = _narrow(staged, rows, lambda part: _merge(cur, part))
    return Stored(inserted, sorted(unconvertible + violating, key=lambda row: row.index))


def _narrow(
    positions: list[int], rows: Sequence[str], attempt: Callable[[list[int]], int]
) -> tuple[list[int], int, list[Rejected]]:
    """Run ``attempt`` on ``positions``; split every part that fails for a data reason until the refused rows stand
    alone. Returns the accepted positions, the sum of the accepted attempts' results, and the refused rows."""
    accepted: list[int] = []
    total = 0
    rejected: list[Rejected] = []
    todo: list[tuple[list[int], psycopg2.Error | None]] = [(positions, None)] if positions else []
    while todo:
        part, err = todo.pop()
        if err is not None and len(part) == 1:
            rejected.append(Rejected(part[0], database_message(err)))
            continue
        failed = []
        for piece in [part] if err is None else _split(part, _suspect(err, part, rows)):
            try:
                total += attempt(piece)
                accepted += piece
            except psycopg2.Error as piece_err:
                if not is_data_error(piece_err):
                    raise
                failed.append((piece, piece_err))
        todo.extend(reversed(failed))
    return accepted, total, rejected


def _split(part: list[int], suspect: int | None) -> list[list[int]]:
    """The suspect alone (when there is one) and the other positions in two halves, none of them empty.

    The server's hint only saves attempts and is never trusted: the suspect is tried alone like any other part."""
    rest = [i for i in part if i != suspect]
    half = len(rest) // 2
    pieces = [[suspect]] if suspect is not None else []
    return pieces + [piece for piece in (rest[:half], rest[half:]) if piece]


_COPY_LINE = re.compile(r"COPY bets_\w+, line (\d+)")  # CONTEXT of a value COPY could not convert
_FAILING_ROW = re.compile(r"Failing row contains \(([0-9a-f-]{36}),")  # DETAIL of a CHECK/NOT NULL violation


def _suspect(err: psycopg2.Error, part: list[int], rows: Sequence[str]) -> int | None:
    """The batch position of the row the server blamed (COPY line, or the failing row's bet_id), if it named one."""
    diag = err.diag
    line = _COPY_LINE.search(diag.context or "")
    if line and 1 <= int(line[1]) <= len(part):
        return part[int(line[1]) - 1]
    row = _FAILING_ROW.search(diag.message_detail or "")
    if row:
        return next((i for i in part if rows[i].startswith(f"{row[1]}\t")), None)  # bet_id is the first column
    return None


def _stage(cur: cursor, rows: Sequence[str], part: list[int]) -> int:
    """COPY the rows at ``part`` with their positions into the isolation table, under a savepoint."""
    text = io.StringIO("".join(f"{pos}\t{rows[pos]}" for pos in part))
    return _savepoint(cur, lambda: cur.copy_expert(f"COPY bets_isolating (pos, {_COLS}) FROM STDIN", text))


def _merge(cur: cursor, part: list[int]) -> int:
    """Insert the staged rows at ``part`` into ``bets`` under a savepoint; return how many were new."""

    def insert() -> int:
        cur.execute(_MERGE_SOME, (part,))
        return cur.rowcount

    return _savepoint(cur, insert)


def _savepoint(cur: cursor, work: Callable[[], int | None]) -> int:
    """Run ``work`` under a savepoint; on failure roll back to it (the transaction stays usable) and re-raise."""
    cur.execute(_SAVEPOINT)
    try:
        result = work()
    except psycopg2.Error:
        cur.execute(_ROLLBACK)
        raise
    cur.execute(_RELEASE)
    return result or 0
