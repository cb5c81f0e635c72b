"""The behaviour gateway as a process against the real broker: concurrent clients, a client that leaves
mid-stream, a flood of invalid frames, refused tokens, bad configuration and the SIGTERM drain.

Every test reads its topics back (``jobs.common.audit.read_topic``) and checks the gateway's promise: an event
acknowledged to a client is in ``behaviour_events`` exactly once, an invalid message is in the dead-letter topic
with its reason, and the gateway's summary agrees with both."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from jobs.behaviour.emulator import Tally, emulate, run_user, user_frames
from jobs.behaviour.topics import BehaviourTopics
from jobs.common.settings import KafkaSettings
from tests.conftest import unique_topic
from tests.integration import behaviour_gateway
from tests.integration.behaviour_gateway import Gateway, dead_letters, event_ids

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 28, 9, tzinfo=UTC)
CODES = {"invalid_json", "not_object", "missing_field", "wrong_type", "bad_value"}
GUARD = 180  # seconds: a guard against a hang, never an expectation


@pytest.fixture
def topics(request: pytest.FixtureRequest) -> BehaviourTopics:
    name = unique_topic(request, "behaviour")
    return BehaviourTopics(events=name, dlq=f"{name}.dlq")


@pytest.fixture
def gateway(local_env: dict[str, str], topics: BehaviourTopics) -> Iterator[Gateway]:
    """A gateway with a small per-connection bound (8), so that pipelining clients are told to slow down (for
    20 ms: the tests' clients honour it)."""
    running = behaviour_gateway.start(local_env, topics, max_in_flight="8", slow_down_ms="20")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def run(coroutine):  # any coroutine, under the hang guard
    return asyncio.run(asyncio.wait_for(coroutine, GUARD))


def test_concurrent_clients_every_ack_is_in_kafka_once_and_invalid_ones_are_dead_lettered(
    gateway: Gateway, kafka_settings: KafkaSettings, topics: BehaviourTopics
) -> None:
    tally = run(emulate(gateway.url, gateway.token, 24, 4800, seed=11, start=START, invalid_rate=0.05, window=32))
    code, summary = gateway.stop()
    assert code == 0 and summary["drained"] is True
    assert tally.unanswered == 0 and tally.unavailable == 0 and tally.refused_connections == 0
    assert tally.sent == 4800 and tally.acknowledged == tally.valid_sent and tally.refused == 4800 - tally.valid_sent
    assert tally.refused > 0 and tally.slow_downs > 0  # 32 pipelined frames against a bound of 8
    in_kafka = event_ids(kafka_settings, topics.events)
    assert set(in_kafka) == set(tally.acked) and set(in_kafka.values()) == {1}
    letters = dead_letters(kafka_settings, topics.dlq)
    assert len(letters) == tally.refused
    assert {headers["brook.error.code"].decode() for _, headers in letters} <= CODES
    assert all(headers["brook.error"] and headers["brook.source"] == b"behaviour-gateway" for _, headers in letters)
    assert summary["acknowledged"] == tally.acknowledged and summary["dead_lettered"] == tally.refused
    assert summary["connections"] == 24 and summary["slow_downs"] == tally.slow_downs
    assert summary["acks_undelivered"] == 0 and summary["unavailable"] == 0


def test_a_client_that_leaves_mid_stream_loses_nothing_it_was_acknowledged(
    gateway: Gateway, kafka_settings: KafkaSettings, topics: BehaviourTopics
) -> None:
    frames = [frame for frame, _ in user_frames(21, 0, 400, START, 0.0)]

    async def leave_after_50_acks() -> list[str]:
        ws = await connect(gateway.url, additional_headers={"Authorization": f"Bearer {gateway.token}"})
        for frame in frames:
            await ws.send(frame)  # one burst: far more than the gateway reads before slowing it down
        acked: list[str] = []
        while len(acked) < 50:
            answer = json.loads(await ws.recv())
            if "ack" in answer:
                acked.append(answer["ack"])
        ws.transport.abort()  # gone: no close frame, unread acks and unsent frames dropped
        return acked

    acked = run(leave_after_50_acks())
    after = Tally()  # the gateway keeps serving: the next client is answered in full
    run(run_user(gateway.url, gateway.token, user_frames(21, 1, 100, START, 0.0), after))
    code, summary = gateway.stop()
    assert code == 0 and after.acknowledged == 100 and after.unanswered == 0
    in_kafka = event_ids(kafka_settings, topics.events)
    assert all(in_kafka[event_id] == 1 for event_id in acked)
    assert set(in_kafka.values()) == {1} and sum(in_kafka.values()) == summary["acknowledged"]
    sent = {json.loads(frame)["event_id"] for frame in frames} | set(after.acked)
    assert set(in_kafka) <= sent
    assert summary["connections"] == 2


@pytest.fixture
def metered(local_env: dict[str, str], topics: BehaviourTopics, tmp_path: Path) -> Iterator[tuple[Gateway, Path]]:
    """Like ``gateway``, writing its metrics to a text file when it ends (BROOK_METRICS_TEXTFILE)."""
    textfile = tmp_path / "gateway.prom"
    env = {**local_env, "BROOK_METRICS_TEXTFILE": str(textfile)}
    running = behaviour_gateway.start(env, topics, max_in_flight="8", slow_down_ms="20")
    yield running, textfile
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def test_a_flood_of_invalid_frames_is_dead_lettered_while_others_are_served(
    metered: tuple[Gateway, Path], kafka_settings: KafkaSettings, topics: BehaviourTopics
) -> None:
    gateway, textfile = metered
    hostile = user_frames(31, 0, 3000, START, invalid_rate=1.0)
    valid = user_frames(31, 1, 500, START, invalid_rate=0.0)
    flood, served = Tally(), Tally()

    async def both() -> None:
        await asyncio.gather(
            run_user(gateway.url, gateway.token, hostile, flood, window=64),
            run_user(gateway.url, gateway.token, valid, served, window=4),
        )

    run(both())
    code, summary = gateway.stop()
    assert code == 0
    assert flood.refused == 3000 and flood.acknowledged == 0 and flood.unanswered == 0
    assert served.acknowledged == 500 and served.unanswered == 0
    letters = dead_letters(kafka_settings, topics.dlq)
    assert len(letters) == 3000
    assert sorted(value for value, _ in letters) == sorted(
        f if isinstance(f, bytes) else f.encode() for f, _ in hostile
    )
    reasons = {headers["brook.error.code"].decode() for _, headers in letters}
    assert reasons <= CODES and len(reasons) >= 3
    assert event_ids(kafka_settings, topics.events) == dict.fromkeys(served.acked, 1)
    assert summary["dead_lettered"] == 3000 and summary["acknowledged"] == 500
    # The metrics agree with the summary and with what Kafka holds.
    metrics = {
        family.name + "|" + ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(textfile.read_text())
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    assert metrics["brook_gateway_messages|outcome=acknowledged"] == 500
    assert metrics["brook_gateway_messages|outcome=dead_lettered"] == 3000
    assert metrics["brook_gateway_connections|"] == summary["connections"] == 2
    hostile_bytes = sum(len(f if isinstance(f, bytes) else f.encode()) for f, _ in hostile)
    assert metrics["brook_gateway_message_bytes|outcome=dead_lettered"] == hostile_bytes


def test_missing_or_wrong_tokens_are_refused_with_401(gateway: Gateway) -> None:
    async def status_of(headers: dict[str, str]) -> int:
        try:
            async with connect(gateway.url, additional_headers=headers):
                return 101
        except InvalidStatus as err:
            assert err.response.headers.get("WWW-Authenticate", "").startswith("Bearer")
            return err.response.status_code

    wrong = gateway.token[:-1] + ("0" if gateway.token[-1] != "0" else "1")
    refused = [
        {},
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": f"bearer {gateway.token}"},
        {"Authorization": gateway.token},
        {"Authorization": f"Bearer  {gateway.token}"},
    ]
    assert [run(status_of(headers)) for headers in refused] == [401] * len(refused)
    assert run(status_of({"Authorization": f"Bearer {gateway.token}"})) == 101
    assert gateway.status("/healthz") == (200, "ok\n") and gateway.status("/readyz") == (200, "ready\n")
    assert gateway.status("/live")[0] == 404  # the live page is off in this gateway (no Postgres needed)
    assert gateway.status("/nowhere")[0] == 404
    code, summary = gateway.stop()
    assert code == 0 and summary["refused_auth"] == len(refused) and summary["connections"] == 1


def test_sigterm_drains_every_message_read_and_acknowledged_events_are_in_kafka(
    gateway: Gateway, kafka_settings: KafkaSettings, topics: BehaviourTopics
) -> None:
    plans = [user_frames(41, i, 20_000, START, 0.0) for i in range(6)]

    async def stop_mid_stream() -> Tally:
        tally = Tally()
        users = asyncio.gather(*(run_user(gateway.url, gateway.token, p, tally, window=32) for p in plans))
        while tally.acknowledged < 1500:  # well into the stream (an explicit wait on a count, not a sleep)
            assert not users.done()
            await asyncio.sleep(0.02)
        gateway.process.send_signal(signal.SIGTERM)
        await users
        return tally

    tally = run(stop_mid_stream())
    code, summary = gateway.stop()
    assert code == 0 and summary["drained"] is True
    assert 1500 <= tally.acknowledged < 6 * 20_000 and tally.unanswered > 0  # stopped mid-stream
    in_kafka = event_ids(kafka_settings, topics.events)
    assert all(in_kafka[event_id] == 1 for event_id in tally.acked)
    assert set(in_kafka.values()) == {1} and sum(in_kafka.values()) == summary["acknowledged"]
    # Drained: every message the gateway read was answered before its connection closed.
    assert summary["acknowledged"] == tally.acknowledged and summary["acks_undelivered"] == 0


def test_bad_configuration_fails_at_start_naming_the_variable(local_env: dict[str, str]) -> None:
    env = {**os.environ, **local_env, "BROOK_BEHAVIOUR_GATEWAY_TOKEN": ""}
    command = [sys.executable, "-m", "jobs.behaviour.gateway"]
    missing = subprocess.run(command, env=env, capture_output=True, text=True, timeout=GUARD)
    assert missing.returncode == 2 and "BROOK_BEHAVIOUR_GATEWAY_TOKEN is not set" in missing.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env |= {
            "BROOK_BEHAVIOUR_GATEWAY_TOKEN": "t" * 32,
            "BROOK_BEHAVIOUR_GATEWAY_PORT": str(taken.getsockname()[1]),
            "BROOK_BEHAVIOUR_GATEWAY_LIVE": "false",
        }
        busy = subprocess.run(command, env=env, capture_output=True, text=True, timeout=GUARD)
    assert busy.returncode == 2 and "BROOK_BEHAVIOUR_GATEWAY_PORT" in busy.stderr


def test_frames_beyond_the_size_bound_close_the_connection(gateway: Gateway) -> None:
    async def oversized() -> int | None:
        async with connect(gateway.url, additional_headers={"Authorization": f"Bearer {gateway.token}"}) as ws:
            await ws.send("x" * 70_000)
            try:
                await ws.recv()
            except ConnectionClosed as err:
                return err.rcvd.code if err.rcvd else None
        return None

    assert run(oversized()) == 1009
    code, summary = gateway.stop()
    assert code == 0 and summary["acknowledged"] == 0 and summary["dead_lettered"] == 0


def test_a_text_frame_that_is_not_utf8_is_dead_lettered_not_a_protocol_error(
    gateway: Gateway, kafka_settings: KafkaSettings, topics: BehaviourTopics
) -> None:
    """WebSocket requires text frames to be UTF-8; the gateway reads them as bytes, so the contract judges them
    (one verdict for every message) instead of websockets closing the connection with 1007."""
    payload = b'{"event_id":"\xff"}'

    async def send_raw_text() -> tuple[dict, dict]:
        async with connect(gateway.url, additional_headers={"Authorization": f"Bearer {gateway.token}"}) as ws:
            async with ws.send_context():  # websockets' own text-frame writer, without its UTF-8 encoding step
                ws.protocol.send_text(payload)
            first = json.loads(await ws.recv())
            await ws.send(user_frames(51, 0, 1, START, 0.0)[0][0])  # and the connection still serves
            return first, json.loads(await ws.recv())

    refused, acked = run(send_raw_text())
    code, summary = gateway.stop()
    assert refused == {"error": "invalid_json", "event_id": None} and "ack" in acked
    assert [value for value, _ in dead_letters(kafka_settings, topics.dlq)] == [payload]
    assert code == 0 and summary["dead_lettered"] == 1 and summary["acknowledged"] == 1
