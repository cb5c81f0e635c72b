"""The behaviour session job on hand-written events, against hand-computed rows (real Kafka, Flink mini-cluster,
Postgres). One bounded run of ``jobs.behaviour.flink.sessions`` with the shipped gap (1800 s) answers every
assertion below.

Events (one partition, written in event-time order, so no event is late):

alice  10:00:00 page_view /home, 10:00:30 search /search, 10:01:00.000 add_to_cart /p/1 (exactly on a minute
       boundary: minute 10:01), 10:31:00 checkout /checkout — *exactly* the gap after the add_to_cart —, then
       11:01:00.001 purchase /done — the gap + 1 ms after the checkout.
bob    10:00:10 and 10:00:20 page_view /home, 10:30:19.999 page_view /p/2 (the gap − 1 ms after the previous one).
carol  10:02:00 page_view /home, add_to_cart /p/3, checkout /checkout, 15:02:15+05:00 purchase /done (UTC offset).
Two invalid messages (an unknown event_type, malformed JSON) are dropped by the contract.

Pinned Flink behaviour: Flink's session windows are [first, last + gap), and two that *touch* merge
(``TimeWindow.intersects`` is ``start <= other.end && end >= other.start``). So an event exactly ``gap`` after the
previous one *joins* its session; one millisecond more opens a new session.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaProducer

from jobs.behaviour.contract import parse_event
from jobs.behaviour.topics import BehaviourTopics
from jobs.common.kafka import ensure_topics
from jobs.common.produce import ProducerSettings, producer_options
from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings
from tests.conftest import unique_topic
from tests.integration.test_bets_flink import run_flink

pytestmark = pytest.mark.integration


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-03-10T{clock}+00:00")


GAP = timedelta(seconds=1800)  # BROOK_BEHAVIOUR_SESSION_GAP_SECONDS default: the run below uses the shipped value
# (user, event_type, page, event_time text)
EVENTS = [
    ("alice", "page_view", "/home", "2026-03-10T10:00:00Z"),
    ("bob", "page_view", "/home", "2026-03-10T10:00:10Z"),
    ("bob", "page_view", "/home", "2026-03-10T10:00:20Z"),
    ("alice", "search", "/search", "2026-03-10T10:00:30Z"),
    ("alice", "add_to_cart", "/p/1", "2026-03-10T10:01:00.000Z"),
    ("carol", "page_view", "/home", "2026-03-10T10:02:00Z"),
    ("carol", "add_to_cart", "/p/3", "2026-03-10T10:02:05Z"),
    ("carol", "checkout", "/checkout", "2026-03-10T10:02:10Z"),
    ("carol", "purchase", "/done", "2026-03-10T15:02:15+05:00"),
    ("bob", "page_view", "/p/2", "2026-03-10T10:30:19.999Z"),
    ("alice", "checkout", "/checkout", "2026-03-10T10:31:00Z"),
    ("alice", "purchase", "/done", "2026-03-10T11:01:00.001Z"),
]
INVALID = [
    json.dumps({"event_id": "00000000-0000-4000-8000-000000000099", "user_id": "mallory", "session_hint": "t",
                "event_type": "refund", "page": "/x", "event_time": "2026-03-10T10:00:40Z"}).encode(),
    b'{"event_id": "00000000-0000-4000-8000-000000000098", "user_id": ',
]  # fmt: skip


def messages() -> list[bytes]:
    out = []
    for n, (user, kind, page, time) in enumerate(EVENTS, start=1):
        event = {"event_id": f"00000000-0000-4000-8000-{n:012d}", "user_id": user, "session_hint": f"tab-{user}"}
        event |= {"event_type": kind, "page": page, "event_time": time}
        if kind != "page_view" and kind != "search":
            event["product_id"] = "p-" + page.rsplit("/", 1)[-1]
        out.append(json.dumps(event).encode())
        if n == 4:
            out.extend(INVALID)
    return out


# (user_id, session_start, session_end, events, page_views, distinct_pages, funnel_stage, converted)
EXPECTED_SESSIONS = {
    ("alice", at("10:00:00"), at("10:31:00") + GAP, 4, 1, 4, 3, False),  # 10:31:00 joined: exactly the gap
    ("alice", at("11:01:00.001"), at("11:01:00.001") + GAP, 1, 0, 1, 4, True),  # gap + 1 ms: a new session
    ("bob", at("10:00:10"), at("10:30:19.999") + GAP, 3, 3, 2, 1, False),
    ("carol", at("10:02:00"), at("10:02:15") + GAP, 4, 1, 4, 4, True),
}


def minute(clock: str, users: int, views: int, searches: int, carts: int, checkouts: int, buys: int) -> tuple:
    start = at(clock)
    return (start, start + timedelta(minutes=1), users, views, searches, carts, checkouts, buys)


# (window_start, window_end, active_users, page_views, searches, add_to_cart, checkouts, purchases)
EXPECTED_MINUTES = {
    minute("10:00:00", 2, 3, 1, 0, 0, 0),
    minute("10:01:00", 1, 0, 0, 1, 0, 0),  # 10:01:00.000 opens the minute, it does not close 10:00
    minute("10:02:00", 1, 1, 0, 1, 1, 1),
    minute("10:30:00", 1, 1, 0, 0, 0, 0),
    minute("10:31:00", 1, 0, 0, 0, 1, 0),
    minute("11:01:00", 1, 0, 0, 0, 0, 1),
}


def rows(pg: PostgresSettings, query: str) -> set[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(query)
        return set(cur.fetchall())


def test_the_events_are_what_the_docstring_says() -> None:
    valid = []
    for raw in messages():
        try:
            valid.append(parse_event(raw))
        except InvalidEvent:
            continue
    assert (
        len(valid) == len(EVENTS) == sum(s[3] for s in EXPECTED_SESSIONS) == sum(sum(m[3:]) for m in EXPECTED_MINUTES)
    )
    times = [event.event_time for event in valid]
    assert times == sorted(times)  # in event-time order: nothing is late
    assert len(messages()) == len(EVENTS) + len(INVALID)


@pytest.fixture
def behaviour_topic(request: pytest.FixtureRequest, kafka_settings: KafkaSettings) -> BehaviourTopics:
    """A unique one-partition topic holding :func:`messages`, written with the shipped producer settings."""
    name = unique_topic(request, "behaviour")
    topics = BehaviourTopics(events=name, dlq=f"{name}.dlq")
    ensure_topics(kafka_settings, {name: 1})
    producer = KafkaProducer(**kafka_settings.client_options(), **producer_options(ProducerSettings()))
    for raw in messages():
        producer.send(name, value=raw)
    producer.flush()
    producer.close()
    return topics


def test_sessions_and_minutes_match_hand_computed_rows(
    kafka_settings: KafkaSettings, behaviour_topic: BehaviourTopics, pg_schema: PostgresSettings, tmp_path: Path
) -> None:
    run_flink("jobs.behaviour.flink.sessions", (kafka_settings, behaviour_topic), pg_schema, tmp_path)
    sessions = rows(
        pg_schema,
        "SELECT user_id, session_start, session_end, events, page_views, distinct_pages, funnel_stage, converted "
        "FROM behaviour_sessions",
    )
    minutes = rows(
        pg_schema,
        "SELECT window_start, window_end, active_users, page_views, searches, add_to_cart, checkouts, purchases "
        "FROM behaviour_minute",
    )
    assert sessions == EXPECTED_SESSIONS
    assert minutes == EXPECTED_MINUTES
