"""The telecom contract in Python (parse_telecom) and in Flink (its verdict function spec) give every message the same
verdict — each rule and the hostile cases of tests/hostile_events.py, on the real Flink mini-cluster (the bets
contract test's method) — and Flink reads every accepted event exactly as Python does."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest

from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings
from jobs.telecom.contract import TelecomEvent, parse_telecom
from jobs.telecom.topics import TelecomTopics
from tests.hostile_events import hostile_telecom, sequential_ids
from tests.integration import flink_verdicts

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
    "quoted_duration": {"duration": "120"},  # the former gap: Flink's JSON format read it as a number
    "valid_tiny_exponent_zero": {"amount": 0e5},
}


def events() -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for n, (name, change) in enumerate(CASES.items(), start=1):
        event = {"event_id": f"00000000-0000-4000-8000-{n:012d}", **BASE, **change}
        out[name] = json.dumps({k: v for k, v in event.items() if v is not None}).encode()
    out.update(hostile_telecom(sequential_ids(11)))
    return out


def python_verdict(raw: bytes | None) -> TelecomEvent | None:
    try:
        return parse_telecom(raw)
    except InvalidEvent:
        return None


def as_flink_row(event: TelecomEvent) -> tuple:
    """What Flink must have read for ``event``: its time in UTC truncated to the millisecond."""
    ts = event.event_time.astimezone(UTC).replace(tzinfo=None)
    ts = ts.replace(microsecond=ts.microsecond // 1000 * 1000)
    return (
        event.event_id,
        event.event_type,
        event.subscriber_id,
        event.region,
        event.duration,
        event.data_mb,
        event.amount,
        ts,
    )


def test_python_and_flink_give_every_telecom_message_the_same_verdict(
    kafka_settings: KafkaSettings,
    telecom_topics: TelecomTopics,
    pg_schema: PostgresSettings,
    tmp_path: Path,
) -> None:
    raw = events()
    names = list(raw)
    flink = flink_verdicts.run("telecom", list(raw.values()), kafka_settings, telecom_topics, pg_schema, tmp_path)
    python = {offset: python_verdict(raw[name]) for offset, name in enumerate(names)}
    accepted = {names[offset] for offset, event in python.items() if event is not None}
    assert {name for name in CASES if name.startswith("valid")} <= accepted
    assert not {name for name in CASES if not name.startswith("valid")} & accepted
    disagree = {names[o] for o in python if (python[o] is None) != (o not in flink)}
    assert not disagree, f"Python and Flink disagree on {sorted(disagree)}"
    for offset, event in python.items():
        if event is not None:
            assert flink[offset] == as_flink_row(event), names[offset]
