"""The telecom contract in Python (parse_telecom) and in Flink SQL (VALID_PREDICATE) accept the same events — each
rule, both sides, on the real Flink mini-cluster (the bets contract test's method)."""

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

from jobs.common.kafka import ensure_topics
from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env
from jobs.telecom.contract import parse_telecom
from jobs.telecom.topics import TelecomTopics

pytestmark = pytest.mark.integration

BASE = {
    "event_type": "data_session",
    "subscriber_id": "0a1b2c3d4e5f6071",
    "region": "Almaty",
    "duration": 120,
    "data_mb": 10.125,
    "amount": 0,
    "event_time": "2026-03-10T10:00:00Z",
}
SMS = {"event_type": "sms", "direction": "outgoing", "duration": 0, "data_mb": 0}
CASES: dict[str, dict] = {
    "valid": {},
    "valid_call": {"event_type": "call", "direction": "incoming", "data_mb": 0},
    "valid_sms": SMS,
    "valid_recharge": {"event_type": "balance_recharge", "duration": 0, "data_mb": 0, "amount": 1000.5},
    "valid_extra_field": {"cell_id": "ALA-1"},
    "valid_offset": {"event_time": "2026-03-10T15:00:00.5+05:00"},
    "valid_trailing_zeros": {"data_mb": 10.1},
    "raw_number": {"subscriber_id": "+77011234567"},
    "digits_only_number": {"subscriber_id": "77011234567"},
    "upper_hex": {"subscriber_id": "0A1B2C3D4E5F6071"},
    "unknown_type": {"event_type": "mms"},
    "unknown_region": {"region": "ALL"},
    "missing_direction": {"event_type": "call", "data_mb": 0},
    "bad_direction": {**SMS, "direction": "sideways"},
    "direction_on_data": {"direction": "outgoing"},
    "zero_duration_session": {"duration": 0},
    "fractional_duration": {"duration": 1.5},
    "data_on_sms": {**SMS, "data_mb": 1},
    "four_decimals_mb": {"data_mb": 1.0001},
    "negative_mb": {"data_mb": -1},
    "amount_on_session": {"amount": 5},
    "zero_recharge": {"event_type": "balance_recharge", "duration": 0, "data_mb": 0, "amount": 0},
    "three_decimals_amount": {"event_type": "balance_recharge", "duration": 0, "data_mb": 0, "amount": 1.005},
    "missing_region": {"region": None},
    "no_offset": {"event_time": "2026-03-10T10:00:00"},
    "bad_uuid": {"event_id": "42"},
}

FLINK_ACCEPTED = textwrap.dedent(
    """
    from jobs.common.settings import KafkaSettings, PostgresSettings, load
    from jobs.telecom.topics import TelecomTopics
    from jobs.telecom import contract as telecom
    from jobs.flink.environment import execute, jdbc_sink_options, kafka_source_options, table_environment, with_clause
    from jobs.flink.settings import FlinkSettings

    kafka, pg, settings = load(KafkaSettings), load(PostgresSettings), load(FlinkSettings)
    t_env = table_environment(settings, "telecom-contract-check")
    source = with_clause(kafka_source_options(kafka, load(TelecomTopics).events, "telecom-contract-check", settings))
    t_env.execute_sql(telecom.source_ddl("src", source, 120))
    sink = with_clause(jdbc_sink_options(pg, "accepted", settings))
    t_env.execute_sql(f"CREATE TEMPORARY TABLE accepted (event_id STRING, PRIMARY KEY (event_id) NOT ENFORCED) {sink}")
    statements = t_env.create_statement_set()
    statements.add_insert_sql(f"INSERT INTO accepted SELECT event_id FROM ({telecom.valid_events_view('src')})")
    execute(statements, wait=True)
    """
)


def events() -> dict[str, bytes]:
    out = {}
    for n, (name, change) in enumerate(CASES.items(), start=1):
        event = {"event_id": f"00000000-0000-4000-8000-{n:012d}", **BASE, **change}
        out[name] = json.dumps({k: v for k, v in event.items() if v is not None}).encode()
    return out


def python_accepts(raw: bytes) -> bool:
    try:
        parse_telecom(raw)
        return True
    except InvalidEvent:
        return False


def test_python_and_flink_accept_the_same_telecom_events(
    kafka_settings: KafkaSettings,
    telecom_topics: TelecomTopics,
    pg_schema: PostgresSettings,
    tmp_path: Path,
) -> None:
    raw = events()
    ensure_topics(kafka_settings, {telecom_topics.events: 1})
    producer = KafkaProducer(**kafka_settings.client_options())
    for value in raw.values():
        producer.send(telecom_topics.events, value=value)
    producer.flush()
    producer.close()
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE accepted (event_id text PRIMARY KEY)")
    env = {
        **os.environ,
        **to_env(kafka_settings, telecom_topics, pg_schema),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
    }
    proc = subprocess.run([sys.executable, "-c", FLINK_ACCEPTED], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT event_id FROM accepted")
        flink_ids = {row[0] for row in cur.fetchall()}
    ids = {name: json.loads(value)["event_id"] for name, value in raw.items()}
    flink = {name for name in raw if ids[name] in flink_ids}
    python = {name for name, value in raw.items() if python_accepts(value)}
    assert python == {name for name in CASES if name.startswith("valid")}
    assert flink == python
