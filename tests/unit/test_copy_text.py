"""jobs.bets.store's COPY text shortcuts give exactly what the plain calls give, on any text and any time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.bets.store import _ESCAPE, _escaped, _timestamp

pytestmark = pytest.mark.unit

zones = st.sampled_from([UTC, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(0)), None])


@given(st.text())
def test_escaped_is_the_translation(text: str) -> None:
    assert _escaped(text) == text.translate(_ESCAPE)


@given(st.datetimes(timezones=zones))
def test_timestamp_is_isoformat(moment: datetime) -> None:
    assert _timestamp(moment) == moment.isoformat()


def test_the_shortcuts_are_taken() -> None:
    """Not vacuous: a printable text with a backslash and a UTC time go the fast way and still match."""
    assert _escaped("a\\b") == "a\\\\b"
    assert _timestamp(datetime(2026, 11, 25, 10, 0, 0, 5, tzinfo=UTC)) == "2026-11-25T10:00:00.000005+00:00"
