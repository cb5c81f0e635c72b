"""Seeded viewers, films and viewing sessions written into the cinema OLTP database (seed 004's producer).

``python -m jobs.cinema.generator [--viewers N] [--films F] [--days D] [--start DATE] [--seed S] [--hostile]``

Realism the marts have something to find: evening peaks (session starts follow :data:`HOUR_WEIGHTS`, highest at
20–22 h local), binges (a binge-prone viewer watches 2–4 films back to back), abandoned films (a share of sessions
stop early), pauses and seeks while playing, popular films (Zipf-like weights) and churn (each viewer's chance to
come back falls day by day, so the retention mart has a curve). Rows go through the contract and the loader
(``jobs.cinema.store``) like any replay; ``--hostile`` appends the rows of :func:`hostile_rows`, which must all end
in ``cinema_dead_letters``. The same seed gives the same rows (UUIDs come from the seeded generator).
"""

from __future__ import annotations

import argparse
import random
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
from psycopg2.extras import execute_values

from jobs.cinema import store
from jobs.common.cli import run, summary
from jobs.common.rules import encode
from jobs.common.settings import PostgresSettings, load

# Relative weight of a session starting in each local hour 0..23: quiet mornings, an evening peak at 20–22.
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 4, 5, 5, 5, 5, 6, 8, 11, 15, 19, 20, 17, 8)
GENRES = ("drama", "comedy", "thriller", "documentary", "animation", "sci-fi")
COUNTRIES = ("KZ", "RU", "DE", "FR", "US", "BR")
ABANDON_SHARE = 0.3  # sessions that stop before the credits
BINGE_SHARE = 0.25  # viewers who sometimes watch several films in a row


@dataclass(frozen=True)
class Viewer:
    viewer_id: str
    name: str
    country: str
    signed_up_at: datetime
    activity: float  # chance to watch on a day, before churn
    binger: bool


@dataclass(frozen=True)
class Film:
    film_id: str
    title: str
    genre: str
    duration_s: int
    release_year: int
    weight: float


class Generator:
    """All of one seeded run: the catalogue, the audience, then their sessions in time order."""

    def __init__(self, seed: int, viewers: int, films: int, days: int, start: datetime) -> None:
        self.rng = random.Random(seed)
        self.days, self.start = days, start
        self.films = [self._film(n) for n in range(films)]
        self.viewers = [self._viewer(n) for n in range(viewers)]

    def uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def _film(self, n: int) -> Film:
        return Film(
            film_id=self.uuid(),
            title=f"Film {n + 1:03d}",
            genre=self.rng.choice(GENRES),
            duration_s=self.rng.randint(80, 170) * 60,
            release_year=self.rng.randint(1970, 2026),
            weight=1.0 / (n + 1) ** 0.8,
        )

    def _viewer(self, n: int) -> Viewer:
        signup_day = int(self.rng.random() ** 2 * max(self.days - 1, 1))  # most sign up early in the window
        return Viewer(
            viewer_id=self.uuid(),
            name=f"viewer-{n + 1:04d}",
            country=self.rng.choice(COUNTRIES),
            signed_up_at=self.start + timedelta(days=signup_day, hours=self.rng.randint(8, 20)),
            activity=min(0.9, self.rng.lognormvariate(-0.9, 0.5)),
            binger=self.rng.random() < BINGE_SHARE,
        )

    def sessions(self) -> Iterator[dict[str, Any]]:
        """Every event of every session, session by session (each session's events in order)."""
        for viewer in self.viewers:
            first = (viewer.signed_up_at - self.start).days
            for day in range(first, self.days):
                since = day - first
                if self.rng.random() > viewer.activity * 0.85**since:  # churn: less likely every day
                    continue
                hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
                at = self.start + timedelta(days=day, hours=hour, seconds=self.rng.randint(0, 3599))
                at = max(at, viewer.signed_up_at)
                films = self.rng.randint(2, 4) if viewer.binger and self.rng.random() < 0.5 else 1
                for _ in range(films):
                    film = self.rng.choices(self.films, weights=[f.weight for f in self.films])[0]
                    events = list(self._session(viewer, film, at))
                    yield from events
                    at = datetime.fromisoformat(events[-1]["event_time"]) + timedelta(seconds=self.rng.randint(30, 600))

    def _session(self, viewer: Viewer, film: Film, at: datetime) -> Iterator[dict[str, Any]]:
        """start → (play, then pause/resume or seek)* → stop (abandoned) or finish."""
        rng, session_id = self.rng, self.uuid()
        quit_at = rng.randint(60, film.duration_s * 4 // 5) if rng.random() < ABANDON_SHARE else None
        position, seq = 0, 0

        def event(kind: str) -> dict[str, Any]:
            nonlocal seq
            seq += 1
            return {
                "event_id": self.uuid(),
                "session_id": session_id,
                "seq": seq,
                "viewer_id": viewer.viewer_id,
                "film_id": film.film_id,
                "event_type": kind,
                "position_s": position,
                "event_time": at.isoformat(),
            }

        yield event("start")
        while True:
            chunk = rng.randint(300, 2400)
            limit = quit_at if quit_at is not None else film.duration_s
            if position + chunk >= limit:
                at += timedelta(seconds=limit - position)
                position = limit
                yield event("stop" if quit_at is not None else "finish")
                return
            at += timedelta(seconds=chunk)
            position += chunk
            action = rng.random()
            if action < 0.5:  # a pause of 20 s .. 10 min
                yield event("pause")
                at += timedelta(seconds=rng.randint(20, 600))
                yield event("resume")
            elif action < 0.7:  # a seek while playing: back to rewatch, or forward to skip
                yield event("seek")
                position = max(0, min(limit - 1, position + rng.randint(-300, 600)))
                at += timedelta(seconds=1)


def hostile_rows(viewer_id: str, film_id: str, seed: int) -> dict[str, bytes]:
    """One row for each way a row is refused (name → raw JSON); each must end in the dead-letter table."""
    rng = random.Random(seed)

    def uid() -> str:
        return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))

    def row(**changes: Any) -> bytes:
        base = {
            "event_id": uid(),
            "session_id": uid(),
            "seq": 1,
            "viewer_id": viewer_id,
            "film_id": film_id,
            "event_type": "start",
            "position_s": 0,
            "event_time": "2026-03-01T20:00:00+00:00",
        }
        base.update(changes)
        return encode({k: v for k, v in base.items() if v is not None})

    twice = uid()
    return {
        "not_json": b'{"event_id": ',
        "unknown_type": row(event_type="rewind"),
        "negative_position": row(position_s=-5),
        "fractional_seq": row(seq=1.5),
        "missing_film": row(film_id=None),
        "bad_time": row(event_time="2026-02-30T20:00:00Z"),
        "nul_in_type": row(event_type="sto\u0000p"),
        "unknown_viewer": row(viewer_id=uid()),
        "unknown_film": row(film_id=uid()),
        "duplicate_seq_first": row(session_id=twice),  # stored: the next one repeats its (session_id, seq)
        "duplicate_seq": row(session_id=twice),
    }


HOSTILE_STORED = ("duplicate_seq_first",)  # rows of hostile_rows() that are valid and stored


def write_catalogue(conn: Any, gen: Generator) -> None:
    """Viewers and films (reference rows, written directly: the generator made them; a rerun keeps them)."""
    with conn, conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO cinema_viewers (viewer_id, name, country, signed_up_at) VALUES %s ON CONFLICT DO NOTHING",
            [(v.viewer_id, v.name, v.country, v.signed_up_at) for v in gen.viewers],
        )
        execute_values(
            cur,
            "INSERT INTO cinema_films (film_id, title, genre, duration_s, release_year) VALUES %s "
            "ON CONFLICT DO NOTHING",
            [(f.film_id, f.title, f.genre, f.duration_s, f.release_year) for f in gen.films],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.cinema.generator", description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=40, help="viewers (default 40)")
    parser.add_argument("--films", type=int, default=25, help="films in the catalogue (default 25)")
    parser.add_argument("--days", type=int, default=14, help="days of simulated history (default 14)")
    parser.add_argument("--start", default="2026-03-01", help="first simulated day, UTC (default 2026-03-01)")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed")
    parser.add_argument("--hostile", action="store_true", help="append the hostile rows (dead-letter table)")
    args = parser.parse_args(argv)
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    gen = Generator(args.seed, args.viewers, args.films, args.days, start)
    pg = load(PostgresSettings)
    conn = psycopg2.connect(pg.dsn())
    try:
        write_catalogue(conn, gen)
        raws: list[bytes] = [encode(event) for event in gen.sessions()]
        generated = len(raws)
        hostile = hostile_rows(gen.viewers[0].viewer_id, gen.films[0].film_id, args.seed) if args.hostile else {}
        counts = store.load(conn, [*raws, *hostile.values()])
    finally:
        conn.close()
    print(
        f"[cinema-generator] {generated} events of {args.viewers} viewers over {args.days} days: "
        f"{counts.loaded} loaded, {counts.duplicates} duplicates, {counts.dead} dead letters {counts.reasons}"
    )
    summary(
        "cinema-generator",
        generated=generated,
        hostile=len(hostile),
        hostile_stored=len([n for n in hostile if n in HOSTILE_STORED]),
        loaded=counts.loaded,
        duplicates=counts.duplicates,
        dead=counts.dead,
        reasons=counts.reasons,
    )
    return 0


if __name__ == "__main__":
    run(main, "cinema-generator")
