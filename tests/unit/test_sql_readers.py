"""The Flink verdict tests (tests/integration/test_flink_contract.py, test_telecom_flink_contract.py) prove both
readers of jobs/common/sql_rules.py only if their messages take both: this checks the corpus covers each reader
with accepted and refused messages, and that the flat patterns mean what the flat reader assumes.

The patterns are Java regular expressions; the ones checked here are in the subset Python's ``re`` reads alike
(``\\z`` is Python's ``\\Z``)."""

from __future__ import annotations

import json
import re

import pytest

from jobs.bets.contract import InvalidEvent, parse_bet
from jobs.common import sql_rules as sql
from tests.hostile_events import hostile_bets, sequential_ids

pytestmark = pytest.mark.unit

FLAT = re.compile(f"(?:{sql.FLAT_OBJECT})")
SHAPE = re.compile(sql._FLAT_SHAPE.replace("\\z", "\\Z"))
DUPLICATE = re.compile(sql.FLAT_DUPLICATE)


def is_flat(text: str) -> bool:
    return bool(SHAPE.search(text)) and len(text) <= sql.FLAT_MAX and FLAT.fullmatch(text) is not None


def accepted(raw: bytes) -> bool:
    try:
        parse_bet(raw)
    except InvalidEvent:
        return False
    return True


def test_the_corpus_sends_both_readers_valid_and_invalid_messages() -> None:
    kinds = set()
    for raw in hostile_bets(sequential_ids(7)).values():
        if raw is None:
            continue
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            continue
        kinds.add((is_flat(text), accepted(raw)))
    assert kinds == {(True, True), (True, False), (False, True), (False, False)}


def test_flat_is_one_object_of_scalars_without_escapes() -> None:
    assert is_flat('{"a":1,"b":"x y","c":true,"d":null,"e":-0.5e3}')
    assert is_flat("{}")
    for text in (
        '{"a": 1}',
        " {}",
        '{"a":{"b":1}}',
        '{"a":[1]}',
        '{"a":"\\n"}',
        '{"a":01}',
        '{"a":1,}',
        '{"a":NaN}',
        "[1]",
        '{"a":1}x',
    ):
        assert not is_flat(text), text


def test_flat_duplicates_compare_whole_keys_only() -> None:
    assert DUPLICATE.search('{"a":1,"b":"a","a":2}')
    for text in ('{"a":"x,","b":1,"a,":2}', '{"a":1,"ab":2}', '{"a":"a","b":"a"}'):
        assert not DUPLICATE.search(text), text


def test_the_flat_reader_takes_top_level_members_only() -> None:
    text = json.dumps({"x": '"game":"no"', "game": "roulette"})  # escapes: not flat, so the JSON reader reads it
    assert not is_flat(text)
    assert "FROM 9)" in sql._flat_text("game")  # after '"game":"', 8 characters
    match = re.search('"game":"[^"]*', '{"x":"game","game":"roulette"}')
    assert match is not None and match.group()[len('"game":"') :] == "roulette"
