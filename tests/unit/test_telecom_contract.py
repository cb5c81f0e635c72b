"""The telecom event contract: what is accepted, what is refused (with which reason code), and the SQL twin."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from jobs.bets.contract import InvalidEvent
from jobs.common.sql_rules import interval
from jobs.flink.environment import with_clause
from jobs.telecom.contract import (
    CONTRACT,
    REGIONS,
    REQUIRED,
    SUBSCRIBER_PATTERN,
    WITH_AMOUNT,
    WITH_DIRECTION,
    parse_telecom,
    source_ddl,
)

pytestmark = pytest.mark.unit

GOOD: dict[str, Any] = {
    "event_id": "00000000-0000-4000-8000-0000000000AA",
    "event_type": "data_session",
    "subscriber_id": "0a1b2c3d4e5f6071",
    "region": "Almaty",
    "duration": 120,
    "data_mb": 10.125,
    "amount": 0,
    "event_time": "2026-03-10T15:00:00+05:00",
    "cell_id": "ALA-0042",  # extra fields are allowed and ignored
}


def raw(**changes: Any) -> bytes:
    event = {**GOOD, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not ...}).encode()


def test_a_valid_event_is_normalised() -> None:
    event = parse_telecom(raw())
    assert event.event_id == "00000000-0000-4000-8000-0000000000aa"
    assert event.event_time == datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert (event.duration, event.data_mb, event.amount, event.direction) == (120, Decimal("10.125"), 0, None)
    call = parse_telecom(raw(event_type="call", direction="incoming", data_mb=0))
    assert call.direction == "incoming"
    recharge = parse_telecom(raw(event_type="balance_recharge", duration=0, data_mb=0, amount=1000.5))
    assert recharge.amount == Decimal("1000.5")


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"subscriber_id": "+77011234567"}, "bad_value", "subscriber_id"),
        ({"subscriber_id": "77011234567"}, "bad_value", "subscriber_id"),
        ({"subscriber_id": ...}, "missing_field", "subscriber_id"),
        ({"event_type": "mms"}, "bad_value", "event_type"),
        ({"region": "ALL"}, "bad_value", "region"),
        ({"event_id": "42"}, "bad_value", "event_id"),
        ({"event_type": "call", "data_mb": 0}, "bad_value", "direction"),
        ({"direction": "outgoing"}, "bad_value", "direction"),
        ({"duration": 0}, "bad_value", "duration"),
        ({"duration": 1.5}, "bad_value", "duration"),
        ({"duration": "120"}, "wrong_type", "duration"),
        ({"data_mb": 1.0001}, "bad_value", "data_mb"),
        ({"data_mb": -1}, "bad_value", "data_mb"),
        ({"amount": 5}, "bad_value", "amount"),
        ({"event_type": "sms", "direction": "outgoing", "duration": 0, "data_mb": 0}, None, None),
        ({"event_time": "2026-03-10T10:00:00"}, "bad_value", "event_time"),
        ({"event_time": "2026-02-29T10:00:00Z"}, "bad_value", "event_time"),
        ({"event_time": "2100-01-01T00:00:00Z"}, "bad_value", "event_time"),
        ({"region": "Almaty\u2028"}, "bad_value", "region"),
        ({"duration": 1e400}, "bad_value", None),
        ({"data_mb": "10.125"}, "wrong_type", "data_mb"),
        ({"cell_id": "x\u0000"}, "invalid_json", None),
    ],
)
def test_rule_breaches_are_refused_with_a_reason(changes: dict[str, Any], code: str | None, field: str | None) -> None:
    if code is None:
        parse_telecom(raw(**changes))
        return
    with pytest.raises(InvalidEvent) as err:
        parse_telecom(raw(**changes).replace(b"Infinity", b"1e400"))
    assert (err.value.code, err.value.field) == (code, field)


@pytest.mark.parametrize("value", [None, b"{nope", b"[1]"])
def test_non_objects_are_refused(value: bytes | None) -> None:
    with pytest.raises(InvalidEvent):
        parse_telecom(value)


def test_flink_verdict_spec_names_every_rule() -> None:
    """The spec the Flink function applies carries each field rule of parse_telecom, in the view's order."""
    spec = json.loads(CONTRACT.spec())
    fields = {field["name"]: field for field in spec["fields"]}
    assert list(fields) == [*REQUIRED[:4], "direction", *REQUIRED[4:]]
    assert fields["subscriber_id"]["pattern"] == SUBSCRIBER_PATTERN
    assert fields["region"]["values"] == list(REGIONS)
    assert fields["direction"]["when"] == {"field": "event_type", "in": list(WITH_DIRECTION)}
    assert fields["amount"]["positive_when"] == {"field": "event_type", "in": list(WITH_AMOUNT)}
    assert fields["event_time"]["kind"] == "event_time"
    assert interval(120) == "INTERVAL '0 00:02:00' DAY TO SECOND"
    assert interval(86_400 + 61) == "INTERVAL '1 00:01:01' DAY TO SECOND"
    json_source = with_clause({"connector": "kafka", "format": "json", "json.ignore-parse-errors": "true"})
    ddl = source_ddl("s", json_source, 120)
    assert "WATERMARK FOR ts AS ts - INTERVAL '0 00:02:00' DAY TO SECOND" in ddl
    assert "'format' = 'raw'" in ddl and "json." not in ddl.split(") WITH (")[-1]
