"""Seeded IoT device simulator: devices insert readings into ``iot_readings``, then some are corrected (updated)
and some retracted (deleted), so the change stream carries all three operations.

``python -m jobs.iot.simulator [--devices N] [--minutes M] [--seed S]`` (Postgres: ``BROOK_PG_*``).

Each device has a type (:data:`jobs.iot.contract.DEVICE_TYPES`), a site and one series per sensor: the sensor's
baseline plus a slow random drift, Gaussian noise, gaps (the device is offline for a stretch) and rare outliers
(spikes past the alert band, still inside the physical range). One reading per sensor every ``--interval``
seconds. Corrections replace a reading's value with the series' value without noise (a late re-calibration);
retractions delete a reading (the device reported it by mistake). Same seed, same rows, same operations.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
from psycopg2.extras import execute_values

from jobs.common.cli import run, summary
from jobs.common.settings import PostgresSettings, load
from jobs.iot.contract import DEVICE_TYPES, SENSORS

SITES = ("berlin-north", "berlin-south", "hamburg-port", "munich-lab")
START = datetime(2026, 1, 1, tzinfo=UTC)  # fixed: a seed reproduces the same event times


@dataclass(frozen=True)
class Plan:
    """What the simulator wrote: the readings per operation."""

    inserted: int
    updated: int
    deleted: int

    @property
    def live(self) -> int:
        return self.inserted - self.deleted


def series(rng: random.Random, devices: int, minutes: int, interval: int) -> list[tuple[Any, ...]]:
    """Rows (device_id, device_type, site, sensor, value, unit, event_time) in event-time order."""
    rows: list[tuple[Any, ...]] = []
    fleet = []
    types = sorted(DEVICE_TYPES)
    for n in range(devices):
        device_type = types[n % len(types)]
        site = SITES[rng.randrange(len(SITES))]
        device_id = f"{device_type.split('_')[0]}-{site}-{n:03d}"
        drift = {sensor: rng.gauss(0, SENSORS[sensor].noise / 20) for sensor in DEVICE_TYPES[device_type]}
        fleet.append((device_id, device_type, site, drift))
    steps = minutes * 60 // interval
    offline: dict[str, int] = {}
    for step in range(steps):
        at = START + timedelta(seconds=step * interval + rng.randrange(interval * 1000) / 1000)
        for device_id, device_type, site, drift in fleet:
            if offline.get(device_id, 0) > 0:  # a gap: the device sends nothing for a while
                offline[device_id] -= 1
                continue
            if rng.random() < 0.01:
                offline[device_id] = rng.randint(3, 12)
                continue
            for sensor, slope in drift.items():
                spec = SENSORS[sensor]
                value = spec.baseline + slope * step + rng.gauss(0, spec.noise)
                if rng.random() < 0.01:  # an outlier: a spike past the alert band, inside the physical range
                    value = spec.alert_high + (spec.high - spec.alert_high) * rng.uniform(0.05, 0.5)
                value = round(min(max(value, spec.low), spec.high), 3)
                rows.append((device_id, device_type, site, sensor, value, spec.unit, at))
    return rows


def simulate(dsn: str, devices: int, minutes: int, interval: int, seed: int, batch: int = 500) -> Plan:
    """Insert the readings (one transaction per batch), then correct ~3% and retract ~2% of them."""
    rng = random.Random(seed)
    rows = series(rng, devices, minutes, interval)
    ids: list[tuple[int, str, float]] = []
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                got = execute_values(
                    cur,
                    "INSERT INTO iot_readings (device_id, device_type, site, sensor, value, unit, event_time) "
                    "VALUES %s RETURNING reading_id, sensor, value",
                    chunk,
                    page_size=batch,
                    fetch=True,
                )
                ids.extend(got)
                conn.commit()
            picked = rng.sample(ids, k=len(ids) * 5 // 100)
            split = len(picked) * 3 // 5
            corrections, retractions = picked[:split], picked[split:]
            for reading_id, sensor, value in corrections:
                corrected = round(value + rng.choice((-1, 1)) * SENSORS[sensor].noise * rng.uniform(0.5, 2), 3)
                spec = SENSORS[sensor]
                cur.execute(
                    "UPDATE iot_readings SET value = %s WHERE reading_id = %s",
                    (min(max(corrected, spec.low), spec.high), reading_id),
                )
            conn.commit()
            cur.execute("DELETE FROM iot_readings WHERE reading_id = ANY(%s)", ([r[0] for r in retractions],))
            conn.commit()
    finally:
        conn.close()
    return Plan(inserted=len(ids), updated=len(corrections), deleted=len(retractions))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.iot.simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=12, help="devices to simulate (default 12)")
    parser.add_argument("--minutes", type=int, default=10, help="minutes of readings (default 10)")
    parser.add_argument("--interval", type=int, default=10, help="seconds between a sensor's readings (default 10)")
    parser.add_argument("--seed", type=int, default=2026, help="simulator seed")
    args = parser.parse_args(argv)
    plan = simulate(load(PostgresSettings).dsn(), args.devices, args.minutes, args.interval, args.seed)
    summary("iot-simulator", inserted=plan.inserted, updated=plan.updated, deleted=plan.deleted, live=plan.live)
    return 0


if __name__ == "__main__":
    run(main, "iot-simulator")
