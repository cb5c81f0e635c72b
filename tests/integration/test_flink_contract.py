"""Python's contract (jobs/bets/contract.py) and Flink's predicate (jobs/bets/flink_sql.py) accept the same
events — each rule, both sides, on the real Flink mini-cluster. The one known gap is pinned down explicitly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaProducer

from jobs.bets.contract import InvalidEvent, parse_bet
from jobs.bets.topics import BetsTopics
from jobs.common.kafka import ensure_topics
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env

pytestmark = pytest.mark.integration

BASE = {
    "user_id": "u1",
    "game": "roulette",
    "amount": 12.5,
    "currency": "EUR",
    "odds": 2.0,
    "status": "placed",
    "event_time": "2026-11-25T10:00:00Z",
}
CASES: dict[str, dict] = {
    "valid": {},
    "valid_offset_and_fraction": {"event_time": "2026-11-25T12:00:00.123456+02:00"},
    "valid_extra_field": {"channel": "web"},
    "valid_trailing_zero": {"amount": 12.50},
    "valid_min_odds": {"odds": 1.01},
    "valid_integer_amount": {"amount": 7},
    "missing_game": {"game": None},
    "empty_user": {"user_id": ""},
    "blank_user": {"user_id": "   "},
    "negative_amount": {"amount": -5},
    "zero_amount": {"amount": 0},
    "three_decimals": {"amount": 12.345},
    "odds_too_low": {"odds": 1.0},
    "odds_five_decimals": {"odds": 1.23456},
    "lower_currency": {"currency": "eur"},
    "long_currency": {"currency": "EURO"},
    "unknown_status": {"status": "pending"},
    "no_offset": {"event_time": "2026-11-25T10:00:00"},
    "space_separator": {"event_time": "2026-11-25 10:00:00Z"},
    "not_a_date": {"event_time": "yesterday"},
    "bad_uuid": {"bet_id": "not-a-uuid"},
}
# Flink's JSON format hands a JSON string and a JSON number to a STRING column alike, so a quoted number passes
# Flink's predicate while the consumer dead-letters it (wrong_type). Documented in jobs/bets/flink_sql.py.
KNOWN_GAP = {"quoted_amount": {"amount": "12.5"}}


def events() -> dict[str, bytes]:
    out = {}
    for n, (name, change) in enumerate({**CASES, **KNOWN_GAP}.items(), start=1):
        event = {"bet_id": f"00000000-0000-4000-8000-{n:012d}", **BASE, **change}
        out[name] = json.dumps({k: v for k, v in event.items() if v is not None}).encode()
    return out


def python_accepts(raw: bytes) -> bool:
    try:
        parse_bet(raw)
        return True
    except InvalidEvent:
        return False


FLINK_ACCEPTED = textwrap.dedent(
    """
    from jobs.bets import flink_sql
    from jobs.bets.topics import BetsTopics
    from jobs.common.settings import KafkaSettings, PostgresSettings, load
    from jobs.flink.environment import execute, jdbc_sink_options, kafka_source_options, table_environment, with_clause
    from jobs.flink.settings import FlinkSettings

    kafka, pg, settings = load(KafkaSettings), load(PostgresSettings), load(FlinkSettings)
    t_env = table_environment(settings, "contract-check")
    source = with_clause(kafka_source_options(kafka, load(BetsTopics).bets, "contract-check", settings))
    t_env.execute_sql(flink_sql.source_ddl("src", source, 5))
    sink = with_clause(jdbc_sink_options(pg, "accepted", settings))
    t_env.execute_sql(f"CREATE TEMPORARY TABLE accepted (bet_id STRING, PRIMARY KEY (bet_id) NOT ENFORCED) {sink}")
    statements = t_env.create_statement_set()
    statements.add_insert_sql(f"INSERT INTO accepted SELECT bet_id FROM ({flink_sql.valid_bets_view('src')})")
    execute(statements, wait=True)
    """
)


def test_python_and_flink_accept_the_same_events(
    kafka_settings: KafkaSettings, bets_topics: BetsTopics, pg_schema: PostgresSettings, tmp_path: Path
) -> None:
    raw = events()
    ensure_topics(kafka_settings, {bets_topics.bets: 1})
    producer = KafkaProducer(**kafka_settings.client_options())
    for value in raw.values():
        producer.send(bets_topics.bets, value=value)
    producer.flush()
    producer.close()
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE accepted (bet_id text PRIMARY KEY)")
    env = {
        **os.environ,
        **to_env(kafka_settings, bets_topics, pg_schema),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
    }
    proc = subprocess.run([sys.executable, "-c", FLINK_ACCEPTED], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT bet_id FROM accepted")
        flink_ids = {row[0] for row in cur.fetchall()}
    ids = {name: json.loads(value)["bet_id"] for name, value in raw.items()}
    flink = {name for name in raw if ids[name] in flink_ids}
    python = {name for name, value in raw.items() if python_accepts(value)}
    assert python - set(KNOWN_GAP) == {name for name in CASES if name.startswith("valid")}
    assert flink - set(KNOWN_GAP) == python - set(KNOWN_GAP)
    assert "quoted_amount" in flink and "quoted_amount" not in python, "the known gap changed: update the docs"
