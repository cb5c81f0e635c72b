"""Brook's Flink contract function (``dev.brook.flink.ContractVerdict``, jobs/flink/functions) gives every message
the verdict Python gives it, and reads every accepted bet as Python does: thousands of Hypothesis-generated hostile
messages (tests/message_strategies.py) plus every hostile case of tests/hostile_events.py, each judged by
``parse_bet`` and by the class the Flink jobs run, called in PyFlink's JVM with the spec the bets job passes.

The bounded Flink jobs of test_one_verdict.py and test_flink_contract.py hold the real job to the same, with
Flink's own decoding and windows, at ~20 s per job; this test has the breadth. Messages reach the function as
Flink's raw format hands them over: UTF-8, every malformed sequence replaced by U+FFFD (Python's "replace" and
Java's decoder may replace a sequence with a different number of U+FFFD; the contract refuses any).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.bets.contract import Bet, InvalidEvent, parse_bet
from jobs.bets.flink_sql import CONTRACT
from jobs.flink.settings import FUNCTIONS_JAR
from jobs.flink.verdict import JAVA_CLASS
from tests.hostile_events import hostile_bets, sequential_ids
from tests.message_strategies import messages, profile

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

SPEC = CONTRACT.spec()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def java_verdict(local_env: dict[str, str]) -> Iterator[Any]:
    """The function class from the jar of BROOK_FLINK_JARS (``make flink-jars``), instantiated in PyFlink's JVM
    on Flink's own classes, as a job loads it."""
    from pyflink.java_gateway import get_gateway

    jars = [jar for jar in local_env.get("BROOK_FLINK_JARS", "").split(":") if Path(jar).name == FUNCTIONS_JAR]
    assert jars, "BROOK_FLINK_JARS has no functions jar: run `make flink-jars`"
    gateway = get_gateway()
    urls = gateway.new_array(gateway.jvm.java.net.URL, 1)
    urls[0] = gateway.jvm.java.io.File(jars[0]).toURI().toURL()
    flink = gateway.jvm.Class.forName("org.apache.flink.table.functions.ScalarFunction").getClassLoader()
    loader = gateway.jvm.java.net.URLClassLoader(urls, flink)
    no_types = gateway.new_array(gateway.jvm.Class, 0)
    yield loader.loadClass(JAVA_CLASS).getConstructor(no_types).newInstance(gateway.new_array(gateway.jvm.Object, 0))


def python_verdict(raw: bytes | None) -> Bet | None:
    try:
        return parse_bet(raw)
    except InvalidEvent:
        return None


def java_row(function: Any, raw: bytes | None) -> tuple[Any, ...] | None:
    """The function's verdict on ``raw``, typed as the bets job's view types it (None: refused)."""
    values = function.eval(None if raw is None else raw.decode("utf-8", "replace"), SPEC)
    if values is None:
        return None
    bet_id, user_id, game, amount, currency, odds, status, millis = list(values)
    return (bet_id, user_id, game, Decimal(amount), currency, Decimal(odds), status, int(millis))


def python_row(bet: Bet) -> tuple[Any, ...]:
    """What the function must give for ``bet``: its event time as epoch milliseconds, floored (Python's windows)."""
    millis = (bet.event_time - EPOCH) // timedelta(milliseconds=1)
    return (bet.bet_id, bet.user_id, bet.game, bet.amount, bet.currency, bet.odds, bet.status, millis)


def assert_one_verdict(function: Any, raws: list[bytes | None]) -> None:
    for raw in raws:
        bet = python_verdict(raw)
        row = java_row(function, raw)
        assert (bet is None) == (row is None), f"Python {'accepts' if bet else 'refuses'} {raw!r}, Java does not"
        if bet is not None:
            assert row == python_row(bet), raw


def test_every_hostile_case_gets_pythons_verdict(java_verdict: Any) -> None:
    cases = list(hostile_bets(sequential_ids(1)).values())
    assert_one_verdict(java_verdict, cases)
    assert any(python_verdict(raw) is not None for raw in cases)
    assert any(python_verdict(raw) is None for raw in cases)


@profile(300)
@given(raws=st.lists(messages("bets"), min_size=1, max_size=10))
def test_generated_hostile_messages_get_pythons_verdict(java_verdict: Any, raws: list[bytes | None]) -> None:
    assert_one_verdict(java_verdict, raws)


def test_the_function_refuses_a_bad_spec_by_name(java_verdict: Any) -> None:
    """A spec the function cannot read fails the call (a job at its first message), naming the function."""
    from py4j.protocol import Py4JJavaError

    with pytest.raises(Py4JJavaError, match="brook_verdict: the contract spec is not valid"):
        java_verdict.eval("{}", '{"message": {}}')
