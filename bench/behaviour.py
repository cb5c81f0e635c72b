"""Benchmark trial of the behaviour gateway (issue 14): events/s and acknowledgement latency with N clients.

Run by ``python -m bench.stages gateway <variant> --events N`` like every other trial (one process per trial, one
``BENCH_RESULT`` line); registered in :data:`bench.run.STAGES` and dispatched through :data:`TRIALS`.

- ``brook``: ``python -m jobs.behaviour.gateway`` as its own process (shipped settings, live page off) and
  :data:`CLIENTS` emulator users (``jobs.behaviour.emulator.run_user``, one WebSocket each, :data:`WINDOW`
  unanswered frames each) in this process; clocked from the first send to the last ack. Latency = send → ack
  frame received, per event.
- ``baseline``: the same events produced straight to Kafka with kafka-python and the gateway's producer settings
  (acks=all, idempotent, its linger), with the same number of unacknowledged sends (CLIENTS × WINDOW) in flight;
  latency = ``send()`` → the delivery callback. What the gateway costs on top is the WebSocket hop, the contract
  check and the per-event answer.

The gateway, the clients and the broker share the machine's cores: the figures are for this machine as a whole.
Start-up, topic creation and readiness happen before the clock.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer

from jobs.behaviour.contract import BEHAVIOUR_PARTITIONS, parse_event
from jobs.behaviour.emulator import Tally, run_user, user_frames
from jobs.behaviour.settings import GatewaySettings
from jobs.common.cli import read_summary
from jobs.common.kafka import ensure_topics
from jobs.common.produce import ProducerSettings, producer_options
from jobs.common.settings import KafkaSettings, load, to_env

CLIENTS = int(os.environ.get("BROOK_BENCH_GATEWAY_CLIENTS", "32"))  # concurrent WebSocket clients (users)
WINDOW = 16  # unanswered frames per client (the emulator's default)
SEED = 2026
START = datetime(2026, 11, 28, 10, tzinfo=UTC)
READY_TIMEOUT = 120.0
GATEWAY_ENV = {"BROOK_BEHAVIOUR_GATEWAY_PORT": "0", "BROOK_BEHAVIOUR_GATEWAY_LIVE": "false"}  # else shipped defaults


def plans(n: int) -> list[list[tuple[str | bytes, bool]]]:
    """n valid events over CLIENTS users (seeded: both variants send the very same bytes)."""
    return [user_frames(SEED, i, n // CLIENTS + (i < n % CLIENTS), START, 0.0) for i in range(CLIENTS)]


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ack_ms": round(cuts[49] * 1000, 2), "p99_ack_ms": round(cuts[98] * 1000, 2)}


def _start_gateway(
    kafka: KafkaSettings, events: str, token: str
) -> tuple[subprocess.Popen[str], str, list[str], threading.Thread]:
    env = {
        **os.environ,
        **to_env(kafka),
        "BROOK_TOPIC_BEHAVIOUR": events,
        "BROOK_TOPIC_BEHAVIOUR_DLQ": f"{events}.dlq",
        "BROOK_BEHAVIOUR_GATEWAY_TOKEN": token,
        **GATEWAY_ENV,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.behaviour.gateway"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if "listening on ws://" in line:
            url = line.split("listening on ", 1)[1].strip()
            break
    else:
        raise RuntimeError("gateway did not start:\n" + "".join(lines))
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    return process, url, lines, reader


def _wait_ready(url: str) -> None:
    ready = url.replace("ws://", "http://").removesuffix("/events") + "/readyz"
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(ready, timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.URLError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gateway not ready after {READY_TIMEOUT} s")
        time.sleep(0.1)


def gateway_trial(n: int, kafka: KafkaSettings) -> dict[str, Any]:
    topic = f"bench-gateway-{secrets.token_hex(4)}"
    token = secrets.token_hex(24)
    frames = plans(n)
    process, url, lines, reader = _start_gateway(kafka, topic, token)
    try:
        _wait_ready(url)
        tally = Tally()

        async def clients() -> None:
            await asyncio.gather(*(run_user(url, token, plan, tally, window=WINDOW) for plan in frames))

        started = time.perf_counter()
        asyncio.run(clients())
        seconds = time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    reader.join(timeout=30)  # the pipe ends with the process: every line, the summary included, is read
    summary = read_summary("".join(lines), "behaviour-gateway")
    if tally.acknowledged != n or summary["acknowledged"] != n:
        raise RuntimeError(f"gateway acknowledged {tally.acknowledged}/{n} (summary {summary})")
    size = sum(len(f) for plan in frames for f, _ in plan)
    settings = {
        "clients": CLIENTS,
        "window": WINDOW,
        "gateway": to_env(load(GatewaySettings, {**os.environ, **GATEWAY_ENV})),
        "slow_downs": tally.slow_downs,
    }
    return {"count": n, "seconds": seconds, "bytes": size, **percentiles(tally.latencies), "settings": settings}


def baseline_trial(n: int, kafka: KafkaSettings) -> dict[str, Any]:
    topic = f"bench-gateway-base-{secrets.token_hex(4)}"
    ensure_topics(kafka, {topic: BEHAVIOUR_PARTITIONS})
    records = []
    for plan in plans(n):
        for frame, _ in plan:
            value = frame.encode() if isinstance(frame, str) else frame
            records.append((parse_event(value).user_id.encode(), value))
    options = {**producer_options(load(ProducerSettings)), "linger_ms": load(GatewaySettings).linger_ms}
    producer = KafkaProducer(**options, **kafka.client_options())
    producer.partitions_for(topic)
    room = threading.Semaphore(CLIENTS * WINDOW)
    latencies: list[float] = []
    failed: list[BaseException] = []

    def done(sent: float, _metadata: object) -> None:
        latencies.append(time.perf_counter() - sent)
        room.release()

    def error(err: BaseException) -> None:
        failed.append(err)
        room.release()

    started = time.perf_counter()
    for key, value in records:
        room.acquire()
        sent = time.perf_counter()
        future = producer.send(topic, key=key, value=value)
        future.add_callback(done, sent)
        future.add_errback(error)
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    if failed or len(latencies) != n:
        raise RuntimeError(f"baseline: {len(latencies)}/{n} acknowledged, first error {failed[:1]}")
    size = sum(len(v) for _, v in records)
    settings = {"in_flight": CLIENTS * WINDOW, "producer": {k: str(v) for k, v in options.items()}}
    return {"count": n, "seconds": seconds, "bytes": size, **percentiles(latencies), "settings": settings}


TRIALS: dict[str, Callable[..., dict[str, Any]]] = {
    "gateway": lambda v, a: (gateway_trial if v == "brook" else baseline_trial)(a.events, load(KafkaSettings)),
}
