"""A contract's verdict inside Flink: one call of Brook's Java function per message, driven by a spec built here.

Why: as SQL expressions (:mod:`jobs.common.sql_rules`) the rules cost ~150 regular-expression calls per message,
because Flink generates code for every reference to an expression anew and evaluates the contract again in the
watermark generator; the bets job ran at 0.03× its pass-through (bench/results/2026-11-28-round2.md). The Java
function ``dev.brook.flink.ContractVerdict`` (jobs/flink/functions, built by ``make flink-jars``) parses each
message once.

One definition: the function holds no rule. The spec it receives is built here from the constants of
:mod:`jobs.common.rules` and the pipeline's contract (patterns, bounds, closed sets), and the function applies them
in the order of ``rules.loads`` and the field rules. ``brook_verdict(message, spec)`` is an ``ARRAY<STRING>`` of
the fields' normalised values in spec order (a number as plain decimal text with its places, a UUID in lower case,
the event time as epoch milliseconds, NULL for an absent optional or conditional field), or NULL when the contract
refuses the message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from jobs.common import rules
from jobs.common.sql_rules import MESSAGE, quote, raw_source_ddl


class SqlRunner(Protocol):
    """What :func:`register` needs of a PyFlink TableEnvironment (pyflink is not imported here: the contracts that
    build specs ship in images without it)."""

    def execute_sql(self, stmt: str) -> Any: ...


FUNCTION = "brook_verdict"
EVENT_MS_FUNCTION = "brook_event_ms"  # the same verdict's event time only (BIGINT): for the watermark
REJECTED_MS = -1  # the rowtime of a refused message: before every valid time, so "accepted" is ts >= epoch 0
JAVA_CLASS = "dev.brook.flink.ContractVerdict"
EVENT_MS_JAVA_CLASS = "dev.brook.flink.ContractEventTime"

_MESSAGE_RULES = {
    "replacement": rules.REPLACEMENT_CHAR,
    "non_u_escape": rules.NON_U_ESCAPE,
    "bad_escape": rules.BAD_ESCAPE,
    "any_escape": rules.ANY_ESCAPE,
    "string_token": rules.STRING_TOKEN,
    "long_number": rules.LONG_NUMBER,
    "innermost": rules.INNERMOST,
    "one_value": rules.ONE_VALUE,
    "max_depth": rules.MAX_DEPTH,
}


# --- field rules (each the spec of one function of jobs.common.rules) -------------------------------------------
def matching(name: str, body: str, lower: bool = False) -> dict[str, Any]:
    """:func:`rules.matching`; with ``lower`` the value is normalised to lower case (:func:`rules.uuid`)."""
    return {"name": name, "kind": "matching", "pattern": body, "lower": lower}


def uuid(name: str) -> dict[str, Any]:
    """:func:`rules.uuid`."""
    return matching(name, rules.UUID_BODY, lower=True)


def text(name: str) -> dict[str, Any]:
    """:func:`rules.text`."""
    return {"name": name, "kind": "text", "pattern": rules.TEXT_BODY, "not_blank": rules.NOT_BLANK}


def one_of(name: str, values: Sequence[str]) -> dict[str, Any]:
    """:func:`rules.one_of`."""
    return {"name": name, "kind": "one_of", "values": list(values)}


def optional(rule: dict[str, Any]) -> dict[str, Any]:
    """``rule`` when the field is present and not null; absent or null is accepted (its value is then NULL)."""
    return {**rule, "optional": True}


def when(rule: dict[str, Any], field: str, values: Sequence[str]) -> dict[str, Any]:
    """``rule`` while string field ``field`` is one of ``values``; otherwise the field must be absent or null (its
    value in the verdict is then NULL)."""
    return {**rule, "when": {"field": field, "in": list(values)}}


def number(
    name: str,
    low: Decimal | int,
    high: Decimal | int,
    places: int,
    low_inclusive: bool = True,
    positive_when: tuple[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """:func:`rules.number`, :func:`rules.bounded` and :func:`rules.places`; the value has exactly ``places``
    decimals. ``positive_when=(field, values)``: the number is above 0 exactly when string field ``field`` is one
    of ``values``."""
    spec: dict[str, Any] = {
        "name": name,
        "kind": "number",
        "low": str(low),
        "high": str(high),
        "low_inclusive": low_inclusive,
        "places": places,
    }
    if positive_when:
        spec["positive_when"] = {"field": positive_when[0], "in": list(positive_when[1])}
    return spec


def event_time(name: str = "event_time") -> dict[str, Any]:
    """:func:`rules.event_time`: the value is epoch milliseconds (a fraction beyond 3 digits floored)."""
    low, high = (int(t.timestamp() * 1000) for t in (rules.TIME_MIN, rules.TIME_MAX))
    return {"name": name, "kind": "event_time", "pattern": rules.EVENT_TIME_BODY, "min_ms": low, "max_ms": high}


# --- a contract in Flink SQL --------------------------------------------------------------------------------------
def register(t_env: SqlRunner) -> None:
    """Make ``brook_verdict`` and ``brook_event_ms`` callable in ``t_env`` (``jobs.flink.environment``'s
    ``table_environment`` does, for every job)."""
    for name, java_class in ((FUNCTION, JAVA_CLASS), (EVENT_MS_FUNCTION, EVENT_MS_JAVA_CLASS)):
        t_env.execute_sql(f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {name} AS '{java_class}' LANGUAGE JAVA")


@dataclass(frozen=True)
class FlinkContract:
    """A pipeline's contract as the Java function applies it: its fields in order, each a spec from above."""

    fields: tuple[dict[str, Any], ...]

    def __post_init__(self) -> None:
        times = [field["name"] for field in self.fields if field["kind"] == "event_time"]
        if len(times) != 1:
            raise ValueError(f"a contract needs exactly one event_time field (the rowtime), got {times}")

    def spec(self) -> str:
        """The function's second argument: ASCII-only JSON (a SQL literal reads it as is)."""
        return json.dumps({"message": _MESSAGE_RULES, "fields": list(self.fields)}, separators=(",", ":"))

    def call(self, column: str = MESSAGE, function: str = FUNCTION) -> str:
        """``function`` of ``column`` under this contract: by default the verdict (the values, or NULL when
        refused)."""
        return f"{function}(`{column}`, {quote(self.spec())})"

    def index(self, name: str) -> int:
        """The 1-based position of field ``name`` in the verdict array."""
        names = [field["name"] for field in self.fields]
        if name not in names:
            raise KeyError(f"the contract has no field {name!r} (fields: {', '.join(names)})")
        return names.index(name) + 1

    def value(self, name: str, verdict: str = "v") -> str:
        """Field ``name`` of an accepted message's verdict column ``verdict``, as STRING."""
        return f"{verdict}[{self.index(name)}]"

    def event_ts(self) -> str:
        """The event-time attribute: the event's time if the contract holds, else -1 ms (never NULL, never in a
        window), so a refused message cannot move the watermark."""
        return f"TO_TIMESTAMP_LTZ(COALESCE({self.call(function=EVENT_MS_FUNCTION)}, {REJECTED_MS}), 3)"

    def source_ddl(
        self, name: str, with_clause: str, watermark_delay_seconds: int, metadata: tuple[str, ...] = ()
    ) -> str:
        """A Kafka source of raw messages with the event-time attribute ``ts`` (:func:`register` must have run).

        ``metadata`` adds Kafka metadata columns, e.g. ``("`offset` BIGINT METADATA VIRTUAL",)``."""
        return raw_source_ddl(name, with_clause, self.event_ts(), watermark_delay_seconds, metadata)

    def accepted(self, source: str, carry: tuple[str, ...] = ()) -> str:
        """The accepted messages of ``source`` with their verdict ``v`` (one call per message), ``ts`` and the
        ``carry`` columns: the inner query of a view that reads fields with :meth:`value`."""
        columns = ", ".join((f"{self.call()} AS v", "ts", *carry))
        return f"SELECT {columns} FROM {source} WHERE ts >= TO_TIMESTAMP_LTZ(0, 3)"
