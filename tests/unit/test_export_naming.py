"""Export object names: partitioned by the event's UTC date, and a pure function of the batch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from jobs.bets.export_naming import day_bounds, object_key, partition, utc_date

pytestmark = pytest.mark.unit

MINUS_2 = timezone(timedelta(hours=-2))
PLUS_5 = timezone(timedelta(hours=5, minutes=30))


def test_late_evening_west_of_utc_lands_on_the_next_utc_day() -> None:
    event = datetime(2026, 3, 1, 23, 30, tzinfo=MINUS_2)  # 2026-03-02T01:30Z
    assert utc_date(event) == date(2026, 3, 2)
    assert partition(utc_date(event)) == "raw/2026-03-02"


def test_early_morning_east_of_utc_lands_on_the_previous_utc_day() -> None:
    assert utc_date(datetime(2026, 3, 2, 2, 0, tzinfo=PLUS_5)) == date(2026, 3, 1)  # 2026-03-01T20:30Z


def test_utc_midnight_belongs_to_the_day_it_starts() -> None:
    assert utc_date(datetime(2026, 3, 2, 0, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert utc_date(datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)) == date(2026, 3, 1)


def test_naive_event_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        utc_date(datetime(2026, 3, 2, 1, 30))


def test_day_bounds_cover_exactly_the_utc_day() -> None:
    start, end = day_bounds(date(2026, 3, 2))
    assert (start, end) == (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    event = datetime(2026, 3, 1, 23, 30, tzinfo=MINUS_2)
    assert start <= event < end


def test_object_key_is_deterministic_and_sortable() -> None:
    key = object_key(date(2026, 3, 2), 42, "0a1b2c3d")
    assert key == "raw/2026-03-02/part-000000000042-0a1b2c3d.parquet"
    assert object_key(date(2026, 3, 2), 42, "0a1b2c3d") == key  # same batch, same name: a retry overwrites
    assert object_key(date(2026, 3, 2), 43, "0a1b2c3d") != key
    assert object_key(date(2026, 3, 2), 42, "ffffffff") != key  # another database's batch 42
    keys = [object_key(date(2026, 3, 2), n, "00") for n in (9, 10, 100, 1)]
    assert sorted(keys) == [object_key(date(2026, 3, 2), n, "00") for n in (1, 9, 10, 100)]


@pytest.mark.parametrize(("batch_id", "fingerprint"), [(0, "ab"), (10**12, "ab"), (1, ""), (1, "AB"), (1, "../x")])
def test_object_key_rejects_bad_parts(batch_id: int, fingerprint: str) -> None:
    with pytest.raises(ValueError):
        object_key(date(2026, 3, 2), batch_id, fingerprint)
