"""A compiled fast path for :func:`jobs.common.rules.json_object`: msgspec decodes the common message, the reference
decoder judges everything else.

Why: the reference decoder runs the message rules as several regular-expression passes over the text and then
``json.loads`` with a Python ``object_pairs_hook``; in the bets consumer that was the largest share of CPU per
message (bench/results/2026-11-28-consumer.md). msgspec (C) decodes the same message to the same Python values
several times faster and keeps numbers exact (``float_hook=Decimal`` gets the number's text as written).

The fast path only *accepts*; it never refuses. It returns the decoded object only for messages on which the
reference decoder provably returns the very same object, and ``None`` for anything else, so the caller falls back to
:func:`~jobs.common.rules.json_object`, which gives the verdict and its reason. The narrow case it takes:

- ``bytes`` without any backslash (no escapes: the escape rules cannot apply and every ``"`` delimits a string);
  non-ASCII bytes must be strict UTF-8 without U+FFFD (the rule of :func:`~jobs.common.rules.decode`);
- one JSON object (msgspec refuses trailing data, BOM, NaN/Infinity and non-RFC whitespace) whose values are all
  scalars: no container, so nesting is depth 1;
- no duplicate key: msgspec keeps the last of two equal keys silently, so the number of ``"`` in the message must
  be exactly two per key and per string value decoded (a duplicate leaves two more than the object accounts for);
- every number within :data:`~jobs.common.rules.MAX_DIGITS` digits and the exponent limit, checked with the same
  expression the reference decoder uses (:data:`~jobs.common.rules.LONG_NUMBER`) on the number's text;
- every ``required`` field present and not null.

``tests/unit/test_fast_json.py`` checks on generated hostile messages that the fast path either declines or returns
what the reference returns, and that the bets consumer's verdicts (accepted row or DLQ reason and message) are the
same either way.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, TypeGuard

import msgspec

from jobs.common.rules import LONG_NUMBER, MAX_DIGITS

_LONG = re.compile(LONG_NUMBER)
_INT_LIMIT = 10**MAX_DIGITS  # an integer of MAX_DIGITS + 1 digits is what LONG_NUMBER refuses


class _Declined(Exception):
    """Raised inside msgspec's number hook: the reference decoder must judge this message."""


def exact_number(text: str) -> int | Decimal | None:
    """The value the reference decoder gives the JSON number ``text`` (an int, or a Decimal of the text as written),
    or ``None`` for a number it refuses as too long (:data:`~jobs.common.rules.LONG_NUMBER`: it gives the reason).
    LONG_NUMBER needs more than MAX_DIGITS characters or an exponent, so a short number skips the expression."""
    fraction = "." in text or "e" in text or "E" in text
    if (len(text) > MAX_DIGITS or fraction) and _LONG.search(text):
        return None
    return Decimal(text) if fraction else int(text)


def _number(text: str) -> Decimal:
    """msgspec's hook for a number with a fraction or exponent: exact, or declined when too long."""
    value = exact_number(text)
    if value is None:
        raise _Declined(text)
    return value  # type: ignore[return-value]  # a fraction or exponent: always a Decimal


def plain_bytes(raw: object) -> TypeGuard[bytes]:
    """Whether ``raw`` is bytes without any backslash (no escapes) in strict UTF-8 without U+FFFD (the rule of
    :func:`jobs.common.rules.decode`): the messages msgspec reads exactly as the reference decoder does."""
    if type(raw) is not bytes or b"\\" in raw:
        return False
    if raw.isascii():
        return True
    try:
        return "\ufffd" not in raw.decode("utf-8")
    except UnicodeDecodeError:
        return False


_DECODER = msgspec.json.Decoder(dict, float_hook=_number)
_SCALARS = (int, Decimal, bool, type(None))


def fast_object(raw: object, required: tuple[str, ...]) -> dict[str, Any] | None:
    """The object :func:`jobs.common.rules.json_object` returns for ``raw``, or ``None`` when unsure (module doc)."""
    if not plain_bytes(raw):
        return None
    try:
        event: dict[str, Any] = _DECODER.decode(raw)
    except (msgspec.MsgspecError, _Declined, ValueError, ArithmeticError):
        return None
    strings = len(event)
    for value in event.values():
        kind = type(value)
        if kind is str:
            strings += 1
        elif kind is int:
            if not -_INT_LIMIT < value < _INT_LIMIT:
                return None
        elif kind not in _SCALARS:
            return None
    if raw.count(b'"') != 2 * strings:
        return None
    for name in required:
        if event.get(name) is None:
            return None
    return event
