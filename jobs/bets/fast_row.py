"""The COPY row of an accepted bet, straight from the message's bytes: the consumer's fast path.

:func:`fast_row` returns exactly ``store.copy_row(parse_bet(raw))`` for the common message, and ``None`` for anything
else; the consumer then takes the reference path (:func:`jobs.bets.fast_contract.parse_bet_fast`, which gives a
refusal its reason). Like :mod:`jobs.common.fast_json` it only ever *accepts* what the reference accepts.

Why: the consumer's main thread is its critical path, and on the benchmark's messages it spent ~22 µs per message
decoding to a dict, building a :class:`~jobs.bets.contract.Bet` of Decimals and datetimes, and formatting them back
to text for COPY (bench/results/2026-11-29-consumer-rows.md). Here msgspec decodes into a fixed struct, and every
field's verdict and COPY text is remembered by the field's own text, so a repeated value costs one lookup:

- ``user_id``, ``game``, ``currency``: by the string (the contract's text and currency rules, COPY-escaped);
- ``amount``, ``odds``: by the number *as written* (``msgspec.Raw``), so ``5.320`` and ``5.32`` are remembered
  apart, as the reference keeps them apart;
- ``event_time``: by its seconds and offset, without the fraction (a stream has many events per second). The
  rule's pattern is a fixed 19-character date and time, an optional 1–6 digit fraction and an offset; the offset
  shifts by whole minutes and the range's ends are whole seconds, so the fraction changes neither the verdict nor
  the UTC seconds: it is appended as ``isoformat`` writes it;
- ``bet_id``: the contract's UUID pattern on every message (each one is new), lower-cased as the rule does;
- ``status``: the closed set.

The case it takes: :func:`~jobs.common.fast_json.plain_bytes` (no escapes, strict UTF-8 without U+FFFD); exactly the
eight contract fields, each a JSON value of the right type (msgspec refuses any other field, a missing one and a
wrong type: a message with extra fields has a payload, which the reference path renders); each key once, which the
quote count proves (8 keys and 6 string values: exactly 28 ``"``; a duplicate key or a string where a number belongs
adds two); numbers within the reference decoder's digit limits (:func:`~jobs.common.fast_json.exact_number`).

``tests/unit/test_fast_row.py`` checks on generated hostile messages that the row is the reference's, or ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from jobs.bets.contract import STATUSES, amount_of, currency_of, odds_of
from jobs.bets.store import escaped_text, row_text, timestamp_text
from jobs.common import rules
from jobs.common.fast_json import exact_number, plain_bytes
from jobs.common.rules import InvalidEvent

_REMEMBERED = 1 << 16  # values per table: a few MB at most; a full table starts again empty
_UUID = re.compile(rules.UUID_BODY)
_STATUSES = frozenset(STATUSES)
_NUMBER_START = frozenset(b"-0123456789")
# The rule's pattern, cut where the fraction may stand: 19 characters of date and time, the fraction, the offset.
_TIME_PARTS = re.compile(r"(.{19})(?:\.([0-9]{1,6}))?([Z+-].*)")
_UTC = len("+00:00")


class _Message(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The eight fields of :data:`~jobs.bets.contract.REQUIRED`; a number is kept as written. ``gc=False``: strings
    and raw bytes cannot form a cycle, so the collector need not track one struct per message."""

    bet_id: str
    user_id: str
    game: str
    amount: msgspec.Raw
    currency: str
    odds: msgspec.Raw
    status: str
    event_time: str


_DECODER = msgspec.json.Decoder(_Message)
# The `"` of a message holding each field once: two per key and two per string value.
_QUOTES = sum(2 + 2 * (field.type is str) for field in msgspec.structs.fields(_Message))


class _Remembered(dict[Any, str]):
    """Accepted values and their COPY text (bounded: forgetting only costs the rule running again)."""

    def learn(self, key: Any, text: str) -> str:
        if len(self) >= _REMEMBERED:
            self.clear()
        self[key] = text
        return text


_TEXTS, _CURRENCIES, _AMOUNTS, _ODDS, _SECONDS = (_Remembered() for _ in range(5))


def _text(name: str, value: str) -> str | None:
    """The COPY text of a free-text field the contract accepts, or None."""
    try:
        return _TEXTS.learn(value, escaped_text(rules.text({name: value}, name)))
    except InvalidEvent:
        return None


def _number(table: _Remembered, written: bytes, rule: Callable[[dict[str, Any]], Decimal], name: str) -> str | None:
    """The COPY text of a number the contract accepts (``rule``: amount_of or odds_of), or None."""
    if not written or written[0] not in _NUMBER_START:  # true, null, a string or a container: the reference judges
        return None
    value = exact_number(written.decode())
    if value is None:
        return None
    try:
        return table.learn(written, f"{rule({name: value})}")  # formatted as row_text formats copy_row's Decimal
    except InvalidEvent:
        return None


def _event_time(value: str) -> str | None:
    """The COPY text of an event time the contract accepts, or None (module docstring: the fraction)."""
    parts = _TIME_PARTS.fullmatch(value)
    if parts is None:
        return None
    head, fraction, offset = parts.groups()
    whole = _SECONDS.get(head + offset)
    if whole is None:
        try:
            moment = rules.event_time({"event_time": head + offset})
        except InvalidEvent:
            return None
        whole = _SECONDS.learn(head + offset, timestamp_text(moment))
    if not fraction or not fraction.strip("0"):
        return whole  # isoformat writes no fraction for zero microseconds
    return f"{whole[:-_UTC]}.{fraction:0<6}{whole[-_UTC:]}"


def fast_row(raw: object) -> str | None:
    """``store.copy_row(parse_bet(raw))`` when ``raw`` is the common message, else ``None`` (module docstring)."""
    if not plain_bytes(raw):
        return None
    try:
        message = _DECODER.decode(raw)
    except msgspec.MsgspecError:
        return None
    if raw.count(b'"') != _QUOTES or message.status not in _STATUSES or not _UUID.fullmatch(message.bet_id):
        return None
    user_id = _TEXTS.get(message.user_id) or _text("user_id", message.user_id)
    game = _TEXTS.get(message.game) or _text("game", message.game)
    currency = message.currency
    if currency not in _CURRENCIES:
        try:
            _CURRENCIES.learn(currency, currency_of({"currency": currency}))
        except InvalidEvent:
            return None
    amount, odds = bytes(message.amount), bytes(message.odds)
    amount_text = _AMOUNTS.get(amount) or _number(_AMOUNTS, amount, amount_of, "amount")
    odds_text = _ODDS.get(odds) or _number(_ODDS, odds, odds_of, "odds")
    event_time = _event_time(message.event_time)
    if user_id is None or game is None or amount_text is None or odds_text is None or event_time is None:
        return None
    bet_id = message.bet_id.lower()
    return row_text(bet_id, user_id, game, amount_text, currency, odds_text, message.status, event_time, "\\N")
