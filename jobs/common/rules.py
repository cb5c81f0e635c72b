"""Contract primitives every pipeline's event contract is built from: message, text, number and time rules.

A pipeline's contract (``jobs/<pipeline>/contract.py``) names its fields and composes these rules; the rules
themselves live here once, so that every pipeline judges bytes, text, numbers and timestamps the same way, and so
that their Flink SQL twins (:mod:`jobs.common.sql_rules`) have exactly one Python counterpart each.
A breach raises :class:`InvalidEvent` whose ``code`` is a stable, machine-readable reason (it goes into the
dead-letter headers) and whose message says what was wrong.

One verdict for any byte string (docs/design.md, "Contract rules"). Python, Flink SQL and Postgres are three
judges with different parsers; they agree because the contract only accepts what all three read the same way:

- *Message rules* are defined on the message text with regular expressions written in the subset that Python's
  ``re`` and Java's ``java.util.regex`` interpret identically, and Flink applies the very same expressions
  (``REGEXP``/``REGEXP_REPLACE``). They refuse what one judge would read differently: undecodable bytes, the
  ``\\u0000`` and lone-surrogate escapes Postgres cannot store, trailing data after the object (Jackson ignores it),
  nesting deeper than :data:`MAX_DEPTH` and numbers beyond :data:`MAX_DIGITS` digits or an exponent of ±99.
- *Field rules* are small and exact: a full-match pattern, a closed set, a decimal with bounds and places.
- Patterns are bodies matched against the *whole* value (``re.fullmatch`` here, ``^(?:…)\\z`` in Flink): ``$``
  means "end or before a final line break" in both engines, and Java counts more characters as line breaks.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# --- limits -------------------------------------------------------------------------------------------------------
TEXT_MAX = 256  # code points per free-text field: ≤ 1 KiB UTF-8, far below Postgres' ~2.7 KB btree entry limit
MAX_DEPTH = 8  # the root object is depth 1; deeper documents are refused before they are parsed
MAX_DIGITS = 15  # per JSON number: every number Brook accepts is exact as a double and as DECIMAL(38, 24)
MAX_EXPONENT = 99
TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)  # inclusive; windows and watermarks never see negative epochs
TIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive

# --- message rules (identical regular expressions on both sides) -------------------------------------------------
JSON_SPACE = "[ \\t\\n\\r]"  # RFC 8259 whitespace, nothing else
REPLACEMENT_CHAR = "\ufffd"  # what Flink's decoder puts where bytes are not UTF-8: refused in every judge
NON_U_ESCAPE = r"\\[^u]"  # every escape but \uXXXX, consumed left to right (so "\\u" is not an escape)
BAD_ESCAPE = (
    r"\\u0000"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)  # NUL and lone surrogates: valid JSON, but not text in Postgres (text or jsonb) nor in Flink's UTF-8 strings
ANY_ESCAPE = r"\\[\s\S]"
STRING_TOKEN = r'"[^"]*"'  # after ANY_ESCAPE is removed, a string has no inner quote
LONG_NUMBER = rf"[0-9]{{{MAX_DIGITS + 1},}}|[0-9.]{{{MAX_DIGITS + 2},}}|[eE][-+]?0*[1-9][0-9]{{2,}}"
INNERMOST = r"\{[^{}\[\]]*\}|\[[^{}\[\]]*\]"  # a container holding no container: collapsed to a scalar "0"
ONE_VALUE = f'{JSON_SPACE}*(?:0|""|[-+.0-9eE]+|true|false|null){JSON_SPACE}*'  # collapsed: one value, nothing after

# --- field patterns (bodies: matched against the whole value) ----------------------------------------------------
# Free text: no C0/C1 control, no DEL, no U+2028/U+2029 (line breaks to Java's regex and to JavaScript), no lone
# surrogate; 1..TEXT_MAX code points (both engines count a surrogate pair as one character).
TEXT_BODY = f"[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\ud800-\\udfff]{{1,{TEXT_MAX}}}"
# "Blank" = only these spaces (controls and line breaks are already refused); spelled out so both engines agree.
NOT_BLANK = "[^ \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000]"
UUID_BODY = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
NUMBER_BODY = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
ZERO_BODY = r"-?0(?:\.0+)?(?:[eE][-+]?[0-9]+)?"
_MONTH_DAY = (
    "(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8])"
)
_LEAP_YEAR = "19(?:[68][048]|[79][26])|20(?:[02468][048]|[13579][26])"  # 2100 is not a leap year
_DATE = f"(?:(?:19(?:69|[7-9][0-9])|20[0-9][0-9]|2100)-(?:{_MONTH_DAY})|(?:{_LEAP_YEAR})-02-29)"
# Calendar-valid date, 00-23 h, 00-59 min/s (no leap second), 1-6 fraction digits, Z or an offset within ±18:00.
EVENT_TIME_BODY = (
    f"{_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{{1,6}})?"
    "(?:Z|[+-](?:(?:0[0-9]|1[0-7]):[0-5][0-9]|18:00))"
)
EVENT_TIME_PATTERN = EVENT_TIME_BODY  # kept for callers that show the shape
UUID_PATTERN = UUID_BODY

_REPLACEMENT = REPLACEMENT_CHAR
_NON_U_ESCAPE = re.compile(NON_U_ESCAPE)
_BAD_ESCAPE = re.compile(BAD_ESCAPE)
_ANY_ESCAPE = re.compile(ANY_ESCAPE)
_STRING_TOKEN = re.compile(STRING_TOKEN)
_LONG_NUMBER = re.compile(LONG_NUMBER)
_INNERMOST = re.compile(INNERMOST)
_ONE_VALUE = re.compile(ONE_VALUE)
_TEXT = re.compile(TEXT_BODY)
_NOT_BLANK = re.compile(NOT_BLANK)
_EVENT_TIME = re.compile(EVENT_TIME_BODY)
_UUID = re.compile(UUID_BODY)


class InvalidEvent(ValueError):
    """A message that breaks a contract. ``code`` is short and stable, e.g. ``missing_field``."""

    def __init__(self, code: str, field: str | None, detail: str) -> None:
        self.code = code
        self.field = field
        super().__init__(f"{field}: {detail}" if field else detail)


def full(body: str) -> re.Pattern[str]:
    """A compiled field pattern; use it with :meth:`re.Pattern.fullmatch` (see the module docstring)."""
    return re.compile(body)


# --- the message --------------------------------------------------------------------------------------------------
def decode(raw: bytes | str | None) -> str:
    """The message as text: strict UTF-8 (no BOM, no other encoding guessed) without U+FFFD."""
    if raw is None:
        raise InvalidEvent("invalid_json", None, "empty message (null value)")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
    except UnicodeDecodeError as err:
        raise InvalidEvent("invalid_json", None, f"not UTF-8: {err.reason}") from None
    if _REPLACEMENT in text:
        raise InvalidEvent("invalid_json", None, "contains U+FFFD (indistinguishable from undecodable bytes)")
    return text


def skeleton(text: str) -> str:
    """The message with every string emptied: only structure, numbers and literals are left."""
    return _STRING_TOKEN.sub('""', _ANY_ESCAPE.sub("", text) if "\\" in text else text)


def collapsed(skel: str) -> str:
    """``skel`` with its innermost containers replaced by ``0``, :data:`MAX_DEPTH` times (or until none is left)."""
    for _ in range(MAX_DEPTH):
        skel, replaced = _INNERMOST.subn("0", skel)
        if not replaced:
            break
    return skel


def lexical(text: str) -> None:
    """The message rules: refuse what the three judges would read differently (module docstring)."""
    if "\\u" in text and _BAD_ESCAPE.search(_NON_U_ESCAPE.sub("", text)):
        raise InvalidEvent("invalid_json", None, "escapes \\u0000 or a lone surrogate (not storable as text)")
    skel = skeleton(text)
    if _LONG_NUMBER.search(skel):
        raise InvalidEvent(
            "bad_value", None, f"a number has more than {MAX_DIGITS} digits or an exponent beyond ±{MAX_EXPONENT}"
        )
    if not _ONE_VALUE.fullmatch(collapsed(skel)):
        raise InvalidEvent("invalid_json", None, f"must be one JSON value nested at most {MAX_DEPTH} deep")


def _reject_constant(name: str) -> Any:
    raise InvalidEvent("invalid_json", None, f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are unique (after unescaping): parsers disagree on which duplicate wins."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise InvalidEvent("invalid_json", None, f"duplicate key {dup!r}")
    return obj


def loads(raw: bytes | str | None) -> Any:
    """Decode one message: the message rules, then JSON with numbers as :class:`~decimal.Decimal` straight from the
    text (so "at most 2 decimals" is checked on what the producer wrote), NaN/Infinity and duplicate keys refused."""
    text = decode(raw)
    lexical(text)
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except InvalidEvent:
        raise
    except (ValueError, RecursionError) as err:
        raise InvalidEvent("invalid_json", None, f"not valid JSON: {err}") from None


def json_object(raw: bytes | str | None, required: tuple[str, ...]) -> dict[str, Any]:
    """The decoded JSON object of a message, with every ``required`` field present and not null."""
    event = loads(raw)
    if not isinstance(event, dict):
        raise InvalidEvent("not_object", None, f"must be a JSON object, got {type(event).__name__}")
    missing = [name for name in required if event.get(name) is None]
    if missing:
        raise InvalidEvent("missing_field", missing[0], f"required (missing: {', '.join(missing)})")
    return event


# --- fields -------------------------------------------------------------------------------------------------------
def string(event: dict[str, Any], name: str) -> str:
    """A JSON string (not a number, boolean, array or object)."""
    value = event[name]
    if not isinstance(value, str):
        raise InvalidEvent("wrong_type", name, f"must be a string, got {type(value).__name__}")
    return value


def text(event: dict[str, Any], name: str) -> str:
    """Free text: 1..TEXT_MAX allowed characters (no control characters or line breaks), not only spaces."""
    value = string(event, name)
    if not _TEXT.fullmatch(value):
        raise InvalidEvent(
            "bad_value", name, f"must be 1..{TEXT_MAX} characters without control characters or line breaks"
        )
    if not _NOT_BLANK.search(value):
        raise InvalidEvent("bad_value", name, "must not be blank")
    return value


def matching(event: dict[str, Any], name: str, pattern: re.Pattern[str], what: str) -> str:
    """A string field whose whole value matches ``pattern`` (``what`` names the expected shape in the error)."""
    value = string(event, name)
    if not pattern.fullmatch(value):
        raise InvalidEvent("bad_value", name, f"must be {what}, got {value[:64]!r}")
    return value


def one_of(event: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    """A string field from a closed set."""
    value = string(event, name)
    if value not in allowed:
        raise InvalidEvent("bad_value", name, f"must be one of {', '.join(allowed)}, got {value[:64]!r}")
    return value


def uuid(event: dict[str, Any], name: str) -> str:
    """A UUID in any case, normalised to lower case."""
    return matching(event, name, _UUID, "a UUID").lower()


def number(event: dict[str, Any], name: str) -> Decimal:
    """A JSON number (not a string holding one, not a boolean) as an exact Decimal."""
    value = event[name]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidEvent("wrong_type", name, f"must be a JSON number, got {type(value).__name__}")
    return value if type(value) is Decimal else Decimal(value)  # a Decimal is already exact: no copy per message


def bounded(name: str, value: Decimal, low: Decimal | int, high: Decimal | int, low_inclusive: bool = True) -> Decimal:
    """``value`` within [low, high] (or (low, high] when ``low_inclusive`` is false)."""
    if value < low or (value == low and not low_inclusive) or value > high:
        bracket = "[" if low_inclusive else "("
        raise InvalidEvent("bad_value", name, f"must be in {bracket}{low}, {high}], got {value}")
    return value


def places(name: str, value: Decimal, most: int) -> Decimal:
    """``value`` unless it has a significant digit beyond ``most`` decimals (12.500 is fine for 2)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -most and value != value.quantize(Decimal(1).scaleb(-most)):
        raise InvalidEvent("bad_value", name, f"at most {most} decimals, got {value}")
    return value


def event_time(event: dict[str, Any], name: str = "event_time") -> datetime:
    """ISO-8601 with a mandatory UTC offset (calendar-valid, see EVENT_TIME_BODY), in [TIME_MIN, TIME_MAX), in UTC."""
    value = string(event, name)
    if not _EVENT_TIME.fullmatch(value):
        raise InvalidEvent(
            "bad_value", name, f"not a valid yyyy-mm-ddThh:mm:ss[.ffffff](Z|±hh:mm) time: {value[:64]!r}"
        )
    parsed = datetime.fromisoformat(value).astimezone(UTC)
    if not TIME_MIN <= parsed < TIME_MAX:
        raise InvalidEvent("bad_value", name, f"must be in [{TIME_MIN:%Y-%m-%d}, {TIME_MAX:%Y-%m-%d}) UTC: {value!r}")
    return parsed


# --- writing ------------------------------------------------------------------------------------------------------
def encode(event: dict[str, Any]) -> bytes:
    """Serialise an event dict as producers send it (compact UTF-8 JSON, characters unescaped, Decimals exact)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=json_default).encode()


def json_default(value: Any) -> Any:
    """JSON for values the contracts produce: Decimal as a JSON number, datetime as ISO-8601.

    A non-integral Decimal goes through a double: exact for every number the contract accepts (at most
    :data:`MAX_DIGITS` digits, exponent within ±99, see :func:`lexical`)."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
