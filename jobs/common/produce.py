"""The produce loop every event source shares: pacing, stop conditions, delivery accounting, progress lines.

A pipeline's producer supplies (key, value) records and a label for its log lines; this module sends them with
the shipped client settings (idempotent, acks=all, batched, compressed) and counts what was sent and what failed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaProducer
from prometheus_client import Counter

from jobs.common.lifecycle import Stop
from jobs.common.progress import Progress
from jobs.common.settings import ConfigError, setting

# Counted every 256 records and at the end (not per event): the send loop is the producer's hot path.
SENT = Counter("brook_producer_records_sent_total", "Records handed to the Kafka client.", ["topic"])
SENT_BYTES = Counter("brook_producer_sent_bytes_total", "Bytes of record values handed to the Kafka client.", ["topic"])
FAILED = Counter("brook_producer_records_failed_total", "Records whose delivery Kafka did not acknowledge.", ["topic"])


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


def _delivery(settings: ProducerSettings) -> list[tuple[str, str, object]]:
    """The shipped delivery settings, each once: (kafka-python name, librdkafka name, value)."""
    return [
        ("acks", "acks", "all"),
        ("enable_idempotence", "enable.idempotence", True),
        ("linger_ms", "linger.ms", settings.linger_ms),
        ("batch_size", "batch.size", settings.batch_bytes),
        ("compression_type", "compression.type", settings.compression),
        ("max_in_flight_requests_per_connection", "max.in.flight.requests.per.connection", 5),
    ]


def producer_options(settings: ProducerSettings) -> dict[str, object]:
    """The shipped client settings for kafka-python (also printed by the benchmark)."""
    options = {name: value for name, _, value in _delivery(settings)}
    if settings.compression == "none":  # kafka-python spells no compression None
        options["compression_type"] = None
    return options


def librdkafka_producer_config(settings: ProducerSettings) -> dict[str, object]:
    """The same delivery settings in librdkafka's property names (confluent-kafka producers: the benchmarks' load
    generator)."""
    return {name: value for _, name, value in _delivery(settings)}


@dataclass
class Stats:
    sent: int = 0
    bytes: int = 0
    failed: int = 0
    first_error: str = ""
    started: float = field(default_factory=time.monotonic)
    topic: str = ""
    _counted: tuple[int, int] = (0, 0)  # (sent, bytes) already added to the Prometheus counters

    def on_error(self, exc: BaseException) -> None:
        self.failed += 1
        self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"
        FAILED.labels(self.topic).inc()

    def count(self) -> None:
        """Add what was sent since the last call to the Prometheus counters (called per 256 records)."""
        SENT.labels(self.topic).inc(self.sent - self._counted[0])
        SENT_BYTES.labels(self.topic).inc(self.bytes - self._counted[1])
        self._counted = (self.sent, self.bytes)

    def summary(self) -> dict[str, float | int]:
        """The machine-readable counts (the job's JSON summary line)."""
        secs = max(time.monotonic() - self.started, 1e-9)
        return {"sent": self.sent, "failed": self.failed, "bytes": self.bytes, "seconds": round(secs, 3)}

    def line(self) -> str:
        secs = max(time.monotonic() - self.started, 1e-9)
        return (
            f"sent={self.sent} failed={self.failed} bytes={self.bytes} seconds={secs:.2f} "
            f"events/s={self.sent / secs:.0f} MB/s={self.bytes / secs / 1e6:.2f}"
        )


def _key(value: bytes, key_field: str) -> bytes | None:
    """The UTF-8 of the string in ``key_field``, or no key for anything hostile (not JSON, not an object, nested
    past the recursion limit, a lone surrogate that has no UTF-8): the line itself is still sent as it is."""
    try:
        key = json.loads(value).get(key_field)
        return key.encode() if isinstance(key, str) else None
    except (ValueError, AttributeError, RecursionError, UnicodeEncodeError):
        return None


def replayed(path: Path, key_field: str) -> Iterator[tuple[bytes | None, bytes]]:
    """Each line of a JSON-lines file as-is (even if invalid: the pipeline's DLQ must cope); key = the string in
    ``key_field`` when one can be read, else no key."""
    with path.open("rb") as lines:
        for line in lines:
            value = line.rstrip(b"\r\n")
            if not value:
                continue
            yield _key(value, key_field), value


def produce(
    producer: KafkaProducer,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes]],
    *,
    label: str,
    rate: float = 0.0,
    count: int = 0,
    duration: float = 0.0,
    stop: Stop | None = None,
    progress_seconds: float = 0.0,
) -> Stats:
    """Send records, pacing to ``rate`` events/s (0 = as fast as possible); stop at count/duration/signal.
    Progress (:class:`Progress` on stdout, as before) is prefixed ``[label]``: a live bar in a terminal, else a
    plain line every ``progress_seconds``, and a final line; ``progress_seconds`` 0 = none."""
    stats = Stats(topic=topic)
    progress = (
        Progress(label, count or None, sys.stdout, unit="events", seconds=progress_seconds)
        if progress_seconds > 0
        else None
    )
    deadline = stats.started + duration if duration > 0 else float("inf")
    for key, value in records:
        if (count and stats.sent >= count) or (stop is not None and stop.requested):
            break
        producer.send(topic, value=value, key=key).add_errback(stats.on_error)
        stats.sent += 1
        stats.bytes += len(value)
        if stats.sent % 256 == 0:
            stats.count()
            now = time.monotonic()
            if now >= deadline:
                break
            if rate > 0:
                ahead = stats.sent / rate - (now - stats.started)
                if ahead > 0:
                    time.sleep(ahead)
            if progress is not None:
                progress.update(stats.sent, stats.line())
    stats.count()
    producer.flush()
    if progress is not None:
        progress.close(stats.line(), done=stats.sent)
    return stats
