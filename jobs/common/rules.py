"""Contract primitives every pipeline's event contract is built from: JSON decoding, text, number and time rules.

A pipeline's contract (``jobs/<pipeline>/contract.py``) names its fields and composes these rules; the rules
themselves live here once, so that every pipeline judges text, numbers and timestamps the same way, and so that
their Flink SQL twins (:mod:`jobs.common.sql_rules`) have exactly one Python counterpart each.
A breach raises :class:`InvalidEvent` whose ``code`` is a stable, machine-readable reason (it goes into the
dead-letter headers) and whose message says what was wrong.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# ISO-8601 with a mandatory offset, the one shape both Python and Flink SQL parse identically.
EVENT_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_EVENT_TIME = re.compile(EVENT_TIME_PATTERN)
_UUID = re.compile(UUID_PATTERN)


class InvalidEvent(ValueError):
    """A message that breaks a contract. ``code`` is short and stable, e.g. ``missing_field``."""

    def __init__(self, code: str, field: str | None, detail: str) -> None:
        self.code = code
        self.field = field
        super().__init__(f"{field}: {detail}" if field else detail)


def _reject_constant(name: str) -> Any:
    raise InvalidEvent("invalid_json", None, f"{name} is not a JSON number")


def loads(raw: bytes | str) -> Any:
    """Decode one message: UTF-8 JSON, numbers as :class:`~decimal.Decimal` straight from the text (so "at most
    2 decimals" is checked on what the producer wrote, not on a float approximation); NaN/Infinity refused."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except InvalidEvent:
        raise
    except UnicodeDecodeError as err:
        raise InvalidEvent("invalid_json", None, f"not UTF-8: {err.reason}") from None
    except ValueError as err:
        raise InvalidEvent("invalid_json", None, f"not valid JSON: {err}") from None


def json_object(raw: bytes | str | None, required: tuple[str, ...]) -> dict[str, Any]:
    """The decoded JSON object of a message, with every ``required`` field present and not null."""
    if raw is None:
        raise InvalidEvent("invalid_json", None, "empty message (null value)")
    event = loads(raw)
    if not isinstance(event, dict):
        raise InvalidEvent("not_object", None, f"must be a JSON object, got {type(event).__name__}")
    missing = [name for name in required if event.get(name) is None]
    if missing:
        raise InvalidEvent("missing_field", missing[0], f"required (missing: {', '.join(missing)})")
    return event


def text(event: dict[str, Any], name: str) -> str:
    """A non-blank JSON string."""
    value = event[name]
    if not isinstance(value, str):
        raise InvalidEvent("wrong_type", name, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidEvent("bad_value", name, "must not be empty")
    return value


def matching(event: dict[str, Any], name: str, pattern: re.Pattern[str], what: str) -> str:
    """A text field that matches ``pattern`` (``what`` names the expected shape in the error)."""
    value = text(event, name)
    if not pattern.match(value):
        raise InvalidEvent("bad_value", name, f"must be {what}, got {value!r}")
    return value


def one_of(event: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    """A text field from a closed set."""
    value = text(event, name)
    if value not in allowed:
        raise InvalidEvent("bad_value", name, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def uuid(event: dict[str, Any], name: str) -> str:
    """A UUID in any case, normalised to lower case."""
    return matching(event, name, _UUID, "a UUID").lower()


def number(event: dict[str, Any], name: str) -> Decimal:
    """A JSON number (not a string holding one, not a boolean) as an exact Decimal."""
    value = event[name]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidEvent("wrong_type", name, f"must be a JSON number, got {type(value).__name__}")
    return Decimal(value)


def places(name: str, value: Decimal, most: int) -> Decimal:
    """``value`` unless it has a significant digit beyond ``most`` decimals (12.500 is fine for 2)."""
    if value != value.quantize(Decimal(1).scaleb(-most)):
        raise InvalidEvent("bad_value", name, f"at most {most} decimals, got {value}")
    return value


def event_time(event: dict[str, Any], name: str = "event_time") -> datetime:
    """ISO-8601 with a mandatory UTC offset, returned in UTC."""
    value = text(event, name)
    if not _EVENT_TIME.match(value):
        raise InvalidEvent("bad_value", name, f"not ISO-8601 yyyy-mm-ddThh:mm:ss[.ffffff]+hh:mm|Z: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent("bad_value", name, f"not ISO-8601: {value!r}") from None
    if parsed.tzinfo is None:
        raise InvalidEvent("bad_value", name, f"needs a UTC offset (e.g. +00:00 or Z): {value!r}")
    return parsed.astimezone(UTC)


def encode(event: dict[str, Any]) -> bytes:
    """Serialise an event dict as producers send it (compact UTF-8 JSON; Decimals as JSON numbers)."""
    return json.dumps(event, separators=(",", ":"), default=json_default).encode()


def json_default(value: Any) -> Any:
    """JSON for values the contracts produce: Decimal as a JSON number, datetime as ISO-8601."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
