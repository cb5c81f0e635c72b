"""The bet contract's verdict, faster: :func:`parse_bet_fast` gives exactly :func:`jobs.bets.contract.parse_bet`'s
verdict (the same :class:`~jobs.bets.contract.Bet`, or :class:`~jobs.common.rules.InvalidEvent` with the same code
and message) for any message.

The common message is decoded by msgspec (:func:`jobs.common.fast_json.fast_object`, which only ever returns the
object the reference decoder would return) and goes through the contract's own field rules
(:func:`~jobs.bets.contract.bet_from`); anything the fast path declines, and any message a field rule refuses, is
judged again by :func:`~jobs.bets.contract.parse_bet`, so every refusal and its reason come from the reference path.

A module of its own because msgspec is in the app image only: the Flink job image imports ``jobs.bets.contract``
(for the bounds in its SQL) and must not need it.
"""

from __future__ import annotations

from jobs.bets.contract import REQUIRED, Bet, bet_from, parse_bet
from jobs.common.fast_json import fast_object
from jobs.common.rules import InvalidEvent


def parse_bet_fast(raw: bytes | str | None) -> Bet:
    """:func:`jobs.bets.contract.parse_bet`'s verdict for ``raw``, decoded by msgspec when it can be."""
    event = fast_object(raw, REQUIRED)
    if event is not None:
        try:
            return bet_from(event)
        except InvalidEvent:
            pass  # the reference path below gives the refusal and its reason
    return parse_bet(raw)
