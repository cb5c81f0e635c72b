"""Every rule of the bet contract (DESIGN §2.1), each bad-input case with its reason code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from jobs.bets.contract import InvalidEvent, encode_bet, parse_bet
from tests.hostile_events import hostile_bets, sequential_ids

pytestmark = pytest.mark.unit

GOOD = {
    "bet_id": "6F1E2C1A-1111-4111-8111-111111111111",
    "user_id": "user-1",
    "game": "football:ARS-CHE",
    "amount": 12.5,
    "currency": "EUR",
    "odds": 1.01,
    "status": "won",
    "event_time": "2026-11-25T10:00:00.250+02:00",
}


def with_(**changes: object) -> bytes:
    event = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            del event[key]
        else:
            event[key] = value
    return json.dumps(event).encode()


def test_valid_event_is_normalised() -> None:
    bet = parse_bet(with_(extra={"channel": "app"}, promo=1.5))
    assert bet.bet_id == "6f1e2c1a-1111-4111-8111-111111111111"
    assert bet.amount == Decimal("12.5") and bet.odds == Decimal("1.01")
    assert bet.event_time == datetime(2026, 11, 25, 8, 0, 0, 250000, tzinfo=UTC)
    assert bet.payload == {"extra": {"channel": "app"}, "promo": Decimal("1.5")}


def test_z_suffix_and_integers_accepted() -> None:
    bet = parse_bet(with_(event_time="2026-11-25T10:00:00Z", amount=10, odds=2))
    assert bet.event_time == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert bet.amount == Decimal(10) and bet.payload is None


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (b"{not json", "invalid_json", None),
        (b"\xff\xfe", "invalid_json", None),
        (None, "invalid_json", None),
        (b'{"amount": NaN}', "invalid_json", None),
        (b"[1, 2]", "not_object", None),
        (b'"text"', "not_object", None),
        (with_(bet_id=...), "missing_field", "bet_id"),
        (with_(event_time=None), "missing_field", "event_time"),
        (with_(bet_id="not-a-uuid"), "bad_value", "bet_id"),
        (with_(bet_id=12), "wrong_type", "bet_id"),
        (with_(user_id=""), "bad_value", "user_id"),
        (with_(user_id="   "), "bad_value", "user_id"),
        (with_(game=["x"]), "wrong_type", "game"),
        (with_(amount="12.50"), "wrong_type", "amount"),
        (with_(amount=True), "wrong_type", "amount"),
        (with_(amount=0), "bad_value", "amount"),
        (with_(amount=-5), "bad_value", "amount"),
        (with_(amount=12.345), "bad_value", "amount"),
        (with_(amount=1e11), "bad_value", "amount"),
        (with_(currency="eur"), "bad_value", "currency"),
        (with_(currency="EURO"), "bad_value", "currency"),
        (with_(odds=1.0), "bad_value", "odds"),
        (with_(odds=1.00001), "bad_value", "odds"),
        (with_(odds="2"), "wrong_type", "odds"),
        (with_(status="pending"), "bad_value", "status"),
        (with_(event_time="2026-11-25T10:00:00"), "bad_value", "event_time"),
        (with_(event_time="yesterday"), "bad_value", "event_time"),
        (with_(event_time=1732528800), "wrong_type", "event_time"),
    ],
)
def test_invalid_events_are_rejected_with_reason(raw: bytes | None, code: str, field: str | None) -> None:
    with pytest.raises(InvalidEvent) as err:
        parse_bet(raw)
    assert err.value.code == code
    assert err.value.field == field
    assert str(err.value)


@pytest.mark.parametrize(
    ("name", "code", "field"),
    [
        ("nul_in_game", "invalid_json", None),
        ("escaped_lone_game", "invalid_json", None),
        ("lone_high_surrogate_game", "invalid_json", None),
        ("line_separator_game", "bad_value", "game"),
        ("c1_in_game", "bad_value", "game"),
        ("nbsp_only_user", "bad_value", "user_id"),
        ("long_game", "bad_value", "game"),
        ("month_13", "bad_value", "event_time"),
        ("feb_29_non_leap", "bad_value", "event_time"),
        ("year_0001", "bad_value", "event_time"),
        ("year_2100", "bad_value", "event_time"),
        ("before_epoch_by_offset", "bad_value", "event_time"),
        ("offset_plus_23_59", "bad_value", "event_time"),
        ("lowercase_z", "bad_value", "event_time"),
        ("seven_fraction_digits", "bad_value", "event_time"),
        ("trailing_newline_time", "bad_value", "event_time"),
        ("amount_as_string", "wrong_type", "amount"),
        ("amount_1e400", "bad_value", None),
        ("amount_16_digits", "bad_value", None),
        ("amount_tiny", "bad_value", "amount"),
        ("extra_huge_number", "bad_value", None),
        ("duplicate_escaped_key", "invalid_json", None),
        ("deep_extra_50", "invalid_json", None),
        ("trailing_data", "invalid_json", None),
        ("bom", "invalid_json", None),
        ("utf16", "invalid_json", None),
        ("replacement_char", "invalid_json", None),
    ],
)
def test_hostile_messages_are_refused_with_reason(name: str, code: str, field: str | None) -> None:
    with pytest.raises(InvalidEvent) as err:
        parse_bet(hostile_bets(sequential_ids(1))[name])
    assert (err.value.code, err.value.field) == (code, field)


@pytest.mark.parametrize(
    "name",
    [
        "emoji_game",
        "max_length_game",
        "feb_29_leap",
        "epoch_by_offset",
        "offset_plus_18",
        "six_fraction_digits",
        "deep_extra_8",
        "amount_1e2",
        "amount_trailing_zeros",
        "escaped_pair_game",
        "escaped_backslash_u",
        "escaped_currency",
        "upper_uuid",
    ],
)
def test_hostile_but_valid_messages_are_accepted(name: str) -> None:
    bet = parse_bet(hostile_bets(sequential_ids(1))[name])
    assert bet.event_time.tzinfo is UTC and bet.amount > 0


def test_fraction_digits_and_offsets_give_the_utc_instant() -> None:
    bet = parse_bet(with_(event_time="1969-12-31T23:00:00.999999-01:00"))
    assert bet.event_time == datetime(1970, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)


def test_boundaries_accepted() -> None:
    assert parse_bet(with_(odds=1.01)).odds == Decimal("1.01")
    assert parse_bet(with_(amount=0.01)).amount == Decimal("0.01")
    assert parse_bet(with_(amount=12.50)).amount == Decimal("12.5")


def test_encode_round_trips() -> None:
    event = dict(GOOD, amount=Decimal("7.25"), odds=Decimal("3"))
    bet = parse_bet(encode_bet(event))
    assert bet.amount == Decimal("7.25") and bet.odds == Decimal(3)
