"""The e-commerce contract: one reason per line (the platform's message rules, then the first broken field rule),
exact known verdicts, and Hypothesis lines judged by :func:`judge` always yielding a reason the contract declares;
the Flink twin is built from the same patterns (tests/integration/test_ecommerce_flink_contract.py runs it on
hostile lines and compares reason by reason)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.common.rules import encode
from jobs.ecommerce.contract import FIELDS, KINDS, NOT_OBJECT, OTHER_DAY, columns, judge, judge_sql, reason
from jobs.ecommerce.recount import lines

pytestmark = pytest.mark.unit
DAY = date(2026, 3, 2)
LINE = {
    "order_id": "o-1",
    "line_no": "1",
    "product_id": "p-01",
    "category": "books",
    "quantity": "2",
    "unit_price": "10.50",
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        ({"quantity": "0"}, "bad_quantity"),
        ({"quantity": "2.5"}, "bad_quantity"),
        ({"unit_price": "10.5"}, "bad_price"),
        ({"unit_price": "1e3"}, "bad_price"),
        ({"unit_price": "0.00"}, None),
        ({"category": "Books"}, "bad_category"),
        ({"category": None}, "missing_category"),
        ({"order_id": "", "quantity": "0"}, "bad_id"),  # the first broken rule wins
        ({"line_no": 3}, "bad_line_no"),  # a JSON number, not a string: Flink sees [3], not ["3"]
    ],
)
def test_order_line_verdicts(change: dict, expected: str | None) -> None:
    row = {**LINE, **change}
    row = {k: v for k, v in row.items() if v is not None}
    assert reason("order_lines", row, DAY) == expected


def test_time_must_be_well_formed_utc_and_on_the_files_day() -> None:
    order = {"order_id": "o-1", "customer_id": "c-1", "ts": "2026-03-02T23:59:59Z"}
    assert reason("orders", order, DAY) is None
    assert reason("orders", {**order, "ts": "2026-03-03T00:00:00Z"}, DAY) == OTHER_DAY
    assert reason("orders", {**order, "ts": "2026-03-02T24:00:00Z"}, DAY) == "bad_time"
    assert reason("orders", {**order, "ts": "2026-03-02 10:00:00Z"}, DAY) == "bad_time"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"order_id":"o-1","customer_id":"c-1","ts":"2026-03-02T10:00:00Z"}', None),
        (b' {"order_id" : "o-\\u0031", "customer_id":"c-1","ts":"2026-03-02T10:00:00Z"} ', None),
        (b'{"order_id":3,"customer_id":"c-1","ts":"2026-03-02T10:00:00Z"}', "bad_id"),
        (b'{"order_id":null}', "missing_order_id"),
        (b"[1]", NOT_OBJECT),
        (b"null", NOT_OBJECT),
        (b"", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b'{"order_id":"\xff"}', "invalid_json"),
        (b'{"order_id":"o-1","order_id":"o-2"}', "invalid_json"),
        (b'{"order_id":"o-\\u0000"}', "invalid_json"),
        (b'{"x":' + b"[" * 9 + b"]" * 9 + b"}", "invalid_json"),
        (b'{"order_id":"o-1"} {}', "invalid_json"),
        (b'{"x":1e400}', "bad_value"),
        (b'{"x":NaN}', "invalid_json"),
    ],
)
def test_line_verdicts(line: bytes, expected: str | None) -> None:
    why, row = judge("orders", line, DAY)
    assert why == expected
    assert (row is None) == (expected is not None)


def test_lines_are_cut_as_flinks_filesystem_source_cuts_them() -> None:
    assert lines(b"a\r\n\nb\n") == [b"a", b"", b"b"]
    assert lines(b"a\nb") == [b"a", b"b"]
    assert lines(b"") == []


MESSAGE_REASONS = {"invalid_json", "bad_value", NOT_OBJECT}


def declared(kind: str) -> set[str | None]:
    reasons = {why for _, _, why in FIELDS[kind]} | {f"missing_{name}" for name in columns(kind)} | {None}
    return reasons | ({OTHER_DAY} if "ts" in columns(kind) else set())


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    values=st.dictionaries(
        st.sampled_from(sorted({n for k in KINDS for n in columns(k)})),
        st.one_of(st.none(), st.text(max_size=12), st.integers(), st.sampled_from(["1", "9.99", "books", "o-1"])),
    ),
)
def test_every_row_gets_exactly_one_declared_reason(kind: str, values: dict) -> None:
    why = reason(kind, values, DAY)
    assert why in declared(kind)
    if why is None:
        assert all(isinstance(values.get(name), str) for name in columns(kind))
    assert judge(kind, encode(values), DAY)[0] in declared(kind) | MESSAGE_REASONS


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), line=st.binary(max_size=60))
def test_any_bytes_get_one_declared_reason(kind: str, line: bytes) -> None:
    assert judge(kind, line, DAY)[0] in declared(kind) | MESSAGE_REASONS


def test_the_flink_twin_names_every_rule_of_the_kind() -> None:
    for kind in KINDS:
        case = judge_sql(kind, DAY)
        for why in declared(kind) - {None} | MESSAGE_REASONS:
            assert f"'{why}'" in case, (kind, why)
