"""The Flink SQL twins of :mod:`jobs.common.rules`: each rule once, as a SQL expression over a STRING column.

Pipelines declare every Kafka source column as STRING, so Flink's JSON format hands over the text the producer
wrote (numbers included) and these expressions judge that text with the same patterns and bounds as the Python
rules. A pipeline's ``flink_sql.py`` composes them into its validity predicate.
"""

from __future__ import annotations

from decimal import Decimal

from jobs.common.rules import EVENT_TIME_PATTERN

NUMBER_PATTERN = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(quote(v) for v in values)})"


def matches(column: str, pattern: str) -> str:
    return f"REGEXP({column}, {quote(pattern)})"


def not_blank(column: str) -> str:
    return f"CHAR_LENGTH(TRIM({column})) > 0"


def places_ok(column: str, places: int) -> str:
    """No significant digit beyond ``places`` decimals (trailing zeros are fine: 12.500 == 12.50)."""
    pattern = r"\.[0-9]{" + str(places) + r"}[0-9]*[1-9]"
    return f"NOT {matches(column, pattern)}"


def decimal(column: str) -> str:
    """The column's number as an exact decimal (only meaningful where ``is_number`` holds)."""
    return f"CAST({column} AS DECIMAL(38, 10))"


def is_number(column: str) -> str:
    return matches(column, NUMBER_PATTERN)


def between(column: str, low: Decimal | int, high: Decimal | int, low_inclusive: bool = True) -> str:
    value = decimal(column)
    return f"{value} {'>=' if low_inclusive else '>'} {low} AND {value} <= {high}"


def interval(seconds: int) -> str:
    """A Flink SQL interval literal of any length: ``INTERVAL 'n' SECOND`` is capped at 99 s (SECOND(2))."""
    days, rest = divmod(seconds, 86_400)
    return f"INTERVAL '{days} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}' DAY TO SECOND"


def event_ts(column: str = "event_time") -> str:
    """The event-time attribute of an ISO-8601 column.

    Epoch seconds from the text without its fraction (UNIX_TIMESTAMP honours the offset, 'Z' included), plus the
    first three fraction digits as milliseconds. Invalid text maps to epoch 0 (a rowtime must not be NULL); such
    rows fail the predicate and never reach a window.
    """
    return (
        f"TO_TIMESTAMP_LTZ(CASE WHEN {matches(column, EVENT_TIME_PATTERN)} THEN "
        f"UNIX_TIMESTAMP(REGEXP_REPLACE({column}, '\\.[0-9]+', ''), 'yyyy-MM-dd''T''HH:mm:ssXXX') * 1000 + "
        f"CAST(SUBSTRING(RPAD(COALESCE(REGEXP_EXTRACT({column}, '\\.([0-9]+)', 1), ''), 3, '0') FROM 1 FOR 3) "
        "AS BIGINT) ELSE 0 END, 3)"
    )


def is_event_time(column: str = "event_time") -> str:
    return matches(column, EVENT_TIME_PATTERN)


def string_columns(names: tuple[str, ...]) -> str:
    """Source column declarations: every field a STRING (see the module docstring)."""
    return ",\n  ".join(f"`{name}` STRING" for name in names)


def not_null(names: tuple[str, ...]) -> list[str]:
    return [f"`{name}` IS NOT NULL" for name in names]


def source_ddl(name: str, columns: tuple[str, ...], with_clause: str, watermark_delay_seconds: int) -> str:
    """A Kafka JSON source of raw events (all STRING) with the event-time attribute ``ts`` and its watermark."""
    return (
        f"CREATE TEMPORARY TABLE {name} (\n  {string_columns(columns)},\n  ts AS {event_ts()},\n"
        f"  WATERMARK FOR ts AS ts - {interval(watermark_delay_seconds)}\n) {with_clause}"
    )
