"""The msgspec fast paths (jobs/common/fast_json.py, jobs/bets/fast_contract.py, jobs/bets/fast_row.py) against the
reference decoder, on generated hostile messages: a fast path either declines or returns exactly the reference's
object, the bets consumer's verdict (the Bet, or the DLQ reason code, field and message) is identical either way, and
the COPY row the consumer writes straight from a message is the one it writes from the reference's Bet."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.bets import fast_contract
from jobs.bets.contract import REQUIRED, parse_bet
from jobs.bets.fast_contract import parse_bet_fast
from jobs.bets.fast_row import fast_row
from jobs.bets.store import copy_row
from jobs.common import rules
from jobs.common.fast_json import fast_object
from jobs.common.rules import InvalidEvent
from tests.hostile_events import BET
from tests.message_strategies import HOSTILE_CHARS, NUMBER_TEXTS, hostile_text, json_values, messages, nested, profile

pytestmark = [pytest.mark.unit, pytest.mark.fuzz]

GOOD_ID = "00000000-0000-4000-8000-000000000000"
SPACES = ("", "", "", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\xa0", "\u2028", "\ufeff", "\x00")


def exact(value: Any) -> Any:
    """A value with its types spelled out: Decimal('1.0') == 1 == True in Python, but not to the consumer."""
    if isinstance(value, dict):
        return ("dict", [(k, exact(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [exact(v) for v in value])
    return (type(value).__name__, repr(value))


def reference_object(raw: Any) -> Any:
    try:
        return exact(rules.json_object(raw, REQUIRED))
    except InvalidEvent as err:
        return ("refused", err.code, err.field, str(err))


def verdict(parse: Any, raw: Any) -> Any:
    try:
        bet = parse(raw)
    except InvalidEvent as err:
        return ("refused", err.code, err.field, str(err))
    return exact(bet._asdict())


def number_texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NUMBER_TEXTS),
        st.integers(-(10**20), 10**20).map(str),
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.builds(
            lambda m, f, e: f"{m}{f}{e}",
            st.sampled_from(["0", "-0", "1", "12", "999999999999999", "1234567890123456"]),
            st.sampled_from(["", ".5", ".01", ".000", ".9999", ".12345678901234"]),
            st.sampled_from(["", "e0", "E+2", "e-2", "e99", "e100", "e0100", "E-0099", "e"]),
        ),
    )


def string_texts() -> st.SearchStrategy[str]:
    """JSON strings: mostly raw characters (ASCII or not), sometimes escaped (the fast path's decline)."""
    chars = st.text(alphabet=st.sampled_from(HOSTILE_CHARS), max_size=6) | hostile_text
    return st.one_of(
        chars.map(lambda s: '"' + s.replace('"', "").replace("\\", "") + '"'),
        chars.map(lambda s: json.dumps(s, ensure_ascii=False)),
        chars.map(json.dumps),
    )


def mostly(good: st.SearchStrategy[str], bad: st.SearchStrategy[str], one_in: int) -> st.SearchStrategy[str]:
    """``bad`` once in ``one_in`` draws (never when 0), else ``good``: many messages stay valid or carry a single
    hostile change, so that what the fast path *accepts* is tested, not only what it declines."""
    return st.integers(0, one_in - 1).flatmap(lambda n: bad if n == 0 else good) if one_in else good


def value_texts(name: str, one_in: int) -> st.SearchStrategy[str]:
    good = json.dumps(GOOD_ID if name == "bet_id" else BET.get(name, 1))
    bad = st.one_of(
        number_texts(),
        string_texts(),
        st.sampled_from(["true", "false", "null", "NaN", "Infinity", "-Infinity", "[]", "{}", '""', "[1]"]),
        st.integers(2, 12).map(lambda d: json.dumps(nested(d))),
        json_values.map(lambda v: json.dumps(v, default=str)),
    )
    return mostly(st.just(good), bad, one_in)


@st.composite
def flat_messages(draw: st.DrawFn) -> bytes:
    """Near-valid flat bets: the messages the fast path is for, with the mutations that must make it decline or
    give the reference's answer (duplicate keys, long or odd numbers, odd whitespace, BOM, non-UTF-8, U+FFFD...)."""
    one_in = draw(st.sampled_from([0, 60, 12]))  # how often a slot (a value, a space) is hostile
    extras = st.lists(st.sampled_from(["promo", "channel", "amount", "odds", "x"]), max_size=3)  # some duplicates
    names = [*REQUIRED, *(draw(extras) if draw(st.integers(0, 2)) == 0 else [])]
    names = draw(st.permutations(names))
    names = [n for n in names if draw(st.integers(0, 60)) > 0]  # now and then one goes missing
    space = mostly(st.just(""), st.sampled_from(SPACES), one_in)
    members = [
        f"{draw(space)}{json.dumps(name)}{draw(space)}:{draw(space)}{draw(value_texts(name, one_in))}{draw(space)}"
        for name in names
    ]
    body = "{" + ",".join(members) + "}"
    text = draw(space) + body + draw(mostly(st.just(""), st.sampled_from([*SPACES, "x", "{}", "]", ",", "0"]), one_in))
    raw = text.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none"] * 20 + ["bom", "latin1", "cut", "fffd", "bad_utf8"]))
    if damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif damage == "latin1":
        raw = raw.replace(b"e", b"\xe9", 1)
    elif damage == "cut":
        raw = raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif damage == "fffd":
        raw = raw.replace(b"u1", b"u\xef\xbf\xbd", 1)
    elif damage == "bad_utf8":
        raw = raw.replace(b"u1", draw(st.sampled_from([b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff"])))
    return raw


hostile = flat_messages() | messages("bets") | st.binary(max_size=64) | st.none() | st.text(max_size=40)


@profile(400)
@given(hostile)
def test_the_fast_path_returns_the_reference_object_or_declines(raw: Any) -> None:
    event = fast_object(raw, REQUIRED)
    if event is not None:
        assert exact(event) == reference_object(raw)


@profile(400)
@given(hostile)
def test_the_fast_contract_gives_the_reference_verdict(raw: Any) -> None:
    """Twice: the second time every value the first accepted is remembered (jobs/bets/fast_contract.py)."""
    reference = verdict(parse_bet, raw)
    assert verdict(parse_bet_fast, raw) == reference
    assert verdict(parse_bet_fast, raw) == reference


@pytest.mark.parametrize(
    ("field", "first", "then"),
    [
        ("amount", "1", "true"),  # True == 1 == Decimal(1) in Python: a bool must never hit a remembered number
        ("amount", "12.5", "12.500"),  # the same number written differently: the same verdict, its own Decimal
        ("amount", "5", "5.0"),  # an int remembered as Decimal(5)
        ("amount", "5.0", "5"),  # an int looked up after the Decimal: becomes Decimal(5), as the reference makes it
        ("odds", "2.5", '"2.5"'),  # a string holding a remembered number
        ("odds", "2.5", "2.50001"),  # too many places, close to a remembered value
        ("user_id", '"u-1"', '"u-1 "'),
        ("user_id", '"u-1"', "1"),
        ("game", '"g"', '"g\u0000"'),
        ("currency", '"EUR"', '"eur"'),
        ("status", '"won"', '"Won"'),
    ],
)
def test_a_remembered_verdict_is_the_reference_verdict(field: str, first: str, then: str) -> None:
    """The field rules' remembered verdicts (values accepted before) on the values that are equal in Python but not
    to the contract, or close to a remembered one."""
    for value in (first, then, first, then):
        fields = {"bet_id": json.dumps(GOOD_ID), **{k: json.dumps(v, default=str) for k, v in BET.items()}}
        fields[field] = value
        raw = ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()
        assert verdict(parse_bet_fast, raw) == verdict(parse_bet, raw), raw


def test_the_field_rules_remember_what_they_accepted() -> None:
    """Not vacuous: after a producer's bet, its repeated values are in the remembered sets."""
    raw = rules.encode({"bet_id": GOOD_ID, **BET, "amount": Decimal("7.25"), "odds": Decimal("3.5")})
    parse_bet_fast(raw)
    assert Decimal("7.25") in fast_contract._AMOUNTS.values and Decimal("3.5") in fast_contract._ODDS.values
    assert {BET["user_id"], BET["game"]} <= fast_contract._TEXTS.values


def test_the_fast_path_takes_the_producers_messages() -> None:
    """The fast path is not vacuous: a bet as producers write it is decoded by msgspec, to the reference object."""
    raw = rules.encode({"bet_id": GOOD_ID, **BET, "amount": Decimal("12.50"), "promo": 1.5, "vip": True})
    assert exact(fast_object(raw, REQUIRED)) == reference_object(raw)
    assert exact(fast_object(raw, REQUIRED)["amount"]) == ("Decimal", "Decimal('12.5')")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":"x","a":"y"}',  # a duplicate key msgspec would merge silently
        b'{"a":1,"a":1}',
        b'{"a":"\\u0041"}',  # any escape
        b'{"a":1234567890123456}',  # 16 digits
        b'{"a":1e100}',
        b'{"a":[1]}',  # a container
        b'{"a":"\xef\xbf\xbd"}',  # U+FFFD
        b"\xef\xbb\xbf{}",
        b'{"b":1}',  # a required field missing
        b'{"a":null}',  # a required field null
        b'["a"]',
    ],
)
def test_the_fast_path_declines(raw: bytes) -> None:
    assert fast_object(raw, ("a",)) is None


# --- the COPY row straight from the message (jobs/bets/fast_row.py) ----------------------------------------------
def reference_row(raw: Any) -> str | None:
    try:
        return copy_row(parse_bet(raw))
    except InvalidEvent:
        return None


@profile(400)
@given(hostile)
def test_the_fast_row_is_the_reference_row_or_declines(raw: Any) -> None:
    """Twice: the second time every value the first accepted is remembered."""
    for _ in range(2):
        row = fast_row(raw)
        if row is not None:
            assert row == reference_row(raw)


def offsets() -> st.SearchStrategy[str]:
    minutes = st.integers(-18 * 60 - 1, 18 * 60 + 1)
    return st.one_of(
        st.just("Z"),
        minutes.map(lambda m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"),
        st.sampled_from(["z", "+00:00", "-00:00", "+0000", "+00", "+24:00", "+18:00", "-18:00", "", " Z"]),
    )


@st.composite
def event_times(draw: st.DrawFn) -> str:
    """Event times near and past every edge of the rule: calendar, range ends, fraction lengths and zeros, offsets."""
    moment = draw(st.datetimes(datetime(1969, 12, 30), datetime(2100, 1, 2)))
    fraction = draw(st.sampled_from(["", ".", ".0", ".000000", ".5", ".050", ".123456", ".1234567", ".00001"]))
    text = f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}{draw(offsets())}"
    edit = draw(st.sampled_from(["none"] * 6 + ["space", "t", "leap", "second60", "newline"]))
    if edit == "space":
        text = text.replace("T", " ")
    elif edit == "t":
        text = text.replace("T", "t")
    elif edit == "leap":
        text = f"{moment.year}-02-29{text[10:]}"
    elif edit == "second60":
        text = f"{text[:17]}60{text[19:]}"
    elif edit == "newline":
        text = f"{text[:19]}\n{text[19:]}"
    return text


@profile(600)
@given(event_times(), st.sampled_from([GOOD_ID, GOOD_ID.upper(), "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F0"]))
def test_the_fast_row_takes_every_time_the_reference_accepts(event_time: str, bet_id: str) -> None:
    """Not only agreement: on an otherwise plain bet the fast row takes exactly the times the contract accepts
    (the fraction is cut off and added back as isoformat writes it; the seconds and offset are remembered)."""
    raw = json.dumps({"bet_id": bet_id, **BET, "event_time": event_time}, ensure_ascii=False).encode()
    for _ in range(2):
        assert fast_row(raw) == reference_row(raw), raw


@pytest.mark.parametrize(
    ("field", "first", "then"),
    [
        ("amount", "1", "true"),
        ("amount", "12.5", "12.500"),  # the same number written differently: remembered apart, each its own text
        ("amount", "5", "5.0"),
        ("amount", "5.0", "5"),
        ("amount", "1E+1", "10"),
        ("amount", "0.1", "-0.1"),
        ("amount", "7", "-0"),
        ("odds", "2.5", '"2.5"'),  # a string holding a remembered number
        ("odds", "2.5", "2.50001"),
        ("odds", "1.01", "1.0100"),
        ("user_id", '"u-1"', '"u-1 "'),
        ("user_id", '"u-1"', "1"),
        ("game", '"g"', '"g\u0000"'),
        ("game", '"a\\b"', '"a\\b"'),  # a backslash: the reference path, both times
        ("currency", '"EUR"', '"eur"'),
        ("status", '"won"', '"Won"'),
        ("event_time", '"2026-11-25T10:00:00Z"', '"2026-11-25T10:00:00.5Z"'),
        ("event_time", '"2026-11-25T10:00:00.000Z"', '"2026-11-25T10:00:00+01:00"'),
    ],
)
def test_a_remembered_row_is_the_reference_row(field: str, first: str, then: str) -> None:
    """The remembered texts on values equal in Python but not to the contract, or close to a remembered one."""
    for value in (first, then, first, then):
        fields = {"bet_id": json.dumps(GOOD_ID), **{k: json.dumps(v, default=str) for k, v in BET.items()}}
        fields[field] = value
        raw = ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()
        row = fast_row(raw)
        assert row is None or row == reference_row(raw), raw


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace('"game"', '"game":"x","game"'),  # a duplicate key msgspec would merge silently
        lambda t: t.replace('"amount":12.5', '"amount":"12.5"'),  # a number written as a string
        lambda t: t.replace('"amount":12.5', '"amount":12.5,"promo":1'),  # a payload: the reference path writes it
        lambda t: t.replace('"u1"', '"u\\u0031"'),  # any escape
        lambda t: t.replace('"amount":12.5', '"amount":1234567890123456'),  # 16 digits
        lambda t: t.replace(',"status":"placed"', ""),  # a required field missing
    ],
)
def test_the_fast_row_declines(change: Any) -> None:
    plain = json.dumps({"bet_id": GOOD_ID, **BET}, separators=(",", ":"))
    assert fast_row(plain.encode()) is not None and change(plain) != plain
    assert fast_row(change(plain).encode()) is None


def test_the_fast_row_takes_the_producers_messages() -> None:
    """Not vacuous: a bet as producers write it becomes its row without the reference path."""
    raw = rules.encode({"bet_id": GOOD_ID, **BET, "amount": Decimal("12.50"), "event_time": "2026-11-25T10:00:00.25Z"})
    assert fast_row(raw) == reference_row(raw)
    assert fast_row(raw) == f"{GOOD_ID}\tu1\troulette\t12.5\tEUR\t2.0\tplaced\t2026-11-25T10:00:00.250000+00:00\t\\N\n"
