"""The bet contract's verdict, faster: :func:`parse_bet_fast` gives exactly :func:`jobs.bets.contract.parse_bet`'s
verdict (the same :class:`~jobs.bets.contract.Bet`, or :class:`~jobs.common.rules.InvalidEvent` with the same code
and message) for any message.

Two shortcuts, each of which only ever *accepts* what the reference accepts:

- The common message is decoded by msgspec (:func:`jobs.common.fast_json.fast_object`, which only ever returns the
  object the reference decoder would return).
- The field rules run with remembered verdicts (:func:`bet_from_remembered`). ``user_id``, ``game``, ``currency``,
  ``amount`` and ``odds`` repeat across a stream (the bench's 50,000 events have 216 games and 1,104 odds), and each
  of their rules is a pure function of the value: of the string for the text rules, of the *number* for the
  bounds and places of a decimal (``5.320`` passes or fails exactly as ``5.32`` does). A value the rule accepted
  once is accepted again without running it; any other value goes through the contract's own rule.

Anything the fast path declines, and any message a rule refuses, is judged again by
:func:`~jobs.bets.contract.parse_bet`, so every refusal and its reason come from the reference path.
``tests/unit/test_fast_json.py`` compares the two verdicts on generated hostile messages.

A module of its own because msgspec is in the app image only: the Flink job image imports ``jobs.bets.contract``
(for the bounds in its SQL) and must not need it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jobs.bets.contract import REQUIRED, STATUSES, Bet, amount_of, currency_of, odds_of, parse_bet
from jobs.common import rules
from jobs.common.fast_json import fast_object
from jobs.common.rules import InvalidEvent

_REMEMBERED = 1 << 16  # values per set: ~4 MB at most; a full set starts again empty


class Accepted:
    """Values one field rule has accepted (bounded: forgetting only costs the rule running again)."""

    def __init__(self) -> None:
        self.values: set[Any] = set()

    def learn(self, value: Any) -> Any:
        if len(self.values) >= _REMEMBERED:
            self.values.clear()
        self.values.add(value)
        return value


_TEXTS, _CURRENCIES, _AMOUNTS, _ODDS = Accepted(), Accepted(), Accepted(), Accepted()


def bet_from_remembered(event: dict[str, Any]) -> Bet:
    """:func:`jobs.bets.contract.bet_from`'s Bet for an event it accepts, running only the rules whose value was not
    accepted before; raises :class:`InvalidEvent` (from a contract rule, not necessarily the reference's first one)
    on any breach."""
    user_id, game, currency, status = event["user_id"], event["game"], event["currency"], event["status"]
    amount, odds = event["amount"], event["odds"]
    if type(user_id) is not str or user_id not in _TEXTS.values:
        _TEXTS.learn(rules.text(event, "user_id"))
    if type(game) is not str or game not in _TEXTS.values:
        _TEXTS.learn(rules.text(event, "game"))
    if type(currency) is not str or currency not in _CURRENCIES.values:
        _CURRENCIES.learn(currency_of(event))
    if type(status) is not str or status not in STATUSES:
        rules.one_of(event, "status", STATUSES)
    # Only an exact Decimal is looked up: True == 1 == Decimal(1) in Python, and an int becomes a Decimal below.
    if type(amount) is not Decimal or amount not in _AMOUNTS.values:
        amount = _AMOUNTS.learn(amount_of(event))
    if type(odds) is not Decimal or odds not in _ODDS.values:
        odds = _ODDS.learn(odds_of(event))
    extra = None if len(event) == len(REQUIRED) else {k: v for k, v in event.items() if k not in REQUIRED}
    # Positional, in Bet's field order: a NamedTuple built from keywords costs ~1 µs more per message.
    bet_id, event_time = rules.uuid(event, "bet_id"), rules.event_time(event)
    return Bet(bet_id, user_id, game, amount, currency, odds, status, event_time, extra or None)


def parse_bet_fast(raw: bytes | str | None) -> Bet:
    """:func:`jobs.bets.contract.parse_bet`'s verdict for ``raw``, decoded by msgspec when it can be."""
    event = fast_object(raw, REQUIRED)
    if event is not None:
        try:
            return bet_from_remembered(event)
        except InvalidEvent:
            pass  # the reference path below gives the refusal and its reason
    return parse_bet(raw)
