"""The IoT reading contract (seed 003, docs/iot.md): one row of the operational table ``iot_readings``, as the
simulator writes it and as Debezium carries its before/after images.

| field | rule |
|---|---|
| ``reading_id`` | whole number ≥ 1 (the table's identity key; Debezium's message key) |
| ``device_id`` | free text (the platform's text rule), e.g. ``ws-berlin-01`` |
| ``device_type`` | one of :data:`DEVICE_TYPES` |
| ``site`` | free text |
| ``sensor`` | one of the sensors of its ``device_type`` (:data:`DEVICE_TYPES`) |
| ``value`` | a finite number inside the sensor's physical range (:data:`SENSORS`) |
| ``unit`` | the sensor's unit (:data:`SENSORS`); a reading in another unit is refused, not converted |
| ``event_time`` | ISO-8601 with offset, 1970..2099 UTC (the platform's rule) |

Alerts: a reading outside its sensor's alert band (``alert_low``/``alert_high``) is an alert (``iot_alerts``).
The sensor table is the one definition: the simulator, the Flink SQL (``jobs.iot.flink_sql``) and the audit read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from jobs.common import rules


@dataclass(frozen=True)
class Sensor:
    """A sensor kind: its unit, physical range (outside it a reading is invalid), alert band and simulated shape."""

    unit: str
    low: float
    high: float
    alert_low: float
    alert_high: float
    baseline: float  # the simulator's mean value
    noise: float  # the simulator's per-reading standard deviation


SENSORS: dict[str, Sensor] = {
    "temperature": Sensor("celsius", -60.0, 150.0, -20.0, 45.0, 21.0, 0.4),
    "humidity": Sensor("percent", 0.0, 100.0, 5.0, 90.0, 45.0, 1.5),
    "pressure": Sensor("hpa", 800.0, 1100.0, 960.0, 1050.0, 1013.0, 0.8),
    "co2": Sensor("ppm", 0.0, 10000.0, 0.0, 1500.0, 600.0, 25.0),
    "pm25": Sensor("ugm3", 0.0, 1000.0, 0.0, 75.0, 12.0, 2.0),
    "voltage": Sensor("volt", 0.0, 500.0, 207.0, 253.0, 230.0, 1.2),
    "current": Sensor("ampere", 0.0, 100.0, 0.0, 32.0, 8.0, 0.6),
}
DEVICE_TYPES: dict[str, tuple[str, ...]] = {
    "weather_station": ("temperature", "humidity", "pressure"),
    "air_quality": ("co2", "pm25", "temperature"),
    "power_meter": ("voltage", "current"),
}
FIELDS = ("reading_id", "device_id", "device_type", "site", "sensor", "value", "unit", "event_time")
MAX_READING_ID = 2**63 - 1


@dataclass(frozen=True)
class Reading:
    reading_id: int
    device_id: str
    device_type: str
    site: str
    sensor: str
    value: float
    unit: str
    event_time: datetime

    def alert(self) -> str | None:
        """``"high"``/``"low"`` when outside the sensor's alert band, else None (the rule ``iot_alerts`` applies)."""
        return alert_of(self.sensor, self.value)


def alert_of(sensor: str, value: float) -> str | None:
    s = SENSORS[sensor]
    if value > s.alert_high:
        return "high"
    if value < s.alert_low:
        return "low"
    return None


def parse_reading(raw: bytes | str | None) -> Reading:
    """The validated reading of one raw JSON row image; raises :class:`~jobs.common.rules.InvalidEvent`."""
    event = rules.json_object(raw, FIELDS)
    reading_id = rules.number(event, "reading_id")
    if reading_id != reading_id.to_integral_value():
        raise rules.InvalidEvent("bad_value", "reading_id", f"must be a whole number, got {reading_id}")
    rules.bounded("reading_id", reading_id, 1, MAX_READING_ID)
    device_type = rules.one_of(event, "device_type", tuple(DEVICE_TYPES))
    sensor = rules.one_of(event, "sensor", DEVICE_TYPES[device_type])
    spec = SENSORS[sensor]
    value = rules.bounded("value", rules.number(event, "value"), Decimal(str(spec.low)), Decimal(str(spec.high)))
    return Reading(
        reading_id=int(reading_id),
        device_id=rules.text(event, "device_id"),
        device_type=device_type,
        site=rules.text(event, "site"),
        sensor=sensor,
        value=float(value),
        unit=rules.one_of(event, "unit", (spec.unit,)),
        event_time=rules.event_time(event, "event_time"),
    )


def row(reading: Reading) -> dict[str, Any]:
    """The reading as a JSON-ready row image (the shape Debezium's after/before carry)."""
    return {name: getattr(reading, name) for name in FIELDS}
