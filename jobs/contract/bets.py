"""The bet event contract (DESIGN §2.1): one validator shared by the consumer, the tests and the audit.

A raw Kafka value either parses into a :class:`Bet` or raises :class:`InvalidEvent` whose ``code`` is a stable
machine-readable reason (it goes into the dead-letter headers) and whose message says what was wrong.
Numbers are parsed as :class:`~decimal.Decimal` straight from the JSON text, so "at most 2 decimals" is checked on
what the producer wrote, not on a float approximation.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

BETS_PARTITIONS = 3  # topic bets: ≥ 3 so consumers and Flink sources can scale out (chart enforces the same)
STATUSES = ("placed", "won", "lost", "cancelled")
REQUIRED = ("bet_id", "user_id", "game", "amount", "currency", "odds", "status", "event_time")
MIN_ODDS = Decimal("1.01")
MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12,2)
MAX_ODDS = Decimal("99999999.9999")  # numeric(12,4)
AMOUNT_PLACES = 2
ODDS_PLACES = 4

# ISO-8601 with a mandatory offset, the one shape both Python and Flink SQL parse identically.
EVENT_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
_EVENT_TIME = re.compile(EVENT_TIME_PATTERN)
_UUID = re.compile(UUID_PATTERN)
_CURRENCY = re.compile(CURRENCY_PATTERN)


class InvalidEvent(ValueError):
    """A message that breaks the contract. ``code`` is short and stable, e.g. ``missing_field``."""

    def __init__(self, code: str, field: str | None, detail: str) -> None:
        self.code = code
        self.field = field
        super().__init__(f"{field}: {detail}" if field else detail)


class Bet(NamedTuple):
    """A valid bet, normalised: lowercase UUID, Decimal numbers, UTC event time, extra fields in ``payload``."""

    bet_id: str
    user_id: str
    game: str
    amount: Decimal
    currency: str
    odds: Decimal
    status: str
    event_time: datetime
    payload: dict[str, Any] | None


def _reject_constant(name: str) -> Any:
    raise InvalidEvent("invalid_json", None, f"{name} is not a JSON number")


def _loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except InvalidEvent:
        raise
    except UnicodeDecodeError as err:
        raise InvalidEvent("invalid_json", None, f"not UTF-8: {err.reason}") from None
    except ValueError as err:
        raise InvalidEvent("invalid_json", None, f"not valid JSON: {err}") from None


def _text(event: dict[str, Any], name: str) -> str:
    value = event[name]
    if not isinstance(value, str):
        raise InvalidEvent("wrong_type", name, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidEvent("bad_value", name, "must not be empty")
    return value


def _decimal(
    event: dict[str, Any], name: str, places: int, floor: Decimal, floor_allowed: bool, cap: Decimal
) -> Decimal:
    value = event[name]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidEvent("wrong_type", name, f"must be a JSON number, got {type(value).__name__}")
    number = Decimal(value)
    if number < floor or (number == floor and not floor_allowed):
        raise InvalidEvent("bad_value", name, f"must be {'>=' if floor_allowed else '>'} {floor}, got {number}")
    if number > cap:
        raise InvalidEvent("bad_value", name, f"must be <= {cap}, got {number}")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise InvalidEvent("bad_value", name, f"at most {places} decimals, got {number}")
    return number


def _event_time(event: dict[str, Any]) -> datetime:
    value = _text(event, "event_time")
    if not _EVENT_TIME.match(value):
        raise InvalidEvent("bad_value", "event_time", f"not ISO-8601 yyyy-mm-ddThh:mm:ss[.ffffff]+hh:mm|Z: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent("bad_value", "event_time", f"not ISO-8601: {value!r}") from None
    if parsed.tzinfo is None:
        raise InvalidEvent("bad_value", "event_time", f"needs a UTC offset (e.g. +00:00 or Z): {value!r}")
    return parsed.astimezone(UTC)


def parse_bet(raw: bytes | str | None) -> Bet:
    """Parse and validate one Kafka message value; raise :class:`InvalidEvent` on any breach."""
    if raw is None:
        raise InvalidEvent("invalid_json", None, "empty message (null value)")
    event = _loads(raw)
    if not isinstance(event, dict):
        raise InvalidEvent("not_object", None, f"must be a JSON object, got {type(event).__name__}")
    missing = [name for name in REQUIRED if name not in event or event[name] is None]
    if missing:
        raise InvalidEvent("missing_field", missing[0], f"required (missing: {', '.join(missing)})")
    bet_id = _text(event, "bet_id")
    if not _UUID.match(bet_id):
        raise InvalidEvent("bad_value", "bet_id", f"must be a UUID, got {bet_id!r}")
    currency = _text(event, "currency")
    if not _CURRENCY.match(currency):
        raise InvalidEvent("bad_value", "currency", f"must be 3 upper-case letters (ISO-4217), got {currency!r}")
    status = _text(event, "status")
    if status not in STATUSES:
        raise InvalidEvent("bad_value", "status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
    extra = {k: v for k, v in event.items() if k not in REQUIRED}
    return Bet(
        bet_id=bet_id.lower(),
        user_id=_text(event, "user_id"),
        game=_text(event, "game"),
        amount=_decimal(event, "amount", AMOUNT_PLACES, Decimal(0), False, MAX_AMOUNT),
        currency=currency,
        odds=_decimal(event, "odds", ODDS_PLACES, MIN_ODDS, True, MAX_ODDS),
        status=status,
        event_time=_event_time(event),
        payload=extra or None,
    )


def encode_bet(event: dict[str, Any]) -> bytes:
    """Serialise an event dict as the producer sends it (compact UTF-8 JSON; Decimals as JSON numbers)."""
    return json.dumps(event, separators=(",", ":"), default=json_default).encode()


def json_default(value: Any) -> Any:
    """JSON for values the contract produces: Decimal as a JSON number, datetime as ISO-8601."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
