"""Where an exported bet lands in the bucket (DESIGN §2.3): ``raw/YYYY-MM-DD/part-<batch>-<fingerprint>.parquet``.

The date is the UTC date of ``event_time``, whatever offset the event was written with. The name is a pure
function of the batch (id + fingerprint of its bet ids), fixed when the batch is claimed, so every retry of a
batch overwrites its own object instead of adding a second copy. The fingerprint keeps two databases (e.g. one
recreated from scratch whose batch ids restart at 1) from overwriting each other's objects in a shared bucket.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

PREFIX = "raw"
BATCH_DIGITS = 12  # zero-padded so keys sort in batch order; 10^12 batches is beyond any table's life
_HEX = set("0123456789abcdef")


def utc_date(event_time: datetime) -> date:
    """The partition date of an event: its ``event_time`` converted to UTC. Naive times are refused."""
    if event_time.tzinfo is None or event_time.utcoffset() is None:
        raise ValueError(f"event_time {event_time.isoformat()} has no UTC offset")
    return event_time.astimezone(UTC).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC day, as aware datetimes: the event_time range of one partition."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def partition(day: date) -> str:
    """The folder of one UTC day: ``raw/YYYY-MM-DD``."""
    return f"{PREFIX}/{day.isoformat()}"


def object_key(day: date, batch_id: int, fingerprint: str) -> str:
    """The object of one batch: ``raw/YYYY-MM-DD/part-<batch_id, 12 digits>-<fingerprint>.parquet``."""
    if batch_id < 1 or batch_id >= 10**BATCH_DIGITS:
        raise ValueError(f"batch id {batch_id} out of range")
    if not fingerprint or not set(fingerprint) <= _HEX:
        raise ValueError(f"fingerprint {fingerprint!r} must be lower-case hex")
    return f"{partition(day)}/part-{batch_id:0{BATCH_DIGITS}d}-{fingerprint}.parquet"
