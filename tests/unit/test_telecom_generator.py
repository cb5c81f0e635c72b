"""The telecom generator: seed-reproducible, contract-valid, weighted as documented, never leaking a phone number."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from jobs.telecom import generator as gen
from jobs.telecom.contract import REGIONS, encode_event, mask_msisdn, parse_telecom
from jobs.telecom.generator import (
    REGION_WEIGHTS,
    TYPE_WEIGHTS,
    TelecomGenerator,
    TelecomGeneratorSettings,
    diurnal,
)

pytestmark = pytest.mark.unit
START = datetime(2026, 3, 1, tzinfo=UTC)


def sample(seed: int, n: int = 20_000, rate: float = 50, **settings: object) -> list[dict]:
    cfg = TelecomGeneratorSettings(**settings)  # type: ignore[arg-type]
    return list(itertools.islice(TelecomGenerator(cfg, seed=seed, rate=rate, start=START), n))


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    assert [encode_event(e) for e in sample(7, 500)] == [encode_event(e) for e in sample(7, 500)]
    assert sample(7, 50) != sample(8, 50)


def test_every_event_is_valid_against_the_contract() -> None:
    for event in sample(1, 5000):
        parsed = parse_telecom(encode_event(event))
        assert (parsed.direction is not None) == (parsed.event_type in ("call", "sms"))


@pytest.mark.parametrize(("name", "weights"), [("event_type", TYPE_WEIGHTS), ("region", REGION_WEIGHTS)])
def test_weights_within_tolerance(name: str, weights: dict[str, float]) -> None:
    events = sample(2, 40_000)
    shares = Counter(e[name] for e in events)
    for value, weight in weights.items():
        assert abs(shares[value] / len(events) - weight) < 0.015, (value, shares[value] / len(events), weight)


def test_documented_weights_cover_the_contract_and_sum_to_one() -> None:
    assert tuple(REGION_WEIGHTS) == REGIONS
    assert abs(sum(REGION_WEIGHTS.values()) - 1) < 1e-9 and abs(sum(TYPE_WEIGHTS.values()) - 1) < 1e-9
    assert REGION_WEIGHTS["Almaty"] > REGION_WEIGHTS["Astana"] > REGION_WEIGHTS["Shymkent"] > REGION_WEIGHTS["Semey"]


def test_per_type_measures_and_directions() -> None:
    events = sample(3)
    by_type: dict[str, list[dict]] = {}
    for e in events:
        by_type.setdefault(e["event_type"], []).append(e)
    calls = sorted(e["duration"] for e in by_type["call"])
    assert 45 < calls[len(calls) // 2] < 180, "median call ~90 s"
    assert all(e["data_mb"] > 0 for e in by_type["data_session"])
    assert {e["amount"] for e in by_type["balance_recharge"]} <= set(gen.RECHARGE_KZT)
    outgoing = sum(e["direction"] == "outgoing" for e in by_type["call"]) / len(by_type["call"])
    assert 0.5 < outgoing < 0.6


def test_masking_never_leaks_a_raw_number() -> None:
    cfg = TelecomGeneratorSettings(subscribers=2000)
    generator = TelecomGenerator(cfg, seed=4, rate=50, start=START)
    text = b"\n".join(encode_event(e) for e in itertools.islice(generator, 5000)).decode()
    # Rebuild every raw number the generator could have drawn (they depend only on the subscriber index).
    numbers = []
    for index in range(cfg.subscribers):
        local = random.Random(index)
        numbers.append("+7" + local.choice(gen.MOBILE_PREFIXES) + f"{local.randrange(10**7):07d}")
    # Without the masked ids and the event ids, no run of 7+ digits is left anywhere (times have at most 4).
    assert not re.search(r"\d{7,}", re.sub(r'"(subscriber_id|event_id)":"[^"]*"', "", text))
    for number in numbers:
        assert number[2:] not in text and number[-7:] not in text
    ids = {json.loads(line)["subscriber_id"] for line in text.splitlines()}
    assert ids <= {mask_msisdn(n, cfg.mask_key.encode()) for n in numbers}


def test_mask_is_keyed_stable_and_format_blind() -> None:
    key = b"k1"
    assert mask_msisdn("+7 701 123 45 67", key) == mask_msisdn("77011234567", key)
    assert mask_msisdn("77011234567", key) != mask_msisdn("77011234567", b"k2")
    assert re.fullmatch(r"[0-9a-f]{16}", mask_msisdn("77011234567", key))
    with pytest.raises(ValueError):
        mask_msisdn("77011234567", b"")


def test_diurnal_curve_peaks_morning_and_evening_and_averages_one() -> None:
    local = [START.replace(hour=h) - timedelta(hours=5) for h in range(24)]  # local hour h in UTC+5
    curve = [diurnal(t) for t in local]
    assert abs(sum(curve) / 24 - 1) < 1e-9
    night, morning, evening = max(curve[1:6]), max(curve[8:11]), max(curve[19:22])
    assert morning > 1.2 > 0.3 > night and evening > morning
    # The simulated clock follows it: an evening hour holds several times the events of a night hour.
    events = sample(5, 48_000, rate=0.5)  # ~27 simulated hours: every local hour at least once
    per_hour = Counter(datetime.fromisoformat(e["event_time"]).astimezone(gen.LOCAL_TIME).hour for e in events)
    assert per_hour[20] > 4 * per_hour[3]


def test_late_fraction_delays_events_beyond_the_watermark() -> None:
    events = sample(6, 10_000, late_fraction=0.01)
    clock_order = [datetime.fromisoformat(e["event_time"]) for e in events]
    behind = [max(clock_order[max(0, i - 200) : i]) - t for i, t in enumerate(clock_order) if i]
    assert 50 < sum(lag > timedelta(minutes=2) for lag in behind) < 150
    assert all(lag < timedelta(seconds=6) or lag > timedelta(minutes=2) for lag in behind), "jitter stays small"
