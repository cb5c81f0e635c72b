"""Bet event producer: generated events (or a JSON-lines file replayed verbatim) into the ``bets`` topic.

``python -m jobs.bets.producer [--rate N] [--count N] [--duration S] [--seed N] [--input FILE]``

Keyed by ``user_id`` (a user's bets stay ordered in one partition), idempotent producer (acks=all, retries never
duplicate), batched with linger. SIGTERM/SIGINT stop generating, flush what is buffered and exit 0; an unreachable
broker or an undelivered event exits 1 with a clear message.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaProducer
from kafka.errors import KafkaError

from jobs.bets.generator import BetGenerator
from jobs.common.kafka import ensure_topics
from jobs.common.lifecycle import Stop
from jobs.common.settings import ConfigError, KafkaSettings, load, setting
from jobs.contract.bets import BETS_PARTITIONS, encode_bet


@dataclass(frozen=True, kw_only=True)
class ProducerSettings:
    linger_ms: int = setting("PRODUCER_LINGER_MS", 20, help="How long a batch waits to fill (ms).")
    batch_bytes: int = setting("PRODUCER_BATCH_BYTES", 262_144, help="Max bytes per partition batch.")
    compression: str = setting(
        "PRODUCER_COMPRESSION",
        "zstd",
        help="Batch compression (zstd measured fastest: fewer bytes through the Python client).",
        choices=("none", "gzip", "lz4", "zstd", "snappy"),
    )
    progress_seconds: float = setting("PRODUCER_PROGRESS_SECONDS", 10.0, help="Progress line interval (0 = off).")

    def validate(self) -> None:
        if self.linger_ms < 0 or self.batch_bytes < 1024:
            raise ConfigError("BROOK_PRODUCER_LINGER_MS must be >= 0 and BROOK_PRODUCER_BATCH_BYTES >= 1024.")


def producer_options(settings: ProducerSettings) -> dict[str, object]:
    """The shipped client settings (also printed by the benchmark)."""
    return {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.linger_ms,
        "batch_size": settings.batch_bytes,
        "compression_type": None if settings.compression == "none" else settings.compression,
        "max_in_flight_requests_per_connection": 5,
    }


@dataclass
class Stats:
    sent: int = 0
    bytes: int = 0
    failed: int = 0
    first_error: str = ""
    started: float = field(default_factory=time.monotonic)

    def on_error(self, exc: BaseException) -> None:
        self.failed += 1
        self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"

    def line(self) -> str:
        secs = max(time.monotonic() - self.started, 1e-9)
        return (
            f"sent={self.sent} failed={self.failed} bytes={self.bytes} seconds={secs:.2f} "
            f"events/s={self.sent / secs:.0f} MB/s={self.bytes / secs / 1e6:.2f}"
        )


def generated(seed: int | None, rate: float) -> Iterator[tuple[bytes | None, bytes]]:
    for event in BetGenerator(seed=seed, rate=rate):
        yield event["user_id"].encode(), encode_bet(event)


def replayed(path: Path) -> Iterator[tuple[bytes | None, bytes]]:
    """Each line as-is (even if invalid: the consumer's DLQ must cope); key = user_id when one can be read."""
    with path.open("rb") as lines:
        for line in lines:
            value = line.rstrip(b"\r\n")
            if not value:
                continue
            try:
                user = json.loads(value).get("user_id")
            except (ValueError, AttributeError):
                user = None
            yield (user.encode() if isinstance(user, str) else None), value


def produce(
    producer: KafkaProducer,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes]],
    *,
    rate: float = 0.0,
    count: int = 0,
    duration: float = 0.0,
    stop: Stop | None = None,
    progress_seconds: float = 0.0,
) -> Stats:
    """Send records, pacing to ``rate`` events/s (0 = as fast as possible); stop at count/duration/signal."""
    stats = Stats()
    next_progress = stats.started + progress_seconds if progress_seconds > 0 else float("inf")
    deadline = stats.started + duration if duration > 0 else float("inf")
    for key, value in records:
        if (count and stats.sent >= count) or (stop is not None and stop.requested):
            break
        producer.send(topic, value=value, key=key).add_errback(stats.on_error)
        stats.sent += 1
        stats.bytes += len(value)
        if stats.sent % 256 == 0:
            now = time.monotonic()
            if now >= deadline:
                break
            if rate > 0:
                ahead = stats.sent / rate - (now - stats.started)
                if ahead > 0:
                    time.sleep(ahead)
            if now >= next_progress:
                print(f"[producer] {stats.line()}", flush=True)
                next_progress = now + progress_seconds
    producer.flush()
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bets.producer", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.0, help="events per second (0 = as fast as possible)")
    parser.add_argument("--count", type=int, default=0, help="stop after N events (0 = no limit)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (0 = no limit)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for a reproducible stream")
    parser.add_argument("--input", type=Path, help="replay this JSON-lines file verbatim instead of generating")
    args = parser.parse_args(argv)
    if args.input is not None and not args.input.is_file():
        parser.error(f"--input {args.input}: no such file")
    try:
        kafka = load(KafkaSettings)
        settings = load(ProducerSettings)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    stop = Stop()
    try:
        ensure_topics(kafka, {kafka.topic_bets: BETS_PARTITIONS})
        producer = KafkaProducer(client_id="brook-producer", **kafka.client_options(), **producer_options(settings))
    except KafkaError as err:
        print(f"producer: cannot reach Kafka at {kafka.bootstrap} ({err}); is the broker up?", file=sys.stderr)
        return 1
    records = replayed(args.input) if args.input else generated(args.seed, args.rate)
    try:
        stats = produce(
            producer,
            kafka.topic_bets,
            records,
            rate=args.rate,
            count=args.count,
            duration=args.duration,
            stop=stop,
            progress_seconds=settings.progress_seconds,
        )
    finally:
        producer.close(timeout=30)
    print(f"[producer] done: {stats.line()}", flush=True)
    if stats.failed:
        print(f"producer: {stats.failed} events were not delivered; first error: {stats.first_error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
