"""The bet contract in Flink SQL: source, validity predicate, and the window result sinks.

Composed from the platform's rule twins (:mod:`jobs.common.sql_rules`) with the bounds of ``contract.py``, so both
sides give every message the same verdict (docs/design.md, "Contract rules"). The source reads the Kafka value as
one raw STRING and each field is read with its JSON type visible (by either reader of ``sql_rules``), so a number
sent as a JSON string (``"amount": "12"``) is refused here as in the consumer.
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
from jobs.common.rules import UUID_BODY


def field_rules(fields: sql.Fields) -> str:
    """The bet's field rules (``contract.parse_bet``) with either reader of :mod:`jobs.common.sql_rules`."""
    field = fields.wrapped
    return sql.all_of(
        [
            sql.string_matching(field("bet_id"), UUID_BODY),
            sql.text("user_id", fields),
            sql.text("game", fields),
            sql.number(field("amount"), 0, MAX_AMOUNT, AMOUNT_PLACES, low_inclusive=False),
            sql.number(field("odds"), MIN_ODDS, MAX_ODDS, ODDS_PLACES),
            sql.string_matching(field("currency"), CURRENCY_PATTERN),
            sql.one_of(field("status"), STATUSES),
            sql.event_time(fields=fields),
        ]
    )


VALID_PREDICATE = sql.valid(field_rules)


def source_ddl(name: str, with_clause: str, watermark_delay_seconds: int, metadata: tuple[str, ...] = ()) -> str:
    """A Kafka source of raw bet messages with the event-time attribute ``ts`` (-1 ms for an invalid message)."""
    return sql.source_ddl(name, with_clause, field_rules, watermark_delay_seconds, metadata=metadata)


def valid_bets_view(source: str, carry: tuple[str, ...] = ()) -> str:
    """Contract-valid events, typed (amount/odds as exact decimals), read from the source's ``message``.

    ``carry`` names further source columns to pass through (tests carry the Kafka offset)."""
    columns = [
        f"LOWER({sql.read(lambda f: sql.string_value(f.wrapped('bet_id')))}) AS bet_id",
        f"{sql.read(lambda f: f.text('user_id'))} AS user_id",
        f"{sql.read(lambda f: f.text('game'))} AS game",
        f"CAST({sql.read(lambda f: sql.decimal(f.wrapped('amount')))} AS DECIMAL(12, 2)) AS amount",
        f"{sql.read(lambda f: sql.string_value(f.wrapped('currency')))} AS currency",
        f"CAST({sql.read(lambda f: sql.decimal(f.wrapped('odds')))} AS DECIMAL(12, 4)) AS odds",
        f"{sql.read(lambda f: sql.string_value(f.wrapped('status')))} AS status",
        "ts",
        *carry,
    ]
    return f"SELECT {', '.join(columns)} FROM {source} WHERE {sql.accepted()}"


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
