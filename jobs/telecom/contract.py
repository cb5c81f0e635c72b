"""The telecom event contract (seed 002, docs/telecom.md): fields, validation, masking, and its Flink verdict.

One definition shared by the generator, the Flink job, the audit and the tests. Kafka topic ``telecom_events``
(3 partitions), key = the masked subscriber, value = UTF-8 JSON object:

| field | rule |
|---|---|
| ``event_id`` | UUID, unique per event |
| ``event_type`` | ``data_session`` / ``call`` / ``sms`` / ``balance_recharge`` |
| ``subscriber_id`` | the *masked* subscriber: 16 lower-case hex digits, never a number (:func:`mask_msisdn`) |
| ``direction`` | ``incoming`` / ``outgoing`` for call and sms; absent or null otherwise |
| ``region`` | one of :data:`REGIONS` |
| ``duration`` | whole seconds ≥ 0; > 0 for call and data_session, 0 otherwise |
| ``data_mb`` | megabytes, ≥ 0, at most 3 decimals; > 0 for data_session, 0 otherwise |
| ``amount`` | tenge (KZT), ≥ 0, at most 2 decimals; > 0 for balance_recharge, 0 otherwise |
| ``event_time`` | ISO-8601 with offset, calendar-valid, 1970..2099 UTC (the platform's rule, as for bets) |

Plus the platform's message rules (docs/design.md, "Contract rules"): strict UTF-8, one JSON object nested at most
8 deep, no duplicate keys, no ``\\u0000`` or lone-surrogate escapes, numbers of at most 15 digits.

Masking rule: ``subscriber_id = HMAC-SHA256(key, digits of the E.164 number)[:16 hex]``. The key is a secret
(``BROOK_TELECOM_MASK_KEY``), so the number cannot be recovered by hashing all ~10^10 candidates, while the same
subscriber always maps to the same id: per-subscriber ordering (Kafka key) and distinct counts keep working.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from jobs.common import rules
from jobs.common.rules import InvalidEvent
from jobs.flink import verdict

TELECOM_PARTITIONS = 3
EVENT_TYPES = ("data_session", "call", "sms", "balance_recharge")
DIRECTIONS = ("incoming", "outgoing")
WITH_DIRECTION = ("call", "sms")
WITH_DURATION = ("call", "data_session")
WITH_DATA = ("data_session",)
WITH_AMOUNT = ("balance_recharge",)
REGIONS = (
    "Almaty",
    "Astana",
    "Shymkent",
    "Karaganda",
    "Aktobe",
    "Atyrau",
    "Pavlodar",
    "Ust-Kamenogorsk",
    "Taraz",
    "Kostanay",
    "Kyzylorda",
    "Aktau",
    "Semey",
    "Petropavl",
)
ALL_REGIONS = "ALL"  # daily_stats: the row over every region (never a region name)
MOST_ACTIVE = "most_active"  # daily_stats: event_type of the row naming the day's busiest region
REQUIRED = ("event_id", "event_type", "subscriber_id", "region", "duration", "data_mb", "amount", "event_time")
DATA_PLACES = 3
AMOUNT_PLACES = 2
MAX_DURATION = 86_400 * 7  # seconds; a week-long session is a broken record
MAX_DATA_MB = Decimal("999999999.999")
MAX_AMOUNT = Decimal("9999999999.99")
SUBSCRIBER_PATTERN = "[0-9a-f]{16}"  # a body: matched against the whole value (jobs.common.rules)
_SUBSCRIBER = rules.full(SUBSCRIBER_PATTERN)


def mask_msisdn(msisdn: str, key: bytes) -> str:
    """The masked subscriber id of a phone number (any formatting; only its digits count)."""
    digits = "".join(ch for ch in msisdn if ch.isdigit())
    if not digits:
        raise ValueError("a phone number needs digits")
    if not key:
        raise ValueError("the masking key must not be empty")
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:16]


class TelecomEvent(NamedTuple):
    """A valid telecom event, normalised (lower-case UUID, Decimal numbers, UTC event time)."""

    event_id: str
    event_type: str
    subscriber_id: str
    direction: str | None
    region: str
    duration: int
    data_mb: Decimal
    amount: Decimal
    event_time: datetime


def _number(event: dict[str, Any], name: str, places: int, cap: Decimal, positive: bool) -> Decimal:
    number = rules.bounded(name, rules.number(event, name), 0, cap)
    rules.places(name, number, places)
    if positive != (number > 0):
        rule = "> 0" if positive else "0"
        raise InvalidEvent("bad_value", name, f"must be {rule} for event_type {event['event_type']}, got {number}")
    return number


def parse_telecom(raw: bytes | str | None) -> TelecomEvent:
    """Parse and validate one Kafka message value; raise :class:`InvalidEvent` (bets' reason codes) on a breach."""
    event = rules.json_object(raw, REQUIRED)
    event_id = rules.uuid(event, "event_id")
    kind = rules.one_of(event, "event_type", EVENT_TYPES)
    subscriber = rules.matching(event, "subscriber_id", _SUBSCRIBER, "a masked id (16 hex digits), not a raw number")
    region = rules.one_of(event, "region", REGIONS)
    direction = event.get("direction")
    if kind in WITH_DIRECTION and direction not in DIRECTIONS:
        raise InvalidEvent("bad_value", "direction", f"must be incoming or outgoing for {kind}, got {direction!r}")
    if kind not in WITH_DIRECTION and direction is not None:
        raise InvalidEvent("bad_value", "direction", f"must be absent for {kind}")
    duration = _number(event, "duration", 0, Decimal(MAX_DURATION), kind in WITH_DURATION)
    return TelecomEvent(
        event_id=event_id,
        event_type=kind,
        subscriber_id=subscriber,
        direction=direction,
        region=region,
        duration=int(duration),
        data_mb=_number(event, "data_mb", DATA_PLACES, MAX_DATA_MB, kind in WITH_DATA),
        amount=_number(event, "amount", AMOUNT_PLACES, MAX_AMOUNT, kind in WITH_AMOUNT),
        event_time=rules.event_time(event),
    )


encode_event = rules.encode


# --- the same contract in Flink: Brook's verdict function (jobs.flink.verdict) with these bounds -----------------
CONTRACT = verdict.FlinkContract(
    (
        verdict.uuid("event_id"),
        verdict.one_of("event_type", EVENT_TYPES),
        verdict.matching("subscriber_id", SUBSCRIBER_PATTERN),
        verdict.one_of("region", REGIONS),
        verdict.when(verdict.one_of("direction", DIRECTIONS), "event_type", WITH_DIRECTION),
        verdict.number("duration", 0, MAX_DURATION, 0, positive_when=("event_type", WITH_DURATION)),
        verdict.number("data_mb", 0, MAX_DATA_MB, DATA_PLACES, positive_when=("event_type", WITH_DATA)),
        verdict.number("amount", 0, MAX_AMOUNT, AMOUNT_PLACES, positive_when=("event_type", WITH_AMOUNT)),
        verdict.event_time(),
    )
)


def source_ddl(name: str, with_clause: str, watermark_delay_seconds: int, metadata: tuple[str, ...] = ()) -> str:
    """A Kafka source of raw telecom messages with the event-time attribute ``ts`` (-1 ms for an invalid one), for
    a TableEnvironment of ``jobs.flink.environment.table_environment`` (it registers the verdict function)."""
    return CONTRACT.source_ddl(name, with_clause, watermark_delay_seconds, metadata=metadata)


def valid_events_view(source: str, carry: tuple[str, ...] = ()) -> str:
    """Contract-valid events, typed (duration BIGINT seconds, data_mb/amount exact decimals).

    ``carry`` names further source columns to pass through (tests carry the Kafka offset)."""
    value = CONTRACT.value
    columns = [
        f"{value('event_id')} AS event_id",
        f"{value('event_type')} AS event_type",
        f"{value('subscriber_id')} AS subscriber_id",
        f"{value('region')} AS region",
        f"CAST({value('duration')} AS BIGINT) AS duration",
        f"CAST({value('data_mb')} AS DECIMAL(18, {DATA_PLACES})) AS data_mb",
        f"CAST({value('amount')} AS DECIMAL(18, {AMOUNT_PLACES})) AS amount",
        "ts",
        *carry,
    ]
    return f"SELECT {', '.join(columns)} FROM ({CONTRACT.accepted(source, carry)})"
