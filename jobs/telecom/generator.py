"""Telecom event generator (seed 002) into the ``telecom_events`` topic, through the platform's produce loop.

``python -m jobs.telecom.generator [--rate N] [--count N] [--duration S] [--seed N] [--start TIME] [--input FILE]``

Shape (docs/telecom.md): event types data_session 50 %, call 30 %, sms 15 %, balance_recharge 5 %; regions of
Kazakhstan weighted by population and urban activity (:data:`REGION_WEIGHTS`); a diurnal curve in Kazakhstan time
(UTC+5) with morning and evening peaks multiplies ``--rate`` (the daily mean); per-type durations, volumes and
recharge amounts. Phone numbers are masked (HMAC, ``jobs.telecom.contract.mask_msisdn``) inside the generator:
no raw number is ever serialised. Key = the masked subscriber, so one subscriber's events stay in order.

Without ``--start`` events carry the wall clock and the generator paces itself to ``rate × curve(now)``. With
``--start`` it replays a simulated history: event times advance from TIME by ``1 / (rate × curve)`` per event and
events are sent as fast as possible (demo, tests). A seed makes either stream reproducible.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from jobs.common.cli import run, summary
from jobs.common.kafka import ensure_topics
from jobs.common.lifecycle import Stop
from jobs.common.produce import ProducerSettings, produce, producer_options, replayed
from jobs.common.settings import ConfigError, KafkaSettings, load, setting
from jobs.telecom.contract import TELECOM_PARTITIONS, encode_event, mask_msisdn
from jobs.telecom.topics import TelecomTopics

TYPE_WEIGHTS = {"data_session": 0.50, "call": 0.30, "sms": 0.15, "balance_recharge": 0.05}
# Share of events per region: population (2024 census) tilted towards the two metropolises, where mobile use per
# head is highest.
REGION_WEIGHTS = {
    "Almaty": 0.22,
    "Astana": 0.15,
    "Shymkent": 0.10,
    "Karaganda": 0.08,
    "Aktobe": 0.06,
    "Atyrau": 0.05,
    "Pavlodar": 0.05,
    "Ust-Kamenogorsk": 0.05,
    "Taraz": 0.05,
    "Kostanay": 0.05,
    "Kyzylorda": 0.04,
    "Aktau": 0.04,
    "Semey": 0.03,
    "Petropavl": 0.03,
}
OUTGOING_SHARE = {"call": 0.55, "sms": 0.60}
RECHARGE_KZT = {500: 0.10, 1000: 0.30, 2000: 0.25, 3000: 0.15, 5000: 0.15, 10000: 0.05}
MOBILE_PREFIXES = ("700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778")
LOCAL_TIME = timezone(timedelta(hours=5), "KZ")  # all of Kazakhstan is on UTC+5 since March 2024

# Relative activity per local hour: night trough, morning peak 08–10, lunch plateau, evening peak 19–22.
_HOURLY = (0.25, 0.15, 0.1, 0.1, 0.1, 0.15, 0.35, 0.7, 1.3, 1.5, 1.35, 1.2, 1.25, 1.2, 1.1, 1.1, 1.15, 1.3, 1.5,
           1.8, 1.9, 1.7, 1.2, 0.6)  # fmt: skip
DIURNAL = tuple(h * 24 / sum(_HOURLY) for h in _HOURLY)  # normalised: the mean over a day is 1


def diurnal(moment: datetime) -> float:
    """Rate multiplier at ``moment``: the hourly curve in Kazakhstan time, interpolated linearly between hours."""
    local = moment.astimezone(LOCAL_TIME)
    hour = local.hour + local.minute / 60 + local.second / 3600
    low = int(hour)
    frac = hour - low
    return DIURNAL[low] * (1 - frac) + DIURNAL[(low + 1) % 24] * frac


@dataclass(frozen=True, kw_only=True)
class TelecomGeneratorSettings:
    mask_key: str = setting(
        "TELECOM_MASK_KEY",
        "brook-local-mask-key",
        help="Secret HMAC key masking phone numbers (set from a Secret in Kubernetes; the default is for local runs).",
    )
    subscribers: int = setting("TELECOM_SUBSCRIBERS", 100_000, help="Size of the simulated subscriber base.")
    jitter_seconds: float = setting(
        "TELECOM_JITTER_SECONDS", 5.0, help="Event times lag the clock by up to this much (network/collection delay)."
    )
    late_fraction: float = setting(
        "TELECOM_LATE_FRACTION",
        0.0,
        help="Share of events delayed 3–10 minutes (beyond the 2-minute watermark): exercises the late-event count.",
    )

    def validate(self) -> None:
        if not self.mask_key:
            raise ConfigError("BROOK_TELECOM_MASK_KEY must not be empty.")
        if self.subscribers < 1 or self.jitter_seconds < 0 or not 0 <= self.late_fraction <= 1:
            raise ConfigError(
                "BROOK_TELECOM_SUBSCRIBERS must be >= 1, BROOK_TELECOM_JITTER_SECONDS >= 0 and "
                "BROOK_TELECOM_LATE_FRACTION between 0 and 1."
            )


def _cumulative(weights: dict[Any, float]) -> tuple[list[Any], list[float]]:
    return list(weights), list(itertools.accumulate(weights.values()))


class TelecomGenerator:
    """Yields telecom events as dicts; the draw order is fixed, so a seed (and a start) reproduce the stream."""

    def __init__(
        self,
        settings: TelecomGeneratorSettings,
        seed: int | None = None,
        rate: float = 0.0,
        start: datetime | None = None,
    ) -> None:
        self.cfg = settings
        self.rng = random.Random(seed)
        self.key = settings.mask_key.encode()
        self.types, self.type_weights = _cumulative(TYPE_WEIGHTS)
        self.regions, self.region_weights = _cumulative(REGION_WEIGHTS)
        self.recharges, self.recharge_weights = _cumulative(RECHARGE_KZT)
        # Activity per subscriber is skewed (a few heavy users); each has a home region.
        self.subscriber_weights = list(
            itertools.accumulate(1.0 / (rank**0.5) for rank in range(1, settings.subscribers + 1))
        )
        self._masked: dict[int, tuple[str, str]] = {}
        self.rate = rate
        self.start = start.astimezone(UTC) if start is not None else None

    def subscriber(self) -> tuple[str, str]:
        """(masked id, home region) of a subscriber drawn by activity; the raw number never leaves this method."""
        index = bisect.bisect_left(
            self.subscriber_weights, self.rng.random() * self.subscriber_weights[-1], hi=len(self.subscriber_weights)
        )
        if index not in self._masked:
            # The number and home region are a function of the index (not of the draw order) and so stable.
            local = random.Random(index)
            number = "+7" + local.choice(MOBILE_PREFIXES) + f"{local.randrange(10**7):07d}"
            region = local.choices(self.regions, cum_weights=self.region_weights)[0]
            self._masked[index] = (mask_msisdn(number, self.key), region)
        return self._masked[index]

    def event(self, clock: datetime) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choices(self.types, cum_weights=self.type_weights)[0]
        subscriber, home = self.subscriber()
        # Roaming inside the country: 10 % of events happen away from home.
        region = home if rng.random() >= 0.1 else rng.choices(self.regions, cum_weights=self.region_weights)[0]
        lag = rng.uniform(0.0, self.cfg.jitter_seconds)
        if self.cfg.late_fraction and rng.random() < self.cfg.late_fraction:
            lag += rng.uniform(180.0, 600.0)
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_type": kind,
            "subscriber_id": subscriber,
            "region": region,
            "duration": 0,
            "data_mb": 0,
            "amount": 0,
            "event_time": (clock - timedelta(seconds=lag)).isoformat(timespec="milliseconds"),
        }
        if kind == "call":
            event["duration"] = int(min(max(math.exp(rng.gauss(4.5, 1.0)), 1), 7200))  # median ~90 s
        elif kind == "data_session":
            event["duration"] = int(min(max(math.exp(rng.gauss(5.5, 1.2)), 1), 86_400))  # median ~4 min
            event["data_mb"] = round(min(max(math.exp(rng.gauss(3.0, 1.5)), 0.001), 10_240.0), 3)  # median ~20 MB
        elif kind == "balance_recharge":
            event["amount"] = rng.choices(self.recharges, cum_weights=self.recharge_weights)[0]
        if kind in OUTGOING_SHARE:
            event["direction"] = "outgoing" if rng.random() < OUTGOING_SHARE[kind] else "incoming"
        return event

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Endless stream: simulated history from ``start``, else the wall clock paced to ``rate × curve``."""
        if self.start is not None:
            if self.rate <= 0:
                raise ValueError("a simulated history (start) needs a rate: events per simulated second")
            clock = self.start
            while True:
                yield self.event(clock)
                clock += timedelta(seconds=1.0 / (self.rate * diurnal(clock)))
        due = time.monotonic()
        while True:
            now = datetime.now(UTC)
            yield self.event(now)
            if self.rate > 0:
                due += 1.0 / (self.rate * diurnal(now))
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                elif pause < -1.0:
                    due = time.monotonic()  # fell behind (e.g. a broker stall): do not burst to catch up


def keyed(events: Iterator[dict[str, Any]]) -> Iterator[tuple[bytes | None, bytes]]:
    for event in events:
        yield event["subscriber_id"].encode(), encode_event(event)


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("needs a UTC offset, e.g. 2026-03-01T20:00:00+00:00")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.telecom.generator", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.0, help="mean events/s over a day (0 = as fast as possible)")
    parser.add_argument("--count", type=int, default=0, help="stop after N events (0 = no limit)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (0 = no limit)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for a reproducible stream")
    parser.add_argument("--start", type=_instant, help="simulate history from TIME (ISO-8601), sent unpaced")
    parser.add_argument("--input", type=Path, help="replay this JSON-lines file verbatim instead of generating")
    args = parser.parse_args(argv)
    if args.input is not None and not args.input.is_file():
        parser.error(f"--input {args.input}: no such file")
    if args.start is not None and args.rate <= 0:
        parser.error("--start needs --rate > 0 (events per simulated second)")
    kafka, topics, producer_cfg = load(KafkaSettings), load(TelecomTopics), load(ProducerSettings)
    cfg = load(TelecomGeneratorSettings)
    stop = Stop()
    try:
        ensure_topics(kafka, {topics.events: TELECOM_PARTITIONS})
        producer = KafkaProducer(client_id="brook-telecom", **kafka.client_options(), **producer_options(producer_cfg))
    except KafkaError as err:
        print(f"generator: cannot reach Kafka at {kafka.bootstrap} ({err}); is the broker up?", file=sys.stderr)
        return 1
    if args.input:
        records = replayed(args.input, "subscriber_id")
    else:
        records = keyed(iter(TelecomGenerator(cfg, seed=args.seed, rate=args.rate, start=args.start)))
    try:
        # Pacing is the generator's (it follows the diurnal curve), so the send loop runs unpaced.
        stats = produce(
            producer,
            topics.events,
            records,
            label="telecom-generator",
            count=args.count,
            duration=args.duration,
            stop=stop,
            progress_seconds=producer_cfg.progress_seconds,
        )
    finally:
        producer.close(timeout=30)
    print(f"[telecom-generator] done: {stats.line()}", flush=True)
    summary("telecom-generator", **stats.summary())
    if stats.failed:
        print(f"generator: {stats.failed} events were not delivered; first: {stats.first_error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run(main, "telecom-generator")
