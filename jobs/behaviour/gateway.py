"""The behaviour ingestion gateway: WebSocket clients → contract → Kafka ``behaviour_events`` (issue 14).

``python -m jobs.behaviour.gateway`` (job ``behaviour-gateway``). Clients connect to ``/events`` with
``Authorization: Bearer <BROOK_BEHAVIOUR_GATEWAY_TOKEN>`` and send one event per message. Each message gets exactly
one answer frame:

- ``{"ack": "<event_id>"}`` once Kafka acknowledged the event (acks=all, idempotent producer): only then is it
  the client's to forget;
- ``{"error": "<reason>", "event_id": <id or null>}`` once an invalid message is in the dead-letter topic, with
  the contract's reason code (``jobs.behaviour.contract``, the same verdict as Flink's) in its headers;
- ``{"error": "unavailable", "event_id": …}`` when Kafka did not take it (not stored, not acknowledged: resend).

Backpressure: a connection may have ``BROOK_BEHAVIOUR_GATEWAY_MAX_IN_FLIGHT`` messages read but not answered, and
the whole gateway ``…_MAX_IN_FLIGHT_BYTES``. At either bound the connection gets ``{"slow_down": <ms>}`` and the
gateway stops reading it until half of that is answered, so TCP pushes back on a client that ignores the frame.
A frame is answered only when written, so a client that does not read its acks is slowed down the same way.

Kafka's producer runs in its own I/O thread; its futures are bridged into the event loop with
``call_soon_threadsafe`` (the loop is never blocked waiting on Kafka). ``send()`` itself never blocks: topic
metadata is fetched before serving, and kafka-python 3's producer buffer has no bound of its own (it has no
``buffer_memory``), so the in-flight byte bound above is what bounds the gateway's memory.

HTTP: ``/healthz`` (the process serves), ``/readyz`` (Kafka answered the last metadata probe and not draining),
``/live`` and ``/live/updates`` (jobs.behaviour.live). SIGTERM: readiness goes false, the listener closes, every
connection stops reading, every message already read is answered, connections close with 1001, the producer is
flushed, then the summary line: no acknowledged event is lost, and an unanswered one was never acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import http
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from prometheus_client import Counter
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from jobs.behaviour import live as live_page
from jobs.behaviour.contract import BEHAVIOUR_PARTITIONS, InvalidEvent, event_id_of, parse_event
from jobs.behaviour.settings import GatewaySettings, GatewayToken
from jobs.behaviour.topics import BehaviourTopics
from jobs.common.cli import run, summary
from jobs.common.kafka import ensure_topics, headers
from jobs.common.produce import ProducerSettings, producer_options
from jobs.common.settings import ConfigError, KafkaSettings, PostgresSettings, load

JOB = "behaviour-gateway"
EVENTS_PATH, LIVE_PATH, LIVE_UPDATES_PATH = "/events", "/live", "/live/updates"
UNAVAILABLE = "unavailable"  # the error code of a message Kafka did not take (not a contract reason)
NOT_A_SIZE = -1  # queue entry of a slow_down frame: answers no message
log = logging.getLogger("brook.behaviour.gateway")
# Per answered message (docs/metrics.md): outcome acknowledged (Kafka confirmed the event), dead_lettered (refused by
# the contract, confirmed in the DLQ) or unavailable (Kafka did not take it; the client resends).
MESSAGES = Counter("brook_gateway_messages_total", "Messages answered, by outcome.", ["outcome"])
MESSAGE_BYTES = Counter("brook_gateway_message_bytes_total", "Bytes of the messages answered, by outcome.", ["outcome"])
CONNECTIONS = Counter("brook_gateway_connections_total", "WebSocket connections accepted on /events.")


@dataclass
class Counts:
    """What the gateway did; the summary line (``acknowledged`` = events Kafka confirmed = valid events it wrote)."""

    acknowledged: int = 0
    dead_lettered: int = 0
    unavailable: int = 0
    acks_undelivered: int = 0  # acknowledged by Kafka, but the client had left before its ack frame was written
    connections: int = 0
    refused_auth: int = 0
    slow_downs: int = 0


class Client:
    """One ``/events`` connection: its answer queue (one writer task) and how many of its messages are unanswered."""

    def __init__(self, ws: ServerConnection, number: int) -> None:
        self.ws, self.number = ws, number
        self.in_flight = 0
        self.frames: asyncio.Queue[tuple[str, int, bool]] = asyncio.Queue()  # (frame, message bytes, is an ack)
        self.idle = asyncio.Event()
        self.idle.set()
        self.gone = False
        self.reader: asyncio.Task[None] | None = None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Gateway:
    """The server: HTTP routes in the handshake, one reader and one writer task per ``/events`` connection."""

    def __init__(
        self,
        settings: GatewaySettings,
        token: GatewayToken,
        kafka: KafkaSettings,
        producer: ProducerSettings,
        topics: BehaviourTopics,
        pg: PostgresSettings | None,
    ) -> None:
        self.settings, self.kafka, self.topics = settings, kafka, topics
        self._token = _digest(token.token)
        options = {**producer_options(producer), "linger_ms": settings.linger_ms}
        self.producer = KafkaProducer(
            client_id="brook-behaviour-gateway",
            max_block_ms=10_000,
            **options,
            **kafka.client_options(),
        )
        self.live = live_page.LiveFeed(pg, settings.live_poll_seconds) if pg is not None else None
        self.counts = Counts()
        self.clients: set[Client] = set()
        self.waiters: dict[Client, asyncio.Future[None]] = {}
        self.bytes_in_flight = 0
        self.draining = False
        self.kafka_ok = False
        self.kafka_error = "not probed yet"
        self.loop: asyncio.AbstractEventLoop | None = None
        self._probe_client: KafkaConsumer | None = None

    # --- HTTP ---------------------------------------------------------------------------------------------------
    def authorised(self, request: Request) -> bool:
        """Exactly one ``Authorization: Bearer <token>`` header with the token (compared in constant time)."""
        values = request.headers.get_all("Authorization")
        if len(values) != 1 or not values[0].startswith("Bearer "):
            return False
        return hmac.compare_digest(_digest(values[0][len("Bearer ") :]), self._token)

    def ready(self) -> tuple[bool, str]:
        if self.draining:
            return False, "draining"
        if not self.kafka_ok:
            return False, f"kafka: {self.kafka_error}"
        return True, "ready"

    def route(self, conn: ServerConnection, request: Request) -> Response | None:
        """``process_request``: answer plain HTTP here; None lets a WebSocket handshake go on."""
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return conn.respond(http.HTTPStatus.OK, "ok\n")
        if path == "/readyz":
            ok, why = self.ready()
            return conn.respond(http.HTTPStatus.OK if ok else http.HTTPStatus.SERVICE_UNAVAILABLE, why + "\n")
        if path == EVENTS_PATH:
            if self.draining:
                return conn.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "draining\n")
            if not self.authorised(request):
                self.counts.refused_auth += 1
                response = conn.respond(http.HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token\n")
                response.headers["WWW-Authenticate"] = 'Bearer realm="brook-behaviour"'
                return response
            return None
        if self.live is not None and path == LIVE_PATH:
            response = conn.respond(http.HTTPStatus.OK, live_page.PAGE)
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "text/html; charset=utf-8"
            response.headers["Cache-Control"] = "no-store"
            return response
        if self.live is not None and path == LIVE_UPDATES_PATH:
            return None
        return conn.respond(http.HTTPStatus.NOT_FOUND, "not found\n")

    # --- WebSocket ----------------------------------------------------------------------------------------------
    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        if ws.request.path.split("?", 1)[0] == LIVE_UPDATES_PATH and self.live is not None:
            await self.live.serve(ws)
        elif not self.draining:
            await self.events(ws)

    async def events(self, ws: ServerConnection) -> None:
        """One client: read until it leaves or the gateway drains, then answer everything read, then return."""
        self.counts.connections += 1
        CONNECTIONS.inc()
        client = Client(ws, self.counts.connections)
        self.clients.add(client)
        writer = asyncio.create_task(self._write(client))
        client.reader = asyncio.create_task(self._read(client))
        try:
            await asyncio.wait({client.reader})
            if not client.reader.cancelled() and client.reader.exception() is not None:
                err = client.reader.exception()
                if not isinstance(err, ConnectionClosed):
                    log.error("connection %d: reader failed", client.number, exc_info=err)
            while client.in_flight:
                client.idle.clear()
                await client.idle.wait()
        finally:
            writer.cancel()
            self.clients.discard(client)
        if self.draining:
            await self._close_draining(ws)

    @staticmethod
    async def _close_draining(ws: ServerConnection) -> None:
        """Close with 1001. Frames the client sent after the reader stopped are read and dropped meanwhile
        (never acknowledged, so the client resends them elsewhere): websockets stops reading the socket while
        unread frames pile up, and would then never see the client's close frame."""

        async def discard() -> None:
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await ws.recv(decode=False)

        dropping = asyncio.create_task(discard())
        try:
            await ws.close(1001, "gateway draining")
        finally:
            dropping.cancel()

    async def _read(self, client: Client) -> None:
        while True:
            await self._room(client)
            raw = await client.ws.recv(decode=False)
            client.in_flight += 1
            self.bytes_in_flight += len(raw)
            self._take(client, raw)

    async def _room(self, client: Client) -> None:
        """Return at once below the bounds; else send slow_down and wait until half is answered."""
        s = self.settings
        if client.in_flight < s.max_in_flight and self.bytes_in_flight < s.max_in_flight_bytes:
            return
        self.counts.slow_downs += 1
        client.frames.put_nowait((f'{{"slow_down":{s.slow_down_ms}}}', NOT_A_SIZE, False))
        assert self.loop is not None
        waiter = self.loop.create_future()
        self.waiters[client] = waiter
        self._release()
        try:
            await waiter
        finally:
            self.waiters.pop(client, None)

    def _release(self) -> None:
        s = self.settings
        for client, waiter in list(self.waiters.items()):
            low = client.in_flight <= s.max_in_flight // 2 and self.bytes_in_flight <= s.max_in_flight_bytes // 2
            if low and not waiter.done():
                waiter.set_result(None)

    def _take(self, client: Client, raw: bytes) -> None:
        """Validate one message and hand it to Kafka (events or dead letters); the answer comes from the future."""
        size = len(raw)
        try:
            event = parse_event(raw)
        except InvalidEvent as err:
            event_id = event_id_of(raw)
            frame = json.dumps({"error": err.code, "event_id": event_id}, separators=(",", ":"))
            record: dict[str, Any] = {
                "topic": self.topics.dlq,
                "value": raw,
                "headers": headers(
                    error_code=err.code, error=str(err), source="behaviour-gateway", connection=client.number
                ),
            }
            self._send(client, record, size, frame, event_id, is_ack=False)
            return
        record = {"topic": self.topics.events, "key": event.user_id.encode(), "value": raw}
        self._send(client, record, size, f'{{"ack":"{event.event_id}"}}', event.event_id, is_ack=True)

    def _send(self, client: Client, record: dict[str, Any], size: int, frame: str, event_id: str | None, is_ack: bool):
        """Produce, and bridge the producer thread's answer into the loop (``call_soon_threadsafe``)."""
        loop = self.loop
        assert loop is not None

        def settle(error: BaseException | None) -> None:
            # RuntimeError: the loop is closed, the process is exiting and nothing can be answered any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._settled, client, size, frame, event_id, is_ack, error)

        try:
            future = self.producer.send(**record)
        except Exception as err:  # KafkaError or anything else: answered "unavailable" (not stored; resend)
            self._settled(client, size, frame, event_id, is_ack, err)
            return
        future.add_callback(lambda _metadata: settle(None))
        future.add_errback(settle)

    def _settled(
        self, client: Client, size: int, frame: str, event_id: str | None, is_ack: bool, error: BaseException | None
    ) -> None:
        if error is None:
            if is_ack:
                self.counts.acknowledged += 1
                outcome = "acknowledged"
            else:
                self.counts.dead_lettered += 1
                outcome = "dead_lettered"
        else:
            self.counts.unavailable += 1
            outcome = UNAVAILABLE
            self.kafka_error = f"{type(error).__name__}: {error}"
            frame, is_ack = json.dumps({"error": UNAVAILABLE, "event_id": event_id}, separators=(",", ":")), False
        MESSAGES.labels(outcome).inc()
        MESSAGE_BYTES.labels(outcome).inc(size)
        client.frames.put_nowait((frame, size, is_ack))

    async def _write(self, client: Client) -> None:
        """The one writer of a connection: answers in the order Kafka settled them; a message counts as answered
        once its frame is written (or the client is gone)."""
        while True:
            frame, size, is_ack = await client.frames.get()
            if not client.gone:
                try:
                    await client.ws.send(frame)
                except ConnectionClosed:
                    client.gone = True
                except Exception:  # never leave a message counted in flight: the handler waits for the count
                    log.exception("connection %d: answer not written", client.number)
                    client.gone = True
            if size == NOT_A_SIZE:
                continue
            if client.gone and is_ack:
                self.counts.acks_undelivered += 1
            client.in_flight -= 1
            self.bytes_in_flight -= size
            if client.in_flight == 0:
                client.idle.set()
            if self.waiters:
                self._release()

    # --- readiness ----------------------------------------------------------------------------------------------
    def _probe(self) -> None:
        """One metadata round trip (runs in a worker thread): raises when Kafka cannot be reached."""
        if self._probe_client is None:
            self._probe_client = KafkaConsumer(
                client_id="brook-behaviour-gateway-probe", enable_auto_commit=False, **self.kafka.client_options()
            )
        if self.topics.events not in self._probe_client.topics():
            raise KafkaError(f"topic {self.topics.events} is not visible")

    async def probe_loop(self) -> None:
        assert self.loop is not None
        pending: asyncio.Future[None] | None = None
        while True:
            if pending is None or pending.done():
                pending = self.loop.run_in_executor(None, self._probe)
            try:
                await asyncio.wait_for(asyncio.shield(pending), timeout=self.settings.probe_seconds)
                self.kafka_ok = True
            except TimeoutError:
                self.kafka_ok, self.kafka_error = False, "metadata probe timed out"
            except Exception as err:  # any client error means "not reachable now"; the next probe retries
                self.kafka_ok, self.kafka_error = False, f"{type(err).__name__}: {err}"
            await asyncio.sleep(self.settings.probe_seconds)

    # --- lifecycle ----------------------------------------------------------------------------------------------
    async def serve(self, on_listening: Callable[[str], None]) -> bool:
        """Serve until SIGTERM/SIGINT, then drain; True when every message read was answered in time."""
        self.loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, stop.set)
        s = self.settings
        server: Server = await serve(
            self.handle,
            s.host,
            s.port,
            process_request=self.route,
            max_size=s.max_frame_bytes,
            compression=None,  # events are ~250 bytes: per-message deflate cost ~5 % of the loop's time, saved little
            server_header=None,
        )
        port = next(iter(server.sockets)).getsockname()[1]
        background = [asyncio.create_task(self.probe_loop())]
        if self.live is not None:
            background.append(asyncio.create_task(self.live.run()))
        on_listening(f"ws://{s.host}:{port}{EVENTS_PATH}")
        await stop.wait()
        drained = await self.drain(server)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        return drained

    async def drain(self, server: Server) -> bool:
        """Stop accepting, stop reading, answer everything read (bounded by the drain time), close connections."""
        self.draining = True
        server.close(close_connections=False)  # the listener closes now; handlers finish below
        for client in list(self.clients):
            if client.reader is not None:
                client.reader.cancel()  # recv() is safe to cancel: an unread message stays unread, not lost
        if self.live is not None:
            for viewer in list(self.live.viewers):
                await viewer.close(1001, "gateway draining")
        try:
            await asyncio.wait_for(server.wait_closed(), timeout=self.settings.drain_seconds)
            drained = True
        except TimeoutError:
            drained = False
        await asyncio.to_thread(self.producer.flush, 10)
        return drained

    def close(self) -> None:
        self.producer.close(timeout=10)
        if self._probe_client is not None:
            self._probe_client.close()
        if self.live is not None:
            self.live.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.behaviour.gateway", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings, token, kafka = load(GatewaySettings), load(GatewayToken), load(KafkaSettings)
    producer, topics = load(ProducerSettings), load(BehaviourTopics)
    pg = load(PostgresSettings) if settings.live else None
    ensure_topics(kafka, {topics.events: BEHAVIOUR_PARTITIONS, topics.dlq: 1})
    gateway = Gateway(settings, token, kafka, producer, topics, pg)
    started = time.monotonic()
    try:
        for topic in (topics.events, topics.dlq):
            gateway.producer.partitions_for(topic)  # metadata now, so that send() never waits for it on the loop
        drained = asyncio.run(gateway.serve(lambda url: print(f"[{JOB}] listening on {url}", flush=True)))
        # The loop's handlers are gone: a second SIGTERM must not cut the flush and the summary short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except OSError as err:
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port} ({err.strerror or err}): set "
            "BROOK_BEHAVIOUR_GATEWAY_HOST/BROOK_BEHAVIOUR_GATEWAY_PORT to a free local address."
        ) from None
    finally:
        gateway.close()
    if not drained:
        print(f"[{JOB}] drain timed out: unanswered messages were never acknowledged", file=sys.stderr)
    summary(JOB, **asdict(gateway.counts), drained=drained, seconds=round(time.monotonic() - started, 3))
    return 0 if drained else 1


if __name__ == "__main__":
    run(main, JOB)
