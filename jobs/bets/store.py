"""Batched, idempotent inserts of valid bets into Postgres.

One round trip per batch: COPY the batch into a session temp table, then ``INSERT … SELECT … ON CONFLICT (bet_id)
DO NOTHING`` — so duplicates inside a batch (DO NOTHING also skips a row that conflicts with one inserted by the
same statement), across batches and across replays all collapse to one row, and the count returned is the number
of new rows. COPY beats ``execute_values`` here (measured in
``make bench``): the rows are streamed as text with no per-row statement parsing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

from psycopg2.extensions import connection

from jobs.bets.contract import Bet
from jobs.common.rules import json_default

COLUMNS = ("bet_id", "user_id", "game", "amount", "currency", "odds", "status", "event_time", "payload")
_COLS = ", ".join(COLUMNS)
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


def copy_text(bets: Sequence[Bet]) -> io.StringIO:
    """The batch in COPY text format (tab-separated, backslash escapes, \\N for NULL)."""
    out = io.StringIO()
    write = out.write
    for bet in bets:
        payload = "\\N" if bet.payload is None else json.dumps(bet.payload, default=json_default).translate(_ESCAPE)
        write(
            f"{bet.bet_id}\t{bet.user_id.translate(_ESCAPE)}\t{bet.game.translate(_ESCAPE)}\t{bet.amount}\t"
            f"{bet.currency}\t{bet.odds}\t{bet.status}\t{bet.event_time.isoformat()}\t{payload}\n"
        )
    out.seek(0)
    return out


def insert_bets(conn: connection, bets: Sequence[Bet]) -> int:
    """Insert a batch inside the caller's transaction; return how many rows were new. The caller commits."""
    if not bets:
        return 0
    with conn.cursor() as cur:
        cur.execute(_STAGING)
        cur.copy_expert(f"COPY bets_incoming ({_COLS}) FROM STDIN", copy_text(bets))
        cur.execute(_MERGE)
        return cur.rowcount
