"""The bet contract in Flink: source, accepted events, and the window result sinks.

The verdict is Brook's Java function (:mod:`jobs.flink.verdict`) with the bounds of ``contract.py``, so
Flink gives every message the verdict Python gives it (docs/design.md, "Contract rules"). The source reads the
Kafka value as one raw STRING; the function reads each field with its JSON type, so a number sent as a JSON string
(``"amount": "12"``) is refused here as in the consumer.
"""

from __future__ import annotations

from jobs.bets.contract import (
    AMOUNT_PLACES,
    CURRENCY_PATTERN,
    MAX_AMOUNT,
    MAX_ODDS,
    MIN_ODDS,
    ODDS_PLACES,
    STATUSES,
)
from jobs.common import sql_rules as sql
from jobs.flink import verdict

CONTRACT = verdict.FlinkContract(
    (
        verdict.uuid("bet_id"),
        verdict.text("user_id"),
        verdict.text("game"),
        verdict.number("amount", 0, MAX_AMOUNT, AMOUNT_PLACES, low_inclusive=False),
        verdict.matching("currency", CURRENCY_PATTERN),
        verdict.number("odds", MIN_ODDS, MAX_ODDS, ODDS_PLACES),
        verdict.one_of("status", STATUSES),
        verdict.event_time(),
    )
)


def source_ddl(name: str, with_clause: str, watermark_delay_seconds: int, metadata: tuple[str, ...] = ()) -> str:
    """A Kafka source of raw bet messages with the event-time attribute ``ts`` (-1 ms for an invalid message), for
    a TableEnvironment of ``jobs.flink.environment.table_environment`` (it registers the verdict function)."""
    return CONTRACT.source_ddl(name, with_clause, watermark_delay_seconds, metadata=metadata)


def valid_bets_view(source: str, carry: tuple[str, ...] = ()) -> str:
    """Contract-valid events, typed (amount/odds as exact decimals), read from the source's ``message``.

    ``carry`` names further source columns to pass through (tests carry the Kafka offset)."""
    value = CONTRACT.value
    columns = [
        f"{value('bet_id')} AS bet_id",
        f"{value('user_id')} AS user_id",
        f"{value('game')} AS game",
        f"CAST({value('amount')} AS DECIMAL(12, 2)) AS amount",
        f"{value('currency')} AS currency",
        f"CAST({value('odds')} AS DECIMAL(12, 4)) AS odds",
        f"{value('status')} AS status",
        "ts",
        *carry,
    ]
    return f"SELECT {', '.join(columns)} FROM ({CONTRACT.accepted(source, carry)})"


# Window result tables (jobs/bets/sql/002_bets_windows.sql) as Flink sink schemas: name → (columns, key).
SINKS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "top_games": (
        (
            ("window_start", "TIMESTAMP(3)"),
            ("window_end", "TIMESTAMP(3)"),
            ("game", "STRING"),
            ("bets", "BIGINT"),
            ("amount_total", "DECIMAL(38, 2)"),
        ),
        ("window_start", "game"),
    ),
    "avg_bet": (
        (
            ("window_start", "TIMESTAMP(3)"),
            ("window_end", "TIMESTAMP(3)"),
            ("game", "STRING"),
            ("bets", "BIGINT"),
            ("avg_amount", "DECIMAL(14, 4)"),
        ),
        ("window_start", "game"),
    ),
    "bet_status": (
        (
            ("window_start", "TIMESTAMP(3)"),
            ("window_end", "TIMESTAMP(3)"),
            ("status", "STRING"),
            ("bets", "BIGINT"),
        ),
        ("window_start", "status"),
    ),
    "active_users": (
        (("window_start", "TIMESTAMP(3)"), ("window_end", "TIMESTAMP(3)"), ("users", "BIGINT")),
        ("window_start",),
    ),
}


def sink_ddl(table: str, with_clause: str) -> str:
    """The Flink sink for one result table: same columns and primary key as the Postgres table (upserts)."""
    return sql.upsert_sink_ddl(table, *SINKS[table], with_clause)
