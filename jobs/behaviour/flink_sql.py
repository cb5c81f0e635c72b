"""The behaviour contract in Flink: the source, the typed view of valid events, the session and per-minute
aggregations, and their sinks.

The verdict is Brook's Java function (:mod:`jobs.flink.verdict`) with the rules of ``contract.parse_event``, so
Flink and the gateway give every message the same verdict (docs/design.md, "Contract rules"). The source reads the
Kafka value as one raw STRING; an invalid message gets the event time -1 ms and is filtered out (it can never move
the watermark). The funnel stage of an event type comes from ``contract.FUNNEL_STAGE``; the result tables are
``jobs/behaviour/sql/011_behaviour.sql``.
"""

from __future__ import annotations

from jobs.behaviour.contract import EVENT_TYPES, FUNNEL_STAGE, PURCHASE
from jobs.common import sql_rules as sql
from jobs.flink import verdict

CONTRACT = verdict.FlinkContract(
    (
        verdict.uuid("event_id"),
        verdict.text("user_id"),
        verdict.text("session_hint"),
        verdict.one_of("event_type", EVENT_TYPES),
        verdict.text("page"),
        verdict.optional(verdict.text("product_id")),
        verdict.event_time(),
    )
)

MINUTE_SECONDS = 60  # behaviour_minute: 1-minute tumbling windows (the table's name says so; not a setting)
# behaviour_minute's count columns → the event type each counts (every type once).
MINUTE_COUNTS = {
    "page_views": "page_view",
    "searches": "search",
    "add_to_cart": "add_to_cart",
    "checkouts": "checkout",
    "purchases": "purchase",
}


def source_ddl(name: str, with_clause: str, watermark_delay_seconds: int, metadata: tuple[str, ...] = ()) -> str:
    """A Kafka source of raw behaviour messages with the event-time attribute ``ts`` (-1 ms for an invalid one)."""
    return CONTRACT.source_ddl(name, with_clause, watermark_delay_seconds, metadata=metadata)


def valid_events_view(source: str, carry: tuple[str, ...] = ()) -> str:
    """Contract-valid events, typed, with their funnel stage; ``ts`` stays the rowtime.

    ``carry`` names further source columns to pass through (tests carry the Kafka offset)."""
    value = CONTRACT.value
    stage = " ".join(f"WHEN {sql.quote(kind)} THEN {n}" for kind, n in FUNNEL_STAGE.items())
    columns = [
        f"{value('event_id')} AS event_id",
        f"{value('user_id')} AS user_id",
        f"{value('session_hint')} AS session_hint",
        f"{value('event_type')} AS event_type",
        f"CAST(CASE {value('event_type')} {stage} END AS SMALLINT) AS funnel_stage",
        f"{value('page')} AS page",
        f"{value('product_id')} AS product_id",
        "ts",
        *carry,
    ]
    return f"SELECT {', '.join(columns)} FROM ({CONTRACT.accepted(source, carry)})"


def _count(event_type: str) -> str:
    return f"CAST(SUM(CASE WHEN event_type = {sql.quote(event_type)} THEN 1 ELSE 0 END) AS BIGINT)"


def sessions_query(view: str, gap_seconds: int) -> str:
    """Event-time SESSION windows per user over ``view``: a session closes when the user's next event is later
    than its last event + ``gap_seconds`` (session_end = last event + gap, Flink's window_end)."""
    return (
        "SELECT user_id, window_start, window_end, COUNT(*), "
        f"{_count('page_view')}, COUNT(DISTINCT page), MAX(funnel_stage), MAX(funnel_stage) = {PURCHASE} "
        f"FROM TABLE(SESSION(TABLE {view} PARTITION BY user_id, DESCRIPTOR(ts), {sql.interval(gap_seconds)})) "
        "GROUP BY user_id, window_start, window_end"
    )


def minute_query(view: str) -> str:
    """1-minute tumbling event-time windows over ``view``: distinct users and the count of each event type."""
    counts = ", ".join(_count(kind) for kind in MINUTE_COUNTS.values())
    return (
        f"SELECT window_start, window_end, COUNT(DISTINCT user_id), {counts} "
        f"FROM TABLE(TUMBLE(TABLE {view}, DESCRIPTOR(ts), {sql.interval(MINUTE_SECONDS)})) "
        "GROUP BY window_start, window_end"
    )


# Result tables (jobs/behaviour/sql/011_behaviour.sql) as Flink sink schemas: name → (columns, key).
SINKS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "behaviour_sessions": (
        (
            ("user_id", "STRING"),
            ("session_start", "TIMESTAMP(3)"),
            ("session_end", "TIMESTAMP(3)"),
            ("events", "BIGINT"),
            ("page_views", "BIGINT"),
            ("distinct_pages", "BIGINT"),
            ("funnel_stage", "SMALLINT"),
            ("converted", "BOOLEAN"),
        ),
        ("user_id", "session_start"),
    ),
    "behaviour_minute": (
        (
            ("window_start", "TIMESTAMP(3)"),
            ("window_end", "TIMESTAMP(3)"),
            ("active_users", "BIGINT"),
            *((column, "BIGINT") for column in MINUTE_COUNTS),
        ),
        ("window_start",),
    ),
}


def sink_ddl(table: str, with_clause: str) -> str:
    """The Flink sink for one result table: same columns and primary key as the Postgres table (upserts)."""
    return sql.upsert_sink_ddl(table, *SINKS[table], with_clause)
