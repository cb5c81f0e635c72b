"""Generative tests of the Python judge alone (fast, no services): for any byte string the contracts give a verdict
(an event or InvalidEvent with a stable code, never another exception), and what they accept is text and numbers
every other judge can hold: no control character, bounded length, numbers exact through a double and DECIMAL."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.bets.contract import Bet, parse_bet
from jobs.bets.store import copy_text
from jobs.common import rules
from jobs.common.rules import InvalidEvent
from jobs.telecom.contract import parse_telecom
from tests.message_strategies import messages, profile

pytestmark = [pytest.mark.unit, pytest.mark.fuzz]

CODES = {"invalid_json", "not_object", "missing_field", "wrong_type", "bad_value"}


def verdict(parse, raw: bytes | None):  # either parser
    try:
        return parse(raw)
    except InvalidEvent as err:
        assert err.code in CODES and str(err)
        return None


def assert_storable_text(value: str) -> None:
    assert rules.full(rules.TEXT_BODY).fullmatch(value)
    assert len(value.encode("utf-8")) <= 4 * rules.TEXT_MAX
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in value)


def assert_exact_json(payload: object) -> None:
    """The payload survives the consumer's serialisation (store.copy_text) with every number exact."""
    text = json.dumps(payload, default=rules.json_default)
    assert json.loads(text, parse_float=Decimal) == payload
    assert "\\u0000" not in text


@profile(200)
@given(messages("bets") | st.binary(max_size=64) | st.none())
def test_every_bet_message_gets_a_verdict_and_accepted_bets_are_storable(raw: bytes | None) -> None:
    bet = verdict(parse_bet, raw)
    if bet is None:
        return
    assert isinstance(bet, Bet)
    assert_storable_text(bet.user_id)
    assert_storable_text(bet.game)
    assert bet.event_time.tzinfo is UTC and rules.TIME_MIN <= bet.event_time < rules.TIME_MAX
    assert bet.amount == bet.amount.quantize(Decimal("0.01")) and bet.odds == bet.odds.quantize(Decimal("0.0001"))
    if bet.payload is not None:
        assert_exact_json(bet.payload)
    assert copy_text([bet]).getvalue().count("\n") == 1  # one COPY line: nothing in the row breaks it


@profile(150)
@given(messages("telecom") | st.binary(max_size=64))
def test_every_telecom_message_gets_a_verdict(raw: bytes | None) -> None:
    event = verdict(parse_telecom, raw)
    if event is not None:
        assert rules.TIME_MIN <= event.event_time < rules.TIME_MAX
        assert event.duration >= 0 and event.data_mb >= 0 and event.amount >= 0


@profile(100)
@given(
    st.recursive(
        st.text() | st.integers() | st.floats(allow_nan=False), lambda x: st.lists(x) | st.dictionaries(st.text(), x)
    )
)
def test_arbitrary_json_documents_get_a_verdict(document: object) -> None:
    raw = json.dumps(document).encode("utf-8", "surrogatepass")
    verdict(parse_bet, raw)
    verdict(parse_telecom, raw)


@pytest.mark.parametrize("depth", [7, 8, 9, 100, 5000])
def test_nesting_is_refused_before_parsing_at_any_depth(depth: int) -> None:
    raw = b'{"bet_id":"00000000-0000-4000-8000-000000000001","x":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    if depth <= rules.MAX_DEPTH:
        with pytest.raises(InvalidEvent) as err:
            parse_bet(raw)
        assert err.value.code == "missing_field"
    else:
        with pytest.raises(InvalidEvent) as err:
            parse_bet(raw)
        assert err.value.code == "invalid_json"
