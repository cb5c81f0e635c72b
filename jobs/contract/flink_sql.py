"""The bet contract in Flink SQL: source columns, event time, validity predicate, and the window result sinks.

Kept next to ``bets.py`` and the SQL migrations so that the contract lives in one place. Every source column is a
STRING: Flink's JSON format then hands over the text the producer wrote (numbers included), and the rules of
``bets.py`` are applied to that text with the same patterns and bounds, so both sides accept the same events.
One gap cannot be closed with Flink's JSON format: a JSON *string* holding a number (``"amount": "12"``) reads
the same as the number, so Flink counts it while the consumer dead-letters it (``wrong_type``); the audit would
show it. Tests pin this down (tests/integration/test_flink_contract.py).
"""

from __future__ import annotations

from jobs.contract.bets import (
    AMOUNT_PLACES,
    CURRENCY_PATTERN,
    EVENT_TIME_PATTERN,
    MAX_AMOUNT,
    MAX_ODDS,
    MIN_ODDS,
    ODDS_PLACES,
    REQUIRED,
    STATUSES,
    UUID_PATTERN,
)

_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _places_ok(column: str, places: int) -> str:
    """No significant digit beyond ``places`` decimals (trailing zeros are fine: 12.500 == 12.50)."""
    pattern = r"\.[0-9]{" + str(places) + r"}[0-9]*[1-9]"
    return f"NOT REGEXP({column}, {_sql_string(pattern)})"


# Event time: epoch seconds from the text without its fraction (UNIX_TIMESTAMP honours the offset, 'Z' included),
# plus the first three fraction digits as milliseconds. Invalid text maps to epoch 0 (a rowtime must not be NULL);
# such rows fail the predicate and never reach a window.
EVENT_TS = (
    f"TO_TIMESTAMP_LTZ(CASE WHEN REGEXP(event_time, {_sql_string(EVENT_TIME_PATTERN)}) THEN "
    "UNIX_TIMESTAMP(REGEXP_REPLACE(event_time, '\\.[0-9]+', ''), 'yyyy-MM-dd''T''HH:mm:ssXXX') * 1000 + "
    "CAST(SUBSTRING(RPAD(COALESCE(REGEXP_EXTRACT(event_time, '\\.([0-9]+)', 1), ''), 3, '0') FROM 1 FOR 3) AS BIGINT) "
    "ELSE 0 END, 3)"
)

SOURCE_COLUMNS = ",\n  ".join(f"`{name}` STRING" for name in REQUIRED)

VALID_PREDICATE = " AND ".join(
    [
        *(f"`{name}` IS NOT NULL" for name in REQUIRED),
        f"REGEXP(bet_id, {_sql_string(UUID_PATTERN)})",
        "CHAR_LENGTH(TRIM(user_id)) > 0",
        "CHAR_LENGTH(TRIM(game)) > 0",
        f"REGEXP(amount, {_sql_string(_NUMBER)})",
        f"REGEXP(odds, {_sql_string(_NUMBER)})",
        f"CAST(amount AS DECIMAL(38, 10)) > 0 AND CAST(amount AS DECIMAL(38, 10)) <= {MAX_AMOUNT}",
        f"CAST(odds AS DECIMAL(38, 10)) >= {MIN_ODDS} AND CAST(odds AS DECIMAL(38, 10)) <= {MAX_ODDS}",
        _places_ok("amount", AMOUNT_PLACES),
        _places_ok("odds", ODDS_PLACES),
        f"REGEXP(currency, {_sql_string(CURRENCY_PATTERN)})",
        f"status IN ({', '.join(_sql_string(s) for s in STATUSES)})",
        f"REGEXP(event_time, {_sql_string(EVENT_TIME_PATTERN)})",
    ]
)


def source_ddl(name: str, with_clause: str, watermark_delay_seconds: int) -> str:
    """A Kafka JSON source of raw bet events with the event-time attribute ``ts`` and its watermark."""
    return (
        f"CREATE TEMPORARY TABLE {name} (\n  {SOURCE_COLUMNS},\n  ts AS {EVENT_TS},\n"
        f"  WATERMARK FOR ts AS ts - INTERVAL '{watermark_delay_seconds}' SECOND\n) {with_clause}"
    )


def valid_bets_view(source: str) -> str:
    """Contract-valid events, typed (amount/odds as exact decimals)."""
    return (
        "SELECT LOWER(bet_id) AS bet_id, user_id, game, CAST(amount AS DECIMAL(12, 2)) AS amount, currency, "
        f"CAST(odds AS DECIMAL(12, 4)) AS odds, status, ts FROM {source} WHERE {VALID_PREDICATE}"
    )


# Window result tables (jobs/contract/sql/002_bets_windows.sql) as Flink sink schemas: name → (columns, key).
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
