"""jobs.bets.store's COPY text shortcuts give exactly what the plain calls give, on any text and any time."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.bets.store import _ESCAPE, COLUMNS, escaped_text, row_text, timestamp_text

pytestmark = pytest.mark.unit

zones = st.sampled_from([UTC, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(0)), None])


@given(st.text())
def test_escaped_is_the_translation(text: str) -> None:
    assert escaped_text(text) == text.translate(_ESCAPE)


@given(st.datetimes(timezones=zones))
def test_timestamp_is_isoformat(moment: datetime) -> None:
    assert timestamp_text(moment) == moment.isoformat()


def test_the_shortcuts_are_taken() -> None:
    """Not vacuous: a printable text with a backslash and a UTC time go the fast way and still match."""
    assert escaped_text("a\\b") == "a\\\\b"
    assert timestamp_text(datetime(2026, 11, 25, 10, 0, 0, 5, tzinfo=UTC)) == "2026-11-25T10:00:00.000005+00:00"


def test_a_row_has_the_columns_in_their_order() -> None:
    """row_text writes COPY's columns in the order the COPY statements name them (store.COLUMNS)."""
    assert tuple(inspect.signature(row_text).parameters) == COLUMNS
    assert row_text(*COLUMNS) == "\t".join(COLUMNS) + "\n"
