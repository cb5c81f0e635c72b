"""The latency trial's prepared events (bench/stages.py): each one's window is its event time's, whatever its offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.stages import _prepared
from jobs.bets.contract import parse_bet
from jobs.bets.generator import BetGenerator

pytestmark = pytest.mark.unit


def test_prepared_event_is_the_bet_its_window_and_its_key() -> None:
    event = next(iter(BetGenerator(seed=7, start=datetime(2026, 11, 28, 12, 0, 9, 999_000, tzinfo=UTC), rate=1)))
    key, value, start = _prepared(event, 10)
    bet = parse_bet(value)
    assert key == event["user_id"].encode() == bet.user_id.encode()
    assert start <= bet.event_time < start + timedelta(seconds=10)
    assert start.second % 10 == 0 and start.microsecond == 0 and start.tzinfo is not None


@given(
    at=st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1), timezones=st.just(UTC)),
    window=st.sampled_from([1, 5, 10, 60]),
)
def test_window_start_is_the_last_multiple_of_the_window_at_or_before_the_event(at: datetime, window: int) -> None:
    event = {"user_id": "u", "event_time": at.isoformat(timespec="milliseconds")}
    _, _, start = _prepared({**next(iter(BetGenerator(seed=1, start=at, rate=1))), **event}, window)
    at_ms = datetime.fromisoformat(event["event_time"])
    assert start <= at_ms and (at_ms - start).total_seconds() < window
    assert int(start.timestamp()) % window == 0
