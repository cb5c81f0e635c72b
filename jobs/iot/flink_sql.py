"""The IoT contract in Flink SQL: the change-stream sources, the row-image rule, the dead-letter reasons and the
analytics sinks.

The row rule is written once over an accessor (a typed column of the ``debezium-json`` source, or a JSON path into
the raw message), with the sensor table of :mod:`jobs.iot.contract`, so the window path and the dead-letter path
give a row image the same verdict. It checks what the typed path needs (every field present, the device type and
its sensor, the sensor's unit and physical range, a parseable event time); text length and character rules are the
operational database's business (the simulator writes through it).
"""

from __future__ import annotations

from collections.abc import Callable

from jobs.common import sql_rules as sql
from jobs.iot.contract import DEVICE_TYPES, SENSORS

Accessor = Callable[[str, str], str]  # (field, Flink type) → SQL expression of that field's value
TIME_BODY = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z"  # Debezium's ZonedTimestamp, UTC

CHANGE_COLUMNS = (
    ("reading_id", "BIGINT"),
    ("device_id", "STRING"),
    ("device_type", "STRING"),
    ("site", "STRING"),
    ("sensor", "STRING"),
    ("value", "DOUBLE"),
    ("unit", "STRING"),
    ("event_time", "STRING"),
)


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def double(value: float) -> str:
    """A DOUBLE literal (a bare ``21.5`` is a DECIMAL in Flink SQL)."""
    return f"CAST({value!r} AS DOUBLE)"


def typed(field: str, kind: str) -> str:
    """A column of the ``debezium-json`` source (already typed by the format)."""
    return f"`{field}`"


def in_image(image: str) -> Accessor:
    """A field of the raw message's ``before``/``after`` image, typed like the ``debezium-json`` column."""

    def access(field: str, kind: str) -> str:
        path = quote(f"$.{image}.{field}")
        if kind == "STRING":
            return f"JSON_VALUE(line, {path})"
        # Read as text, then TRY_CAST: Flink 2.0's JSON_VALUE … RETURNING DOUBLE fails on a JSON integer (a
        # ClassCastException inside the job), and it cannot return BIGINT. A whole number compares as a double
        # (exact below 2^53); a number sent as a string passes, as it does in the json format's typed read.
        return f"TRY_CAST(JSON_VALUE(line, {path}) AS DOUBLE)"

    return access


def by_sensor(sensor: str, pick: Callable[[str], str], default: str = "CAST(NULL AS DOUBLE)") -> str:
    """``CASE <sensor> WHEN 'temperature' THEN … END`` over :data:`SENSORS`."""
    arms = " ".join(f"WHEN {quote(name)} THEN {pick(name)}" for name in SENSORS)
    return f"CASE {sensor} {arms} ELSE {default} END"


def row_valid(col: Accessor) -> str:
    """The row-image rule (see the module docstring) as one SQL predicate, never NULL."""
    sensor, value = col("sensor", "STRING"), col("value", "DOUBLE")
    pairs = " OR ".join(
        f"({col('device_type', 'STRING')} = {quote(kind)} AND {sensor} IN ({', '.join(map(quote, sensors))}))"
        for kind, sensors in DEVICE_TYPES.items()
    )
    parts = [
        f"{col('reading_id', 'BIGINT')} >= 1",
        f"CHAR_LENGTH({col('device_id', 'STRING')}) > 0",
        f"CHAR_LENGTH({col('site', 'STRING')}) > 0",
        f"({pairs})",
        f"{col('unit', 'STRING')} = {by_sensor(sensor, lambda s: quote(SENSORS[s].unit), 'CAST(NULL AS STRING)')}",
        f"{value} BETWEEN {by_sensor(sensor, lambda s: double(SENSORS[s].low))} "
        f"AND {by_sensor(sensor, lambda s: double(SENSORS[s].high))}",
        f"REGEXP({col('event_time', 'STRING')}, {quote('^' + TIME_BODY + '$')})",
    ]
    return "COALESCE(" + " AND ".join(f"({p})" for p in parts) + ", FALSE)"


def event_ts(column: str) -> str:
    """Debezium's ``2026-01-01T00:00:06.386Z`` as a TIMESTAMP(3), UTC wall clock."""
    return f"CAST(REPLACE(REPLACE({column}, 'T', ' '), 'Z', '') AS TIMESTAMP(3))"


def changes_ddl(name: str, with_clause: str) -> str:
    """The ``debezium-json`` changelog source (key ``reading_id``: duplicates from an at-least-once redelivery are
    normalised away by ``table.exec.source.cdc-events-duplicate``)."""
    body = ",\n  ".join(f"`{c}` {t}" for c, t in CHANGE_COLUMNS)
    return f"CREATE TEMPORARY TABLE {name} (\n  {body},\n  PRIMARY KEY (reading_id) NOT ENFORCED\n) {with_clause}"


def raw_ddl(name: str, with_clause: str) -> str:
    """The same topic as one raw string per message, with its place in the topic (the dead-letter path)."""
    return (
        f"CREATE TEMPORARY TABLE {name} (\n  line STRING,\n  `partition` INT METADATA VIRTUAL,\n"
        f"  `offset` BIGINT METADATA VIRTUAL\n) {with_clause}"
    )


def reason_sql() -> str:
    """Why a raw change event is unusable (NULL when it is usable): the first rule it breaks."""
    op = "JSON_VALUE(line, '$.op')"
    has = "JSON_EXISTS(line, '$.{0}') AND JSON_QUERY(line, '$.{0}') IS NOT NULL"
    return (
        "CASE WHEN line IS NULL THEN CAST(NULL AS STRING) "
        "WHEN NOT (line IS JSON OBJECT) THEN 'not_json' "
        f"WHEN {op} IS NULL OR {op} NOT IN ('c', 'r', 'u', 'd') THEN 'bad_op' "
        f"WHEN {op} IN ('c', 'r', 'u') AND NOT ({has.format('after')}) THEN 'missing_after' "
        f"WHEN {op} IN ('u', 'd') AND NOT ({has.format('before')}) THEN 'missing_before' "
        f"WHEN {op} IN ('c', 'r', 'u') AND NOT {row_valid(in_image('after'))} THEN 'bad_after' "
        f"WHEN {op} IN ('u', 'd') AND NOT {row_valid(in_image('before'))} THEN 'bad_before' "
        "ELSE CAST(NULL AS STRING) END"
    )


def alert_columns() -> tuple[str, str]:
    """(direction, threshold) of a reading in ``iot_valid``: outside its sensor's alert band, else NULL."""
    high = by_sensor("sensor", lambda s: double(SENSORS[s].alert_high))
    low = by_sensor("sensor", lambda s: double(SENSORS[s].alert_low))
    direction = f"CASE WHEN `value` > {high} THEN 'high' WHEN `value` < {low} THEN 'low' END"
    threshold = f"CASE WHEN `value` > {high} THEN {high} WHEN `value` < {low} THEN {low} END"
    return direction, threshold


SINKS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "iot_windows": (
        (
            ("window_start", "TIMESTAMP(3)"),
            ("window_end", "TIMESTAMP(3)"),
            ("device_id", "STRING"),
            ("sensor", "STRING"),
            ("reading_count", "BIGINT"),
            ("min_value", "DOUBLE"),
            ("max_value", "DOUBLE"),
            ("avg_value", "DOUBLE"),
            ("last_value", "DOUBLE"),
        ),
        ("window_start", "device_id", "sensor"),
    ),
    "iot_alerts": (
        (
            ("reading_id", "BIGINT"),
            ("device_id", "STRING"),
            ("site", "STRING"),
            ("sensor", "STRING"),
            ("value", "DOUBLE"),
            ("unit", "STRING"),
            ("event_time", "TIMESTAMP(3)"),
            ("direction", "STRING"),
            ("threshold", "DOUBLE"),
        ),
        ("reading_id",),
    ),
    "iot_dead_letters": (
        (("topic_partition", "INT"), ("topic_offset", "BIGINT"), ("reason", "STRING"), ("payload", "STRING")),
        ("topic_partition", "topic_offset"),
    ),
}


def sink_ddl(table: str, with_clause: str) -> str:
    """The Flink sink of one analytics table (same columns and key as jobs/iot/sql/009_iot.sql: upserts)."""
    return sql.upsert_sink_ddl(table, *SINKS[table], with_clause)
