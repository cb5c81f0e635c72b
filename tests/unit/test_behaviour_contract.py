"""The behaviour event contract, the emulator's frames and the gateway's settings, without services.

Known answers for each field rule and reason code; generative tests (Hypothesis) that every byte string gets one
verdict (an event or InvalidEvent with a stable code, never another exception) and that what is accepted is
storable text; the emulator's frames are deterministic and judged as the emulator labelled them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.behaviour import contract
from jobs.behaviour.contract import FUNNEL_STAGE, InvalidEvent, event_id_of, parse_event
from jobs.behaviour.emulator import FUNNEL, user_frames
from jobs.behaviour.live import COLUMNS, snapshot
from jobs.behaviour.settings import GatewaySettings, GatewayToken
from jobs.common import rules
from jobs.common.settings import ConfigError, load
from tests.message_strategies import field_values, hostile_text, json_values, profile

pytestmark = pytest.mark.unit

CODES = {"invalid_json", "not_object", "missing_field", "wrong_type", "bad_value"}
GOOD: dict[str, Any] = {
    "event_id": "00000000-0000-4000-8000-0000000000AA",
    "user_id": "user-1",
    "session_hint": "tab-7",
    "event_type": "add_to_cart",
    "page": "/product/sku-0001",
    "product_id": "sku-0001",
    "event_time": "2026-11-28T10:15:00.250+05:00",
    "referrer": "newsletter",  # extra fields are allowed and ignored
}
START = datetime(2026, 11, 28, tzinfo=UTC)


def raw(**changes: Any) -> bytes:
    event = {**GOOD, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not ...}).encode()


def code_of(message: bytes | str | None) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(message)
    return caught.value.code


def test_a_valid_event_is_normalised() -> None:
    event = parse_event(raw())
    assert event.event_id == "00000000-0000-4000-8000-0000000000aa"
    assert event.event_time == datetime(2026, 11, 28, 5, 15, 0, 250_000, tzinfo=UTC)
    assert (event.user_id, event.session_hint, event.page, event.product_id) == (
        "user-1",
        "tab-7",
        "/product/sku-0001",
        "sku-0001",
    )
    assert event.funnel_stage == 2


@pytest.mark.parametrize("product", [..., None])
def test_product_id_may_be_absent_or_null(product: Any) -> None:
    assert parse_event(raw(product_id=product)).product_id is None


def test_funnel_stages_are_ordinal_over_every_event_type() -> None:
    assert set(FUNNEL_STAGE) == set(contract.EVENT_TYPES)
    assert FUNNEL_STAGE["page_view"] == FUNNEL_STAGE["search"] == contract.BROWSE
    assert [FUNNEL_STAGE[k] for k in ("add_to_cart", "checkout", "purchase")] == [2, 3, 4]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (raw(user_id=...), "missing_field"),
        (raw(page=None), "missing_field"),
        (raw(session_hint=...), "missing_field"),
        (raw(event_id="not-a-uuid"), "bad_value"),
        (raw(event_type="teleport"), "bad_value"),
        (raw(event_type="PAGE_VIEW"), "bad_value"),
        (raw(user_id=42), "wrong_type"),
        (raw(product_id=7), "wrong_type"),
        (raw(product_id=""), "bad_value"),
        (raw(page="   "), "bad_value"),
        (raw(page="a\nb"), "bad_value"),
        (raw(session_hint="x" * 257), "bad_value"),
        (raw(event_time="2026-02-30T00:00:00Z"), "bad_value"),
        (raw(event_time="2026-11-28T10:00:00"), "bad_value"),
        (raw(event_time="2100-01-01T00:00:00Z"), "bad_value"),
        (raw()[:-1] + b',"user_id":"other"}', "invalid_json"),
        (b"\xff" + raw(), "invalid_json"),
        (raw() + b" {}", "invalid_json"),
        (raw(product_id=[[[[[[[["deep"]]]]]]]]), "invalid_json"),
        (b"[]", "not_object"),
        (b"", "invalid_json"),
        (None, "invalid_json"),
    ],
)
def test_breaches_are_refused_with_the_platform_reason(message: bytes | None, code: str) -> None:
    assert code_of(message) == code


def test_event_id_of_names_what_it_can_and_never_raises() -> None:
    assert event_id_of(raw(event_type="teleport")) == GOOD["event_id"]
    assert event_id_of(raw(event_id=12)) is None
    assert event_id_of(b"\xff\xfe") is None
    assert event_id_of(b"[1]") is None
    assert event_id_of(raw(event_id="e" * 300)) is None  # not echoed back at any length


@st.composite
def behaviour_messages(draw: st.DrawFn) -> bytes | None:
    """A near-valid behaviour event with hostile field values, missing fields and damage, or anything else."""
    kind = draw(st.sampled_from(["event"] * 8 + ["document", "bytes"]))
    if kind == "bytes":
        return draw(st.one_of(st.none(), st.binary(max_size=40)))
    if kind == "document":
        return json.dumps(draw(json_values), default=str).encode("utf-8", "surrogatepass")
    base = {k: v for k, v in GOOD.items() if k != "referrer"}
    members = [(key, draw(field_values(key, value))) for key, value in base.items()]
    members = [(k, v) for k, v in members if draw(st.integers(0, 40)) > 0]
    if draw(st.integers(0, 20)) == 0 and members:
        members.append(draw(st.sampled_from(members)))  # a duplicate key
    extra = draw(st.lists(st.tuples(hostile_text, json_values.map(lambda v: json.dumps(v, default=str))), max_size=1))
    body = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in members + extra) + "}"
    data = body.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none"] * 10 + ["cut", "bom", "trailing"]))
    if damage == "cut":
        data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    elif damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif damage == "trailing":
        data += b" x"
    return data


@pytest.mark.fuzz
@profile(300)
@given(behaviour_messages() | st.binary(max_size=64))
def test_every_message_gets_one_verdict_and_accepted_events_are_storable(message: bytes | None) -> None:
    try:
        event = parse_event(message)
    except InvalidEvent as err:
        assert err.code in CODES and str(err)
        event_id_of(message)  # the error frame's best effort never raises either
        return
    assert rules.full(rules.UUID_BODY).fullmatch(event.event_id) and event.event_id == event.event_id.lower()
    for text in (event.user_id, event.session_hint, event.page, event.product_id or "x"):
        assert rules.full(rules.TEXT_BODY).fullmatch(text) and text.strip()
    assert event.event_type in contract.EVENT_TYPES
    assert event.event_time.tzinfo is UTC and rules.TIME_MIN <= event.event_time < rules.TIME_MAX
    assert event_id_of(message) is not None


@pytest.mark.fuzz
@profile(40)
@given(st.integers(0, 10**6), st.integers(0, 50), st.integers(1, 80), st.sampled_from([0.0, 0.2, 1.0]))
def test_emulator_frames_are_deterministic_and_judged_as_labelled(
    seed: int, index: int, count: int, invalid_rate: float
) -> None:
    frames = user_frames(seed, index, count, START, invalid_rate)
    assert frames == user_frames(seed, index, count, START, invalid_rate) and len(frames) == count
    for frame, valid in frames:
        if valid:
            event = parse_event(frame)
            assert event.user_id == f"user-{seed}-{index:05d}" and event.event_time >= START
        else:
            with pytest.raises(InvalidEvent):
                parse_event(frame)


def test_emulated_sessions_walk_the_funnel_with_drop_offs() -> None:
    """Within a session the funnel stage never skips a step, and each step is reached less often than the last."""
    reached = {stage: 0 for stage in range(1, 5)}
    for index in range(200):
        sessions: dict[str, list[int]] = {}
        for frame, _ in user_frames(7, index, 60, START, 0.0):
            event = parse_event(frame)
            sessions.setdefault(event.session_hint, []).append(event.funnel_stage)
        for stages in sessions.values():
            deepest = max(stages)
            assert all(stage in stages for stage in range(1, deepest + 1))
            for stage in range(1, deepest + 1):
                reached[stage] += 1
    assert reached[1] > reached[2] > reached[3] > reached[4] > 0
    assert 0 < FUNNEL["purchase"] < 1


def test_the_token_is_required_and_long() -> None:
    with pytest.raises(ConfigError, match="BROOK_BEHAVIOUR_GATEWAY_TOKEN is not set"):
        load(GatewayToken, {})
    with pytest.raises(ConfigError, match="at least 16"):
        load(GatewayToken, {"BROOK_BEHAVIOUR_GATEWAY_TOKEN": "short"})
    assert load(GatewayToken, {"BROOK_BEHAVIOUR_GATEWAY_TOKEN": "t" * 16}).token == "t" * 16


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BROOK_BEHAVIOUR_GATEWAY_PORT", "70000"),
        ("BROOK_BEHAVIOUR_GATEWAY_PORT", "http"),
        ("BROOK_BEHAVIOUR_GATEWAY_MAX_IN_FLIGHT", "1"),
        ("BROOK_BEHAVIOUR_GATEWAY_MAX_FRAME_BYTES", "10"),
        ("BROOK_BEHAVIOUR_GATEWAY_MAX_IN_FLIGHT_BYTES", "1000"),
        ("BROOK_BEHAVIOUR_GATEWAY_DRAIN_SECONDS", "0"),
        ("BROOK_BEHAVIOUR_GATEWAY_LIVE", "maybe"),
    ],
)
def test_bad_gateway_settings_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load(GatewaySettings, {variable: value})


def test_live_snapshot_frames_rows_as_json() -> None:
    row = (datetime(2026, 11, 28, 10, 1, tzinfo=UTC), datetime(2026, 11, 28, 10, 2, tzinfo=UTC), 3, 9, 2, 1, 1, 0)
    assert json.loads(snapshot([row], "db down")) == {
        "rows": [
            {
                "window_start": "2026-11-28T10:01:00+00:00",
                "window_end": "2026-11-28T10:02:00+00:00",
                "active_users": 3,
                "page_views": 9,
                "searches": 2,
                "add_to_cart": 1,
                "checkouts": 1,
                "purchases": 0,
            }
        ],
        "error": "db down",
    }
    assert COLUMNS[0] == "window_start"
