"""The cinema viewing-event contract (seed 004, docs/cinema.md): one row of ``cinema_events`` as the generator or
a replay hands it to the OLTP loader.

| field | rule |
|---|---|
| ``event_id`` | UUID, unique per event (a replayed row with a known id is a duplicate, not a second event) |
| ``session_id`` | UUID of the viewing session the event belongs to |
| ``seq`` | whole number 1..:data:`MAX_SEQ`, the event's place in its session (unique per session) |
| ``viewer_id``, ``film_id`` | UUIDs of rows in ``cinema_viewers`` / ``cinema_films`` (checked by the database) |
| ``event_type`` | one of :data:`EVENT_TYPES` |
| ``position_s`` | whole seconds into the film, 0..:data:`MAX_POSITION_S` |
| ``event_time`` | ISO-8601 with offset, calendar-valid, 1970..2099 UTC (the platform's rule) |

Plus the platform's message rules (``jobs.common.rules``). A row that breaks them goes to ``cinema_dead_letters``
with the stable reason code of :class:`~jobs.common.rules.InvalidEvent` (``jobs.cinema.store``).

Session semantics (what the marts and the audit count): ``start`` and ``resume`` put the player in *playing*,
``pause`` in *paused*, ``seek`` keeps the state it found, ``stop`` (viewer gave up) and ``finish`` (reached the
credits) end the session. Watched time is the wall time spent in *playing* between consecutive events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobs.common import rules

EVENT_TYPES = ("start", "pause", "resume", "seek", "stop", "finish")
PLAYING_AFTER = ("start", "resume")  # the event types after which the player plays (seek keeps the state)
ENDING = ("stop", "finish")
MAX_SEQ = 100_000
MAX_POSITION_S = 86_400  # a day: no film is longer
FIELDS = ("event_id", "session_id", "seq", "viewer_id", "film_id", "event_type", "position_s", "event_time")


@dataclass(frozen=True)
class ViewingEvent:
    event_id: str
    session_id: str
    seq: int
    viewer_id: str
    film_id: str
    event_type: str
    position_s: int
    event_time: datetime

    def row(self) -> tuple[Any, ...]:
        """The values in :data:`FIELDS` order (the column order of ``cinema_events``)."""
        return tuple(getattr(self, name) for name in FIELDS)


def whole(event: dict[str, Any], name: str, high: int, low: int = 0) -> int:
    """A JSON number that is a whole value in [low, high] (12.0 is accepted as 12, 12.5 is refused)."""
    value = rules.bounded(name, rules.number(event, name), low, high)
    if value != value.to_integral_value():
        raise rules.InvalidEvent("bad_value", name, f"must be a whole number, got {value}")
    return int(value)


def parse_event(raw: bytes | str | None) -> ViewingEvent:
    """The validated event of one raw JSON row; raises :class:`~jobs.common.rules.InvalidEvent` with a reason."""
    event = rules.json_object(raw, FIELDS)
    return ViewingEvent(
        event_id=rules.uuid(event, "event_id"),
        session_id=rules.uuid(event, "session_id"),
        seq=whole(event, "seq", MAX_SEQ, low=1),
        viewer_id=rules.uuid(event, "viewer_id"),
        film_id=rules.uuid(event, "film_id"),
        event_type=rules.one_of(event, "event_type", EVENT_TYPES),
        position_s=whole(event, "position_s", MAX_POSITION_S),
        event_time=rules.event_time(event, "event_time"),
    )
