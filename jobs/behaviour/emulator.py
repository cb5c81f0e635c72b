"""The behaviour emulator: many concurrent users walking shop funnels through the gateway (issue 14).

``python -m jobs.behaviour.emulator --users N --events M --url ws://host:port/events`` (job ``behaviour-emulator``),
token from ``BROOK_BEHAVIOUR_GATEWAY_TOKEN``. Each user is one WebSocket connection (a browser tab) and walks
sessions: a few page views and searches, then add to cart, checkout and purchase, each step taken with a
probability (:data:`FUNNEL`) so most sessions drop off early, as in real shops. Sessions of one user are separated
by more than the pipeline's 30-minute session gap; event times are synthetic (from ``--start``), sending is as fast
as the gateway allows (or ``--think-ms`` apart).

Deterministic: the same ``--seed``, ``--start``, ``--users``, ``--events`` and ``--invalid-rate`` give the same
frames (ids, users, times), whatever the timing. ``--invalid-rate`` replaces that share of frames with hostile
ones (:func:`hostile`) that the gateway must dead-letter. A user keeps up to ``--window`` frames unanswered and
honours ``slow_down`` by pausing its sends for the time the gateway asks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from jobs.behaviour.settings import GatewayToken
from jobs.common.cli import run, summary
from jobs.common.settings import load

JOB = "behaviour-emulator"
PAGES = ("/", "/search", "/category/shoes", "/category/books", "/category/garden", "/deals", "/help")
PRODUCTS = tuple(f"sku-{n:04d}" for n in range(1, 201))
# The chance to go on to the next funnel step (browse → cart → checkout → purchase); the rest drop off.
FUNNEL = {"add_to_cart": 0.35, "checkout": 0.55, "purchase": 0.7}
BROWSE_EVENTS = (1, 6)  # page views and searches per session (inclusive)
THINK_SECONDS = (2.0, 90.0)  # event-time between two events of a session
SESSION_PAUSE_SECONDS = (31 * 60, 4 * 3600)  # event-time between two sessions: above the 30-minute session gap
Frame = str | bytes  # str goes as a text frame, bytes as a binary frame


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def funnel_events(rng: random.Random, user_id: str, start: datetime) -> Iterator[dict[str, Any]]:
    """An endless, seeded stream of one user's events, session after session."""
    moment = start + timedelta(seconds=rng.uniform(0, 600))
    session = 0
    while True:
        session += 1
        hint = f"{user_id}/tab-{session}"
        steps: list[tuple[str, str, str | None]] = []
        product: str | None = None
        for _ in range(rng.randint(*BROWSE_EVENTS)):
            if rng.random() < 0.2:
                steps.append(("search", "/search", None))
            else:
                product = rng.choice(PRODUCTS) if rng.random() < 0.6 else None
                steps.append(("page_view", f"/product/{product}" if product else rng.choice(PAGES), product))
        product = product or rng.choice(PRODUCTS)
        for step, page in (("add_to_cart", f"/product/{product}"), ("checkout", "/checkout"), ("purchase", "/paid")):
            if rng.random() >= FUNNEL[step]:
                break
            steps.append((step, page, product))
        for event_type, page, product_id in steps:
            event = {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "user_id": user_id,
                "session_hint": hint,
                "event_type": event_type,
                "page": page,
                "event_time": _iso(moment),
            }
            if product_id is not None:
                event["product_id"] = product_id
            yield event
            moment += timedelta(seconds=rng.uniform(*THINK_SECONDS))
        moment += timedelta(seconds=rng.uniform(*SESSION_PAUSE_SECONDS))


def hostile(rng: random.Random, event: dict[str, Any]) -> Frame:
    """A frame the contract refuses, built from a valid event (so most still name its event_id)."""
    kind = rng.randrange(8)
    if kind == 0:
        return "this is not JSON"
    if kind == 1:
        return json.dumps({k: v for k, v in event.items() if k != "user_id"})
    if kind == 2:
        return json.dumps({**event, "event_type": "teleport"})
    if kind == 3:
        return json.dumps({**event, "event_time": "2026-13-01T00:00:00Z"})
    if kind == 4:
        return json.dumps(event)[:-1] + f',"user_id":{json.dumps(event["user_id"])}}}'  # a duplicate key
    if kind == 5:
        return b"\xff\xfe" + json.dumps(event).encode()  # not UTF-8: only a binary frame can carry it
    if kind == 6:
        return json.dumps({**event, "page": "   "})
    return json.dumps({**event, "product_id": [[[[[[[[["deep"]]]]]]]]]})


def user_frames(seed: int, index: int, count: int, start: datetime, invalid_rate: float) -> list[tuple[Frame, bool]]:
    """User ``index``'s ``count`` frames, each with whether it is valid; a pure function of its arguments."""
    rng = random.Random(f"{seed}:{index}")
    user_id = f"user-{seed}-{index:05d}"
    out: list[tuple[Frame, bool]] = []
    for event in funnel_events(rng, user_id, start):
        if len(out) == count:
            break
        if invalid_rate > 0 and rng.random() < invalid_rate:
            out.append((hostile(rng, event), False))
        else:
            out.append((json.dumps(event, separators=(",", ":")), True))
    return out


@dataclass
class Tally:
    """What the users saw; ``acked`` holds every acknowledged event_id (tests and the benchmark read it)."""

    sent: int = 0
    valid_sent: int = 0
    acknowledged: int = 0
    refused: int = 0
    unavailable: int = 0
    unanswered: int = 0
    slow_downs: int = 0
    refused_connections: int = 0
    acked: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds from send to ack (valid frames)

    def summary(self) -> dict[str, int]:
        names = ("sent", "valid_sent", "acknowledged", "refused", "unavailable", "unanswered", "slow_downs")
        return {name: getattr(self, name) for name in names} | {"refused_connections": self.refused_connections}


@dataclass
class _Connection:
    """One user's connection state shared by its sender and its receiver."""

    slots: asyncio.Semaphore
    size: int
    answered: int = 0
    pause_until: float = 0.0
    sent_at: dict[str, float] = field(default_factory=dict)


async def _receive(ws: ClientConnection, tally: Tally, conn: _Connection) -> None:
    """Count answers; when the connection ends, free every slot so that the sender stops waiting."""
    try:
        async for message in ws:
            answer = json.loads(message)
            if "slow_down" in answer:
                tally.slow_downs += 1
                conn.pause_until = time.monotonic() + answer["slow_down"] / 1000
                continue
            if "ack" in answer:
                tally.acknowledged += 1
                tally.acked.append(answer["ack"])
                started = conn.sent_at.pop(answer["ack"], None)
                if started is not None:
                    tally.latencies.append(time.monotonic() - started)
            elif answer.get("error") == "unavailable":
                tally.unavailable += 1
            else:
                tally.refused += 1
            conn.answered += 1
            conn.slots.release()
    except ConnectionClosed:
        pass
    finally:
        for _ in range(conn.size):
            conn.slots.release()


async def run_user(
    url: str, token: str, frames: list[tuple[Frame, bool]], tally: Tally, window: int = 16, think_ms: int = 0
) -> None:
    """Send ``frames`` over one connection, at most ``window`` unanswered, then wait for every answer."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        ws = await connect(url, additional_headers=headers, max_size=2**20, open_timeout=30)
    except InvalidStatus:
        tally.refused_connections += 1
        tally.unanswered += len(frames)
        return
    conn = _Connection(asyncio.Semaphore(window), window)
    receiver = asyncio.create_task(_receive(ws, tally, conn))
    try:
        for frame, valid in frames:
            await conn.slots.acquire()
            if receiver.done():
                # The gateway closed the connection (drain): the rest stays unsent. The slot just taken is for no
                # frame: give it back, or the wait for every slot below lacks one (it hung when the window was full).
                conn.slots.release()
                break
            wait = conn.pause_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # the gateway asked for this pause (slow_down)
            if valid:
                conn.sent_at[json.loads(frame)["event_id"]] = time.monotonic()
            await ws.send(frame)
            tally.sent += 1
            tally.valid_sent += valid
            if think_ms:
                await asyncio.sleep(think_ms / 1000)
        for _ in range(window):  # every slot back = every frame answered (or the connection gone)
            await conn.slots.acquire()
    except ConnectionClosed:
        pass
    finally:
        receiver.cancel()
        await ws.close()
        tally.unanswered += len(frames) - conn.answered


async def emulate(
    url: str,
    token: str,
    users: int,
    events: int,
    *,
    seed: int,
    start: datetime,
    invalid_rate: float = 0.0,
    window: int = 16,
    think_ms: int = 0,
) -> Tally:
    """``events`` frames spread over ``users`` concurrent users (the first ``events % users`` get one more)."""
    tally = Tally()
    plans = [user_frames(seed, i, events // users + (i < events % users), start, invalid_rate) for i in range(users)]
    await asyncio.gather(*(run_user(url, token, frames, tally, window, think_ms) for frames in plans if frames))
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.behaviour.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent users (one connection each)")
    parser.add_argument("--events", type=int, default=5000, help="frames in total, over all users")
    parser.add_argument("--url", default="ws://127.0.0.1:8765/events", help="the gateway's /events URL")
    parser.add_argument("--seed", type=int, default=1, help="seed of every user's funnel and ids")
    parser.add_argument("--start", default="", help="event time of the first sessions (ISO-8601; default: now)")
    parser.add_argument("--invalid-rate", type=float, default=0.0, help="share of hostile frames (0..1)")
    parser.add_argument("--window", type=int, default=16, help="unanswered frames a user may have")
    parser.add_argument("--think-ms", type=int, default=0, help="wall-clock pause between a user's sends")
    args = parser.parse_args(argv)
    if args.users < 1 or args.events < 0 or not 0 <= args.invalid_rate <= 1 or args.window < 1:
        parser.error("--users >= 1, --events >= 0, --invalid-rate in 0..1, --window >= 1")
    start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC).replace(second=0, microsecond=0)
    if start.tzinfo is None:
        parser.error("--start needs an offset, e.g. 2026-11-28T10:00:00Z")
    token = load(GatewayToken).token
    began = time.monotonic()
    tally = asyncio.run(
        emulate(
            args.url,
            token,
            args.users,
            args.events,
            seed=args.seed,
            start=start,
            invalid_rate=args.invalid_rate,
            window=args.window,
            think_ms=args.think_ms,
        )
    )
    seconds = time.monotonic() - began
    print(f"[{JOB}] {tally.summary()} in {seconds:.2f}s", flush=True)
    summary(JOB, **tally.summary(), seconds=round(seconds, 3))
    complete = tally.unanswered == 0 and tally.unavailable == 0 and tally.acknowledged == tally.valid_sent
    return 0 if complete else 1


if __name__ == "__main__":
    run(main, JOB)
