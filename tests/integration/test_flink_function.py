"""Brook's Flink contract function (``dev.brook.flink.ContractVerdict``, jobs/flink/functions) gives every message
the verdict Python gives it, and reads every accepted event as Python does: thousands of Hypothesis-generated
hostile messages (tests/message_strategies.py) plus every hostile case of tests/hostile_events.py, each judged by
``parse_bet``/``parse_telecom``/``parse_event`` and by the class the Flink jobs run, called in PyFlink's JVM with
the spec the bets/telecom/behaviour job passes.

The bounded Flink jobs of test_one_verdict.py and test_flink_contract.py hold the real job to the same, with
Flink's own decoding and windows, at ~20 s per job; this test has the breadth. Messages reach the function as
Flink's raw format hands them over: UTF-8, every malformed sequence replaced by U+FFFD (Python's "replace" and
Java's decoder may replace a sequence with a different number of U+FFFD; the contract refuses any).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.behaviour import flink_sql as behaviour
from jobs.behaviour.contract import parse_event
from jobs.bets import flink_sql as bets
from jobs.bets.contract import parse_bet
from jobs.common.rules import InvalidEvent
from jobs.flink.settings import FUNCTIONS_JAR
from jobs.flink.verdict import JAVA_CLASS, FlinkContract
from jobs.telecom import contract as telecom
from jobs.telecom.contract import parse_telecom
from tests.hostile_events import hostile_bets, sequential_ids
from tests.message_strategies import messages, profile

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

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


PIPELINES: dict[str, tuple[Callable[[bytes | None], NamedTuple], FlinkContract]] = {
    "bets": (parse_bet, bets.CONTRACT),
    "telecom": (parse_telecom, telecom.CONTRACT),
    "behaviour": (parse_event, behaviour.CONTRACT),
}


def python_values(parse: Callable[[bytes | None], NamedTuple], raw: bytes | None) -> dict[str, Any] | None:
    """Python's verdict as the function's values: every contract field by name, the event time as epoch
    milliseconds, floored (Python's windows); None when refused."""
    try:
        event = parse(raw)
    except InvalidEvent:
        return None
    values = event._asdict()
    values["event_time"] = (values["event_time"] - EPOCH) // timedelta(milliseconds=1)
    return values


def java_values(function: Any, contract: FlinkContract, raw: bytes | None) -> dict[str, Any] | None:
    """The function's verdict on ``raw`` by field name (None: refused)."""
    values = function.eval(None if raw is None else raw.decode("utf-8", "replace"), contract.spec())
    if values is None:
        return None
    return {field["name"]: value for field, value in zip(contract.fields, list(values), strict=True)}


def same(python: Any, java: str | None) -> bool:
    """A Python value and the function's text for it: numbers compared as exact decimals."""
    if python is None or java is None:
        return python is java
    if isinstance(python, int | Decimal):
        return Decimal(java) == python
    return java == python


def assert_one_verdict(function: Any, pipeline: str, raws: list[bytes | None]) -> None:
    parse, contract = PIPELINES[pipeline]
    for raw in raws:
        python = python_values(parse, raw)
        java = java_values(function, contract, raw)
        assert (python is None) == (java is None), f"Python {'accepts' if python else 'refuses'} {raw!r}, Java not"
        if python is not None and java is not None:
            differ = {name for name in java if not same(python[name], java[name])}
            assert not differ, f"{raw!r}: {[(python[name], java[name]) for name in differ]}"


def test_every_hostile_case_gets_pythons_verdict(java_verdict: Any) -> None:
    cases = list(hostile_bets(sequential_ids(1)).values())
    assert_one_verdict(java_verdict, "bets", cases)
    verdicts = [python_values(parse_bet, raw) for raw in cases]
    assert any(v is not None for v in verdicts) and any(v is None for v in verdicts)


@profile(300)
@given(raws=st.lists(messages("bets"), min_size=1, max_size=10))
def test_generated_hostile_bets_get_pythons_verdict(java_verdict: Any, raws: list[bytes | None]) -> None:
    assert_one_verdict(java_verdict, "bets", raws)


@profile(300)
@given(raws=st.lists(messages("telecom"), min_size=1, max_size=10))
def test_generated_hostile_telecom_events_get_pythons_verdict(java_verdict: Any, raws: list[bytes | None]) -> None:
    assert_one_verdict(java_verdict, "telecom", raws)


@profile(300)
@given(raws=st.lists(messages("behaviour"), min_size=1, max_size=10))
def test_generated_hostile_behaviour_events_get_pythons_verdict(java_verdict: Any, raws: list[bytes | None]) -> None:
    assert_one_verdict(java_verdict, "behaviour", raws)


def test_the_function_refuses_a_bad_spec_by_name(java_verdict: Any) -> None:
    """A spec the function cannot read fails the call (a job at its first message), naming the function."""
    from py4j.protocol import Py4JJavaError

    with pytest.raises(Py4JJavaError, match="brook_verdict: the contract spec is not valid"):
        java_verdict.eval("{}", '{"message": {}}')
