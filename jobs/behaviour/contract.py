"""The user-behaviour event contract (issue 14, docs/behaviour.md): one verdict for the gateway, Flink and the tests.

Kafka topic ``behaviour_events`` (3 partitions), key = ``user_id``, value = UTF-8 JSON object:

| field | rule |
|---|---|
| ``event_id`` | UUID (stored lower case), the idempotency key |
| ``user_id`` | free text (the platform's text rule: 1–256 code points, no controls, not blank) |
| ``session_hint`` | free text: the client's tab/session id (kept, not used for windowing) |
| ``event_type`` | one of :data:`EVENT_TYPES` |
| ``page`` | free text |
| ``product_id`` | absent or null, or free text |
| ``event_time`` | ISO-8601 with offset, calendar-valid, 1970..2099 UTC (the platform's rule) |

Plus the platform's message rules (docs/design.md, "Contract rules"): strict UTF-8, one JSON object nested at most
8 deep, no duplicate keys, no ``\\u0000`` or lone-surrogate escapes, numbers of at most 15 digits. A breach raises
:class:`~jobs.common.rules.InvalidEvent` with the platform's reason codes (``invalid_json``, ``not_object``,
``missing_field``, ``wrong_type``, ``bad_value``); the gateway sends that code back and into the dead-letter headers.

Funnel stages are ordinal (:data:`FUNNEL_STAGE`): browse (page_view, search) = 1, add_to_cart = 2, checkout = 3,
purchase = 4. ``jobs/behaviour/flink_sql.py`` gives the same contract to Flink's verdict function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from jobs.common import rules
from jobs.common.rules import InvalidEvent

BEHAVIOUR_PARTITIONS = 3  # topic behaviour_events: key = user_id, so one user's events keep their order
EVENT_TYPES = ("page_view", "search", "add_to_cart", "checkout", "purchase")
FUNNEL_STAGE: dict[str, int] = {"page_view": 1, "search": 1, "add_to_cart": 2, "checkout": 3, "purchase": 4}
BROWSE, CART, CHECKOUT, PURCHASE = 1, 2, 3, 4
REQUIRED = ("event_id", "user_id", "session_hint", "event_type", "page", "event_time")
OPTIONAL = ("product_id",)

__all__ = ["BehaviourEvent", "InvalidEvent", "encode_event", "parse_event"]


class BehaviourEvent(NamedTuple):
    """A valid behaviour event, normalised: lower-case UUID, UTC event time."""

    event_id: str
    user_id: str
    session_hint: str
    event_type: str
    page: str
    product_id: str | None
    event_time: datetime

    @property
    def funnel_stage(self) -> int:
        """The funnel stage this event reaches (1 browse … 4 purchase)."""
        return FUNNEL_STAGE[self.event_type]


def parse_event(raw: bytes | str | None) -> BehaviourEvent:
    """Parse and validate one message (a WebSocket frame or a Kafka value); raise :class:`InvalidEvent`."""
    event = rules.json_object(raw, REQUIRED)
    event_id = rules.uuid(event, "event_id")
    kind = rules.one_of(event, "event_type", EVENT_TYPES)
    return BehaviourEvent(
        event_id=event_id,
        user_id=rules.text(event, "user_id"),
        session_hint=rules.text(event, "session_hint"),
        event_type=kind,
        page=rules.text(event, "page"),
        product_id=rules.text(event, "product_id") if event.get("product_id") is not None else None,
        event_time=rules.event_time(event),
    )


def event_id_of(raw: bytes | str | None) -> str | None:
    """Best effort: the ``event_id`` string of a message that failed the contract (for the client's error frame and
    the dead-letter header), or None when there is none to name. Never raises."""
    try:
        value = rules.loads(raw)
    except (InvalidEvent, ValueError, TypeError):
        return None
    found = value.get("event_id") if isinstance(value, dict) else None
    return found if isinstance(found, str) and len(found) <= rules.TEXT_MAX else None


def to_dict(event: BehaviourEvent) -> dict[str, Any]:
    """The event as the JSON object producers write (``product_id`` omitted when absent)."""
    out = event._asdict()
    if out["product_id"] is None:
        del out["product_id"]
    return out


encode_event = rules.encode
