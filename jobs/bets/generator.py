"""A realistic, reproducible stream of bet events (DESIGN §2.1) for the producer, the demo and the benchmarks.

Shape: many users with a few heavy bettors, a Zipf-like game popularity (a handful of hot games), amounts with a
long tail (log-normal, cents), odds from short favourites to long shots, statuses with plausible weights, and
event times near the clock with a little jitter. With a seed and a fixed start time the stream is byte-identical
run after run, so tests and benchmarks replay the same data.
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

STATUS_WEIGHTS = {"placed": 0.55, "lost": 0.25, "won": 0.15, "cancelled": 0.05}
CURRENCY_WEIGHTS = {"EUR": 0.5, "GBP": 0.3, "USD": 0.2}
TEAMS = ("ARS", "CHE", "LIV", "MCI", "MUN", "TOT", "NEW", "AVL", "BHA", "WHU", "RMA", "FCB", "BAY", "PSG", "JUV")
CASINO = ("roulette", "blackjack", "baccarat", "slots:starburst", "slots:book-of-dead", "poker:holdem")


def _catalogue() -> list[str]:
    """Football matches between distinct teams plus casino games: ~200 games."""
    matches = [f"football:{a}-{b}" for a, b in itertools.permutations(TEAMS, 2)]
    return list(CASINO) + matches


class BetGenerator:
    """Yields bet events as dicts; draw order is fixed so a seed reproduces the stream exactly."""

    def __init__(
        self,
        seed: int | None = None,
        users: int = 20_000,
        zipf_s: float = 1.2,
        jitter_seconds: float = 2.0,
        start: datetime | None = None,
        rate: float = 0.0,
    ) -> None:
        self.rng = random.Random(seed)
        self.games = _catalogue()
        self.rng.shuffle(self.games)  # which games are hot depends on the seed
        self.game_weights = list(itertools.accumulate(1.0 / (rank**zipf_s) for rank in range(1, len(self.games) + 1)))
        # Heavy bettors: user popularity is also skewed, but much flatter than games.
        self.users = [f"user-{i:06d}" for i in range(users)]
        self.user_weights = list(itertools.accumulate(1.0 / (rank**0.6) for rank in range(1, users + 1)))
        self.statuses = list(STATUS_WEIGHTS)
        self.status_weights = list(itertools.accumulate(STATUS_WEIGHTS.values()))
        self.currencies = list(CURRENCY_WEIGHTS)
        self.currency_weights = list(itertools.accumulate(CURRENCY_WEIGHTS.values()))
        self.jitter = jitter_seconds
        self.start = start
        self.step = timedelta(seconds=1.0 / rate) if rate > 0 else timedelta(0)

    def amount(self) -> float:
        """Log-normal stake: median ~10, a long tail into the thousands, capped, in cents."""
        value = math.exp(self.rng.gauss(2.3, 1.1))
        return round(min(max(value, 0.5), 50_000.0), 2)

    def odds(self) -> float:
        """Decimal odds ≥ 1.01: mostly 1.2–4, sometimes long shots."""
        return round(1.01 + math.exp(self.rng.gauss(0.2, 0.8)), 2)

    def event(self, now: datetime) -> dict[str, Any]:
        rng = self.rng
        jitter = timedelta(seconds=rng.uniform(-self.jitter, 0.0))
        return {
            "bet_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "user_id": rng.choices(self.users, cum_weights=self.user_weights)[0],
            "game": rng.choices(self.games, cum_weights=self.game_weights)[0],
            "amount": self.amount(),
            "currency": rng.choices(self.currencies, cum_weights=self.currency_weights)[0],
            "odds": self.odds(),
            "status": rng.choices(self.statuses, cum_weights=self.status_weights)[0],
            "event_time": (now + jitter).isoformat(timespec="milliseconds"),
        }

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Endless stream. With ``start`` set, time advances by 1/rate per event (reproducible); else wall clock."""
        if self.start is not None:
            clock = self.start.astimezone(UTC)
            while True:
                yield self.event(clock)
                clock += self.step
        while True:
            yield self.event(datetime.now(UTC))
