"""Hypothesis strategies for raw Kafka messages: mostly near-valid bet/telecom events with one or more hostile
mutations (field values of any JSON type, hostile strings and numbers, impossible or extreme times, duplicate
keys, broken bytes, deep nesting, trailing data), plus arbitrary JSON documents and arbitrary bytes.

:func:`profile` is applied per test: deterministic (``derandomize``, no example database written into the repo),
with the test's bounded number of examples times ``BROOK_FUZZ_SCALE`` (1 in ``make test``, 10 in ``make fuzz``).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.hostile_events import BEHAVIOUR, BET, TELECOM

HOSTILE_CHARS = (
    "\u0000",
    "\u0001",
    "\t",
    "\n",
    "\r",
    "\u007f",
    "\u0085",
    "\u00a0",
    "\u2028",
    "\u2029",
    "\u3000",
    "\ufeff",
    "\ufffd",
    "\ufffe",
    "\ud800",
    "\udfff",
    "\U0001f600",
    "\U0001f3b2",
    '"',
    "\\",
    "é",
    "中",
    " ",
    "a",
    "Z",
    "0",
)
NUMBER_TEXTS = (
    "12",
    "12.5",
    "12.50",
    "12.500000000000",
    "0.01",
    "-0",
    "-0.0",
    "0e5",
    "1e2",
    "1E+2",
    "1E-7",
    "1e-25",
    "1e400",
    "1e-400",
    "1.01",
    "1.00001",
    "9999999999.99",
    "9999999999.995",
    "10000000000",
    "99999999.9999",
    "123456789012345",
    "1234567890123456",
    "1" + "0" * 40,
    "604800",
    "604801",
    "999999999.999",
    "01",
    "1.",
    ".5",
    "+1",
    "NaN",
    "Infinity",
    "-Infinity",
    "0x10",
)


def profile(examples: int) -> settings:
    """Deterministic settings with ``examples`` × ``BROOK_FUZZ_SCALE`` examples (make fuzz raises the scale)."""
    examples *= int(os.environ.get("BROOK_FUZZ_SCALE", "1"))
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


hostile_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.sampled_from(HOSTILE_CHARS), max_size=12),
    st.sampled_from(["", " ", "\u00a0", "x" * 256, "\U0001f3b2" * 256, "x" * 257, "roulette", "u1"]),
    st.builds(lambda n: "g" * n, st.integers(250, 5000)),
)


@st.composite
def event_times(draw: st.DrawFn) -> str:
    """Mostly well-formed ISO-8601 texts whose parts range over valid and invalid values."""
    year = draw(st.sampled_from([1, 1969, 1970, 1972, 2000, 2026, 2028, 2099, 2100, 9999]))
    month = draw(st.integers(0, 14))
    day = draw(st.sampled_from([0, 1, 15, 28, 29, 30, 31, 32, 45]))
    hour = draw(st.sampled_from([0, 1, 12, 23, 24, 25]))
    minute = draw(st.sampled_from([0, 30, 59, 60]))
    second = draw(st.sampled_from([0, 1, 59, 60]))
    fraction = draw(st.sampled_from(["", ".5", ".123", ".999999", ".1234567", ".", ".12345"]))
    zone = draw(
        st.one_of(
            st.sampled_from(["Z", "z", "", "+00:00", "-00:00", "+18:00", "-18:00", "+18:01", "+23:59", "+05:30"]),
            st.builds(
                lambda s, h, m: f"{s}{h:02d}:{m:02d}", st.sampled_from("+-"), st.integers(0, 25), st.integers(0, 61)
            ),
        )
    )
    sep = draw(st.sampled_from(["T", "T", "T", "t", " "]))
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), hostile_text, st.decimals(allow_nan=False, places=3)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner, max_size=3)),
    max_leaves=12,
)


def nested(depth: int) -> Any:
    value: Any = 1
    for n in range(depth):
        value = {"n": value} if n % 2 else [value]
    return value


def _json(value: Any) -> str:
    """JSON text of a value that may hold Decimals (exact) and lone surrogates (as escapes)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    return json.dumps(value)


def field_values(name: str, good: Any) -> st.SearchStrategy[str]:
    """The JSON text of a field's value: often its good value, else something hostile of any type."""
    texts: list[st.SearchStrategy[str]] = [
        st.just(_json(good)),
        hostile_text.map(_json),
        json_values.map(_json),
        st.sampled_from(NUMBER_TEXTS),
        st.sampled_from(NUMBER_TEXTS).map(json.dumps),  # a number sent as a string
    ]
    if name == "event_time":
        texts.append(event_times().map(json.dumps))
    if name in ("bet_id", "event_id"):
        texts.append(st.just(json.dumps(str(good).upper())))
    return st.integers(0, 11).flatmap(lambda n: st.one_of(texts) if n == 0 else st.just(_json(good)))


@st.composite
def messages(
    draw: st.DrawFn, pipeline: str = "bets", ident: str = "00000000-0000-4000-8000-000000000000"
) -> bytes | None:
    """One raw message: a near-valid event of ``pipeline`` with hostile mutations, or something else entirely."""
    kind = draw(st.sampled_from(["event"] * 8 + ["document", "bytes"]))
    if kind == "bytes":
        return draw(st.one_of(st.none(), st.binary(max_size=40)))
    if kind == "document":
        return _json(draw(json_values)).encode("utf-8", "surrogatepass")
    base = {
        ("bet_id" if pipeline == "bets" else "event_id"): ident,
        **{"bets": BET, "telecom": TELECOM, "behaviour": BEHAVIOUR}[pipeline],
    }
    if pipeline == "telecom" and draw(st.booleans()):
        base.update(event_type=draw(st.sampled_from(["call", "sms"])), direction="incoming", data_mb=0)
        if base["event_type"] == "sms":
            base["duration"] = 0
    members = [(key, draw(field_values(key, value))) for key, value in base.items()]
    members = [(k, v) for k, v in members if draw(st.integers(0, 80)) > 0]  # now and then a field goes missing
    safe_keys = st.text(alphabet="abcdefghij_", min_size=1, max_size=8).filter(lambda k: k not in base)
    keys = st.integers(0, 5).flatmap(lambda n: hostile_text if n == 0 else safe_keys)
    values = st.integers(0, 3).flatmap(lambda n: json_values.map(_json) if n == 0 else json_scalars.map(_json))
    extras = draw(st.lists(st.tuples(keys, values), max_size=2, unique_by=lambda kv: kv[0]))
    if draw(st.integers(0, 12)) == 0:
        extras.append(("meta", _json(nested(draw(st.integers(5, 12))))))
    if draw(st.integers(0, 40)) == 0:
        extras.append(draw(st.sampled_from(members)) if members else ("x", "1"))  # a duplicate key
    body = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in members + extras) + "}"
    raw = body.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none"] * 12 + ["trailing", "bom", "array", "latin1", "cut", "spaces"]))
    if damage == "trailing":
        raw += draw(st.sampled_from([b" x", b"{}", b"\xc2\xa0", b" ", b"\n"]))
    elif damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif damage == "array":
        raw = b"[" + raw + b"]"
    elif damage == "latin1":
        raw = raw.replace(b"e", b"\xe9", 1)
    elif damage == "cut":
        raw = raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif damage == "spaces":
        raw = b" \t\r\n" + raw + b"\n "
    return raw
