"""The IoT simulator's readings (no database): every one passes the contract, a seed reproduces them, and the series
have the shapes the seed asks for (gaps, outliers past the alert band, readings around each sensor's baseline)."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from jobs.common.rules import InvalidEvent, json_default
from jobs.iot.contract import DEVICE_TYPES, SENSORS, alert_of, parse_reading
from jobs.iot.simulator import series

pytestmark = pytest.mark.unit
COLUMNS = ("device_id", "device_type", "site", "sensor", "value", "unit", "event_time")


def as_json(n: int, row: tuple) -> str:
    return json.dumps({"reading_id": n, **dict(zip(COLUMNS, row, strict=True))}, default=json_default)


def test_every_reading_passes_the_contract_and_a_seed_repeats() -> None:
    rows = series(random.Random(7), devices=9, minutes=30, interval=10)
    assert rows == series(random.Random(7), devices=9, minutes=30, interval=10)
    for n, row in enumerate(rows, start=1):
        reading = parse_reading(as_json(n, row))
        assert reading.sensor in DEVICE_TYPES[reading.device_type] and reading.unit == SENSORS[reading.sensor].unit


def test_series_have_gaps_outliers_and_stay_near_their_baseline() -> None:
    devices, minutes, interval = 9, 30, 10
    rows = series(random.Random(11), devices, minutes, interval)
    per_device = Counter(row[0] for row in rows)
    full = {d: minutes * 60 // interval * len(DEVICE_TYPES[t]) for d, t in {(r[0], r[1]) for r in rows}}
    assert len(per_device) == devices
    assert any(per_device[d] < full[d] for d in per_device), "no device had a gap"
    alerts = [row for row in rows if alert_of(row[3], row[4]) == "high"]
    assert 0 < len(alerts) < len(rows) * 0.05
    normal = [row for row in rows if alert_of(row[3], row[4]) is None]
    for sensor, spec in SENSORS.items():
        values = [row[4] for row in normal if row[3] == sensor]
        if values:
            assert abs(sum(values) / len(values) - spec.baseline) < 10 * spec.noise


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sensor": "plasma"}, "sensor"),
        ({"device_type": "power_meter", "sensor": "temperature"}, "sensor"),  # not a power meter's sensor
        ({"unit": "fahrenheit"}, "unit"),
        ({"value": 151}, "value"),  # past the temperature sensor's physical range
        ({"reading_id": 0}, "reading_id"),
        ({"event_time": "2026-01-01 00:00:00"}, "event_time"),
    ],
)
def test_contract_refuses_with_a_reason(change: dict, field: str) -> None:
    good = {
        "reading_id": 1,
        "device_id": "ws-1",
        "device_type": "weather_station",
        "site": "lab",
        "sensor": "temperature",
        "value": 21.5,
        "unit": "celsius",
        "event_time": "2026-01-01T00:00:00Z",
    }
    parse_reading(json.dumps(good))
    with pytest.raises(InvalidEvent) as err:
        parse_reading(json.dumps({**good, **change}))
    assert (err.value.code, err.value.field) == ("bad_value", field)
