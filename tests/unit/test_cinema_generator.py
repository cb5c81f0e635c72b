"""The cinema generator's sessions: well-formed for the contract and the session semantics, seeded, and shaped as
seed 004 asks (evening peak, binges, abandoned films); and the audit's recount of watched time on a known answer."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from jobs.cinema.audit import MICROS, watched_micros
from jobs.cinema.contract import parse_event
from jobs.cinema.generator import Generator
from jobs.common.rules import encode

pytestmark = pytest.mark.unit
START = datetime(2026, 3, 1, tzinfo=UTC)


def sessions(seed: int = 2026) -> dict[str, list[dict]]:
    by_session: dict[str, list[dict]] = defaultdict(list)
    for event in Generator(seed, viewers=60, films=20, days=14, start=START).sessions():
        by_session[event["session_id"]].append(event)
    return by_session


def test_every_session_is_well_formed_and_passes_the_contract() -> None:
    found = sessions()
    assert len(found) > 100
    for events in found.values():
        parsed = [parse_event(encode(e)) for e in events]
        assert [e.seq for e in parsed] == list(range(1, len(parsed) + 1))
        assert parsed[0].event_type == "start" and parsed[-1].event_type in ("stop", "finish")
        assert all(a.event_time < b.event_time for a, b in itertools.pairwise(parsed))
        assert len({(e.viewer_id, e.film_id) for e in parsed}) == 1
        kinds = [e.event_type for e in parsed]
        for before, after in itertools.pairwise(kinds):
            if before == "pause":
                assert after == "resume"  # the generator only seeks while playing


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert sessions(5) == sessions(5)
    assert sessions(5) != sessions(6)


def test_evening_peak_binges_and_abandoned_films() -> None:
    found = sessions()
    starts = Counter(datetime.fromisoformat(e[0]["event_time"]).hour for e in found.values())
    evening = sum(starts[h] for h in range(18, 23))
    morning = sum(starts[h] for h in range(6, 11))
    assert evening > 3 * morning
    outcomes = Counter(events[-1]["event_type"] for events in found.values())
    assert 0.15 < outcomes["stop"] / len(found) < 0.45  # abandoned (ABANDON_SHARE = 0.3)
    per_day = Counter((e[0]["viewer_id"], datetime.fromisoformat(e[0]["event_time"]).date()) for e in found.values())
    assert any(n >= 2 for n in per_day.values())  # binges: several films by one viewer in a day


def test_watched_recount_known_answer() -> None:
    t = datetime(2026, 3, 1, 20, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return t + timedelta(seconds=seconds)

    rows = [
        ("a", 1, "start", at(0)), ("a", 2, "seek", at(10)), ("a", 3, "pause", at(20)), ("a", 4, "seek", at(50)),
        ("a", 5, "resume", at(60)), ("a", 6, "stop", at(60.5)),
        ("b", 1, "start", at(100)), ("b", 2, "finish", at(160)),
    ]  # fmt: skip
    assert watched_micros(rows) == 20 * MICROS + MICROS // 2 + 60 * MICROS
