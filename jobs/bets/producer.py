"""Bet event producer: generated events (or a JSON-lines file replayed verbatim) into the ``bets`` topic.

``python -m jobs.bets.producer [--rate N] [--count N] [--duration S] [--seed N] [--input FILE]``

Keyed by ``user_id`` (a user's bets stay ordered in one partition), idempotent producer (acks=all, retries never
duplicate), batched with linger. SIGTERM/SIGINT stop generating, flush what is buffered and exit 0; an unreachable
broker or an undelivered event exits 1 with a clear message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaProducer
from kafka.errors import KafkaError

from jobs.bets.contract import BETS_PARTITIONS, encode_bet
from jobs.bets.generator import BetGenerator
from jobs.bets.topics import BetsTopics
from jobs.common.cli import run, summary
from jobs.common.kafka import ensure_topics
from jobs.common.lifecycle import Stop
from jobs.common.produce import ProducerSettings, produce, producer_options, replayed
from jobs.common.settings import KafkaSettings, load


def generated(seed: int | None, rate: float) -> Iterator[tuple[bytes | None, bytes]]:
    for event in BetGenerator(seed=seed, rate=rate):
        yield event["user_id"].encode(), encode_bet(event)


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
    kafka, topics, settings = load(KafkaSettings), load(BetsTopics), load(ProducerSettings)
    stop = Stop()
    try:
        ensure_topics(kafka, {topics.bets: BETS_PARTITIONS})
        producer = KafkaProducer(client_id="brook-producer", **kafka.client_options(), **producer_options(settings))
    except KafkaError as err:
        print(f"producer: cannot reach Kafka at {kafka.bootstrap} ({err}); is the broker up?", file=sys.stderr)
        return 1
    records = replayed(args.input, "user_id") if args.input else generated(args.seed, args.rate)
    try:
        stats = produce(
            producer,
            topics.bets,
            records,
            label="producer",
            rate=args.rate,
            count=args.count,
            duration=args.duration,
            stop=stop,
            progress_seconds=settings.progress_seconds,
        )
    finally:
        producer.close(timeout=30)
    print(f"[producer] done: {stats.line()}", flush=True)
    summary("producer", **stats.summary())
    if stats.failed:
        print(f"producer: {stats.failed} events were not delivered; first error: {stats.first_error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run(main, "producer")
