"""The telecom event contract (seed 002, docs/telecom.md): fields, validation, masking, and its Flink SQL twin.

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
| ``event_time`` | ISO-8601 with offset (the bets contract's pattern) |

Masking rule: ``subscriber_id = HMAC-SHA256(key, digits of the E.164 number)[:16 hex]``. The key is a secret
(``BROOK_TELECOM_MASK_KEY``), so the number cannot be recovered by hashing all ~10^10 candidates, while the same
subscriber always maps to the same id: per-subscriber ordering (Kafka key) and distinct counts keep working.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from jobs.contract import flink_sql
from jobs.contract.bets import (
    EVENT_TIME_PATTERN,
    UUID_PATTERN,
    InvalidEvent,
    _event_time,
    _loads,
    _text,
    encode_bet,
)

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
SUBSCRIBER_PATTERN = r"^[0-9a-f]{16}$"
_SUBSCRIBER = re.compile(SUBSCRIBER_PATTERN)
_UUID = re.compile(UUID_PATTERN)


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
    value = event[name]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidEvent("wrong_type", name, f"must be a JSON number, got {type(value).__name__}")
    number = Decimal(value)
    if number < 0 or number > cap:
        raise InvalidEvent("bad_value", name, f"must be between 0 and {cap}, got {number}")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise InvalidEvent("bad_value", name, f"at most {places} decimals, got {number}")
    if positive != (number > 0):
        rule = "> 0" if positive else "0"
        raise InvalidEvent("bad_value", name, f"must be {rule} for event_type {event['event_type']}, got {number}")
    return number


def parse_telecom(raw: bytes | str | None) -> TelecomEvent:
    """Parse and validate one Kafka message value; raise :class:`InvalidEvent` (bets' reason codes) on a breach."""
    if raw is None:
        raise InvalidEvent("invalid_json", None, "empty message (null value)")
    event = _loads(raw)
    if not isinstance(event, dict):
        raise InvalidEvent("not_object", None, f"must be a JSON object, got {type(event).__name__}")
    missing = [name for name in REQUIRED if event.get(name) is None]
    if missing:
        raise InvalidEvent("missing_field", missing[0], f"required (missing: {', '.join(missing)})")
    event_id = _text(event, "event_id")
    if not _UUID.match(event_id):
        raise InvalidEvent("bad_value", "event_id", f"must be a UUID, got {event_id!r}")
    kind = _text(event, "event_type")
    if kind not in EVENT_TYPES:
        raise InvalidEvent("bad_value", "event_type", f"must be one of {', '.join(EVENT_TYPES)}, got {kind!r}")
    subscriber = _text(event, "subscriber_id")
    if not _SUBSCRIBER.match(subscriber):
        raise InvalidEvent("bad_value", "subscriber_id", "must be a masked id (16 hex digits), not a raw number")
    region = _text(event, "region")
    if region not in REGIONS:
        raise InvalidEvent("bad_value", "region", f"unknown region {region!r}")
    direction = event.get("direction")
    if kind in WITH_DIRECTION and direction not in DIRECTIONS:
        raise InvalidEvent("bad_value", "direction", f"must be incoming or outgoing for {kind}, got {direction!r}")
    if kind not in WITH_DIRECTION and direction is not None:
        raise InvalidEvent("bad_value", "direction", f"must be absent for {kind}")
    duration = _number(event, "duration", 0, Decimal(MAX_DURATION), kind in WITH_DURATION)
    return TelecomEvent(
        event_id=event_id.lower(),
        event_type=kind,
        subscriber_id=subscriber,
        direction=direction,
        region=region,
        duration=int(duration),
        data_mb=_number(event, "data_mb", DATA_PLACES, MAX_DATA_MB, kind in WITH_DATA),
        amount=_number(event, "amount", AMOUNT_PLACES, MAX_AMOUNT, kind in WITH_AMOUNT),
        event_time=_event_time(event),
    )


# The bets serialiser is event-agnostic (compact UTF-8 JSON, Decimals as JSON numbers): the same bytes rules.
encode_event = encode_bet


# --- the same contract in Flink SQL ------------------------------------------------------------------------------
# Every source column is a STRING (as for bets), so the rules below see the text the generator wrote.
_q = flink_sql._sql_string
_NUMBER = flink_sql._NUMBER


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(_q(v) for v in values)})"


def _amount_rule(column: str, places: int, cap: Decimal | int, kinds: tuple[str, ...]) -> str:
    value = f"CAST({column} AS DECIMAL(38, 10))"
    return (
        f"REGEXP({column}, {_q(_NUMBER)}) AND {value} >= 0 AND {value} <= {cap} AND "
        f"{flink_sql._places_ok(column, places)} AND ({value} > 0) = ({_in('event_type', kinds)})"
    )


SOURCE_COLUMNS = ",\n  ".join(f"`{name}` STRING" for name in (*REQUIRED, "direction"))
VALID_PREDICATE = " AND ".join(
    [
        *(f"`{name}` IS NOT NULL" for name in REQUIRED),
        f"REGEXP(event_id, {_q(UUID_PATTERN)})",
        _in("event_type", EVENT_TYPES),
        f"REGEXP(subscriber_id, {_q(SUBSCRIBER_PATTERN)})",
        _in("region", REGIONS),
        f"(({_in('event_type', WITH_DIRECTION)} AND {_in('direction', DIRECTIONS)}) OR "
        f"(NOT {_in('event_type', WITH_DIRECTION)} AND direction IS NULL))",
        _amount_rule("duration", 0, MAX_DURATION, WITH_DURATION),
        _amount_rule("data_mb", DATA_PLACES, MAX_DATA_MB, WITH_DATA),
        _amount_rule("amount", AMOUNT_PLACES, MAX_AMOUNT, WITH_AMOUNT),
        f"REGEXP(event_time, {_q(EVENT_TIME_PATTERN)})",
    ]
)


def interval(seconds: int) -> str:
    """A Flink SQL interval literal of any length: ``INTERVAL 'n' SECOND`` is capped at 99 s (SECOND(2))."""
    days, rest = divmod(seconds, 86_400)
    return f"INTERVAL '{days} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}' DAY TO SECOND"


def source_ddl(name: str, with_clause: str, watermark_delay_seconds: int) -> str:
    """A Kafka JSON source of raw telecom events with the event-time attribute ``ts`` and its watermark."""
    return (
        f"CREATE TEMPORARY TABLE {name} (\n  {SOURCE_COLUMNS},\n  ts AS {flink_sql.EVENT_TS},\n"
        f"  WATERMARK FOR ts AS ts - {interval(watermark_delay_seconds)}\n) {with_clause}"
    )


def valid_events_view(source: str) -> str:
    """Contract-valid events, typed (duration BIGINT seconds, data_mb/amount exact decimals)."""
    return (
        "SELECT LOWER(event_id) AS event_id, event_type, subscriber_id, region, "
        "CAST(CAST(duration AS DECIMAL(38, 10)) AS BIGINT) AS duration, "
        f"CAST(data_mb AS DECIMAL(18, {DATA_PLACES})) AS data_mb, "
        f"CAST(amount AS DECIMAL(18, {AMOUNT_PLACES})) AS amount, ts FROM {source} WHERE {VALID_PREDICATE}"
    )
