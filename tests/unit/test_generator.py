"""The generator: reproducible with a seed, valid against the contract, realistically skewed."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from statistics import median

import pytest

from jobs.bets.contract import encode_bet, parse_bet
from jobs.bets.generator import STATUS_WEIGHTS, BetGenerator

pytestmark = pytest.mark.unit
START = datetime(2026, 1, 1, tzinfo=UTC)


def sample(seed: int, n: int = 20_000) -> list[dict]:
    return list(itertools.islice(BetGenerator(seed=seed, start=START, rate=1000), n))


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    assert [encode_bet(e) for e in sample(7, 500)] == [encode_bet(e) for e in sample(7, 500)]
    assert sample(7, 50) != sample(8, 50)


def test_every_event_is_valid_and_unique() -> None:
    events = sample(1)
    bets = [parse_bet(encode_bet(e)) for e in events]
    assert len({b.bet_id for b in bets}) == len(bets)


def test_skewed_games_long_tail_amounts_and_status_weights() -> None:
    events = sample(2)
    games = Counter(e["game"] for e in events).most_common()
    top3 = sum(count for _, count in games[:3])
    assert top3 / len(events) > 0.3, "a few hot games carry a large share"
    assert len(games) > 50, "and many games get some bets"
    amounts = sorted(e["amount"] for e in events)
    assert median(amounts) < 20 < amounts[int(len(amounts) * 0.99)], "median small, 99th percentile long tail"
    assert min(amounts) >= 0.5
    statuses = Counter(e["status"] for e in events)
    for status, weight in STATUS_WEIGHTS.items():
        assert abs(statuses[status] / len(events) - weight) < 0.02, status
    assert all(e["odds"] >= 1.01 for e in events)
    users = Counter(e["user_id"] for e in events)
    assert users.most_common(1)[0][1] > 5 * (len(events) / len(users)), "some heavy bettors"


def test_event_times_follow_the_clock_with_bounded_jitter() -> None:
    events = sample(3, 1000)
    for i, event in enumerate(events):
        at = datetime.fromisoformat(event["event_time"])
        nominal = START + timedelta(milliseconds=i)
        assert nominal - timedelta(seconds=2) <= at <= nominal
