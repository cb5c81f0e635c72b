"""The bet event contract (DESIGN §2.1): one validator shared by the consumer, the tests and the audit.

Any byte string either parses into a :class:`Bet` or raises :class:`~jobs.common.rules.InvalidEvent` whose
``code`` is a stable machine-readable reason (it goes into the dead-letter headers). The rules themselves (text,
numbers, event time) are the platform's (:mod:`jobs.common.rules`); this module names the fields and bounds.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from jobs.common import rules
from jobs.common.rules import InvalidEvent

BETS_PARTITIONS = 3  # topic bets: ≥ 3 so consumers and Flink sources can scale out (chart enforces the same)
STATUSES = ("placed", "won", "lost", "cancelled")
REQUIRED = ("bet_id", "user_id", "game", "amount", "currency", "odds", "status", "event_time")
MIN_ODDS = Decimal("1.01")
MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12,2)
MAX_ODDS = Decimal("99999999.9999")  # numeric(12,4)
AMOUNT_PLACES = 2
ODDS_PLACES = 4
CURRENCY_PATTERN = "[A-Z]{3}"  # a body: matched against the whole value (jobs.common.rules)
_CURRENCY = rules.full(CURRENCY_PATTERN)
_REQUIRED = frozenset(REQUIRED)  # the same names, for the per-message "extra field?" test

__all__ = ["Bet", "InvalidEvent", "encode_bet", "parse_bet"]


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


def amount_of(event: dict[str, Any]) -> Decimal:
    """The ``amount`` rule: a number in (0, MAX_AMOUNT] with at most AMOUNT_PLACES decimals."""
    value = rules.bounded("amount", rules.number(event, "amount"), 0, MAX_AMOUNT, low_inclusive=False)
    return rules.places("amount", value, AMOUNT_PLACES)


def odds_of(event: dict[str, Any]) -> Decimal:
    """The ``odds`` rule: a number in [MIN_ODDS, MAX_ODDS] with at most ODDS_PLACES decimals."""
    value = rules.bounded("odds", rules.number(event, "odds"), MIN_ODDS, MAX_ODDS)
    return rules.places("odds", value, ODDS_PLACES)


def currency_of(event: dict[str, Any]) -> str:
    """The ``currency`` rule: three upper-case letters."""
    return rules.matching(event, "currency", _CURRENCY, "3 upper-case letters (ISO-4217)")


def parse_bet(raw: bytes | str | None) -> Bet:
    """Parse and validate one Kafka message value; raise :class:`InvalidEvent` on any breach."""
    return bet_from(rules.json_object(raw, REQUIRED))


def bet_from(event: dict[str, Any]) -> Bet:
    """The field rules on a decoded message (:func:`jobs.common.rules.json_object`'s result, or the identical one
    of :mod:`jobs.bets.fast_contract`); raise :class:`InvalidEvent` on any breach."""
    bet_id = rules.uuid(event, "bet_id")
    currency = currency_of(event)
    status = rules.one_of(event, "status", STATUSES)
    extra = {k: v for k, v in event.items() if k not in _REQUIRED}
    return Bet(
        bet_id=bet_id,
        user_id=rules.text(event, "user_id"),
        game=rules.text(event, "game"),
        amount=amount_of(event),
        currency=currency,
        odds=odds_of(event),
        status=status,
        event_time=rules.event_time(event),
        payload=extra or None,
    )


encode_bet = rules.encode
