"""The scaling sweep's verdict (bench/scaling.py): where time per event stops being linear in the event count."""

from __future__ import annotations

import pytest

from bench.scaling import Point, linearity, stops_at, table

pytestmark = pytest.mark.unit


def test_linear_sweep_has_no_stop() -> None:
    points = [Point("exporter", 100_000, 2.0, 200), Point("exporter", 1_000_000, 22.0, 210)]
    assert linearity(points) == pytest.approx([1.0, 1.1])
    assert stops_at(points) is None


def test_stop_is_the_first_size_past_the_tolerance_whatever_the_input_order() -> None:
    points = [
        Point("consumer", 2_000_000, 80.0, 120),
        Point("consumer", 100_000, 2.0, 100),
        Point("consumer", 1_000_000, 30.0, 110),
    ]
    assert linearity(points) == pytest.approx([1.0, 1.5, 2.0])
    assert stops_at(points) == 1_000_000
    assert stops_at(points, tolerance=1.6) == 2_000_000


def test_table_names_the_stop_per_process() -> None:
    points = [
        Point("producer", 100_000, 2.0, 100),
        Point("producer", 1_000_000, 20.0, 100),
        Point("exporter", 100_000, 2.0, 200),
        Point("exporter", 1_000_000, 40.0, 210),
    ]
    rows = [line for line in table(points).splitlines() if line.startswith("| producer") or line.startswith("| exp")]
    assert rows[0].endswith("| yes (within 1.25×) |") and rows[1].endswith("| yes (within 1.25×) |")
    assert rows[2].endswith("| stops at 1,000,000 |") and "| 2.00 |" in rows[3]
