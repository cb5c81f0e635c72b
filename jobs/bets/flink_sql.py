"""The bet contract in Flink SQL: source, validity predicate, and the window result sinks.

Composed from the platform's rule twins (:mod:`jobs.common.sql_rules`) with the bounds of ``contract.py``, so
both sides accept the same events. One gap cannot be closed with Flink's JSON format: a JSON *string* holding a
number (``"amount": "12"``) reads the same as the number, so Flink counts it while the consumer dead-letters it
(``wrong_type``); the audit would show it. Tests pin this down (tests/integration/test_flink_contract.py).
"""

from __future__ import annotations

from jobs.bets.contract import (
    AMOUNT_PLACES,
    CURRENCY_PATTERN,
    MAX_AMOUNT,
    MAX_ODDS,
    MIN_ODDS,
    ODDS_PLACES,
    REQUIRED,
    STATUSES,
)
from jobs.common import sql_rules as sql
from jobs.common.rules import UUID_PATTERN

VALID_PREDICATE = " AND ".join(
    [
        *sql.not_null(REQUIRED),
        sql.matches("bet_id", UUID_PATTERN),
        sql.not_blank("user_id"),
        sql.not_blank("game"),
        sql.is_number("amount"),
        sql.is_number("odds"),
        sql.between("amount", 0, MAX_AMOUNT, low_inclusive=False),
        sql.between("odds", MIN_ODDS, MAX_ODDS),
        sql.places_ok("amount", AMOUNT_PLACES),
        sql.places_ok("odds", ODDS_PLACES),
        sql.matches("currency", CURRENCY_PATTERN),
        sql.one_of("status", STATUSES),
        sql.is_event_time(),
    ]
)


def source_ddl(name: str, with_clause: str, watermark_delay_seconds: int) -> str:
    """A Kafka JSON source of raw bet events with the event-time attribute ``ts`` and its watermark."""
    return sql.source_ddl(name, REQUIRED, with_clause, watermark_delay_seconds)


def valid_bets_view(source: str) -> str:
    """Contract-valid events, typed (amount/odds as exact decimals)."""
    return (
        "SELECT LOWER(bet_id) AS bet_id, user_id, game, CAST(amount AS DECIMAL(12, 2)) AS amount, currency, "
        f"CAST(odds AS DECIMAL(12, 4)) AS odds, status, ts FROM {source} WHERE {VALID_PREDICATE}"
    )


# Window result tables (jobs/bets/sql/002_bets_windows.sql) as Flink sink schemas: name → (columns, key).
SINKS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "top_games": (
        (
            ("window_start", "TIMESTAMP(3)"),
            ("window_end", "TIMESTAMP(3)"),
            ("game", "STRING"),
            ("bets", "BIGINT"),
            ("amount_total", "DECIMAL(18, 2)"),
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
    columns, key = SINKS[table]
    body = ",\n  ".join(f"`{name}` {kind}" for name, kind in columns)
    return (
        f"CREATE TEMPORARY TABLE sink_{table} (\n  {body},\n  PRIMARY KEY ({', '.join(key)}) NOT ENFORCED\n) "
        f"{with_clause}"
    )
