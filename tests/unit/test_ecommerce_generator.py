"""The e-commerce generator: reproducible per seed and day, every hostile row counted and rejected by the contract,
every valid order line belonging to an order of its day, and returns referring to the previous day's lines."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest

from jobs.ecommerce.contract import KINDS, reason
from jobs.ecommerce.generator import generate, jsonl

pytestmark = pytest.mark.unit
DAY = date(2026, 3, 2)


def test_same_seed_same_bytes_and_other_seed_other_bytes() -> None:
    first = {kind: jsonl(generate(DAY, 50, 40, 7, 0.05).rows[kind]) for kind in KINDS}
    again = {kind: jsonl(generate(DAY, 50, 40, 7, 0.05).rows[kind]) for kind in KINDS}
    other = {kind: jsonl(generate(DAY, 50, 40, 8, 0.05).rows[kind]) for kind in KINDS}
    assert first == again
    assert first["orders"] != other["orders"]


def test_without_hostile_rows_every_row_is_accepted_and_lines_have_their_orders() -> None:
    day = generate(DAY, 120, 60, 2026, 0.0)
    verdicts = {kind: Counter(reason(kind, row, DAY) for row in day.rows[kind]) for kind in KINDS}
    assert verdicts == {kind: Counter({None: len(day.rows[kind])}) for kind in KINDS}
    orders = {row["order_id"] for row in day.rows["orders"]}
    assert {line["order_id"] for line in day.rows["order_lines"]} == orders  # every order has a line
    assert day.hostile == Counter()


def test_each_hostile_row_is_rejected_and_counted() -> None:
    clean, spoiled = generate(DAY, 300, 100, 3, 0.0), generate(DAY, 300, 100, 3, 0.1)
    for kind in KINDS:
        rejected = sum(reason(kind, row, DAY) is not None for row in spoiled.rows[kind])
        assert rejected == spoiled.hostile[kind], kind
        assert len(spoiled.rows[kind]) == len(clean.rows[kind]), "hostile rows replace rows, they add none"
    assert sum(spoiled.hostile.values()) > 50


def test_returns_refer_to_the_previous_days_lines() -> None:
    lines = {
        (r["order_id"], r["product_id"]) for r in generate(DAY - timedelta(days=1), 200, 80, 5, 0).rows["order_lines"]
    }
    returns = generate(DAY, 200, 80, 5, 0).rows["returns"]
    assert returns and all((r["order_id"], r["product_id"]) in lines for r in returns)


def test_files_are_json_lines_of_strings_only() -> None:
    for kind in KINDS:
        for line in jsonl(generate(DAY, 20, 10, 1, 0.2).rows[kind]).decode().splitlines():
            row = json.loads(line)
            assert all(isinstance(value, str) for value in row.values()), row
