"""The conservation audit's shared parts: a check table, its rendering, and an independent re-read of a topic.

A pipeline's audit (``jobs/<pipeline>/audit.py``) recounts its own stages into :class:`Check` rows; this module
renders them the same way for every pipeline and re-reads topics without any consumer group (nothing committed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from jobs.common.kafka import offset_range
from jobs.common.settings import KafkaSettings


@dataclass(frozen=True)
class Check:
    stage: str
    count: int
    expected: int | None = None
    rule: str = ""

    @property
    def ok(self) -> bool:
        return self.expected is None or self.count == self.expected


def read_topic(kafka: KafkaSettings, topic: str) -> Iterator[tuple[int, int, bytes | None, dict[str, bytes]]]:
    """Every retained message of ``topic`` up to its end offsets at call time: (partition, offset, value, headers)."""
    ranges = {tp: r for tp, r in offset_range(kafka, topic).items() if r[1] > r[0]}
    if not ranges:
        return
    reader = KafkaConsumer(client_id="brook-audit", enable_auto_commit=False, **kafka.client_options())
    try:
        reader.assign(list(ranges))
        for tp, (start, _) in ranges.items():
            reader.seek(tp, start)
        remaining = dict(ranges)
        while remaining:
            for tp, records in reader.poll(timeout_ms=1000, max_records=10_000).items():
                end = ranges[tp][1]
                for record in records:
                    if record.offset < end:
                        yield tp.partition, record.offset, record.value, dict(record.headers or [])
                if reader.position(tp) >= end:
                    remaining.pop(tp, None)
                    reader.pause(TopicPartition(tp.topic, tp.partition))
    finally:
        reader.close()


def render(checks: list[Check], out: Callable[[str], None] = print) -> None:
    width = max(len(c.stage) for c in checks)
    out(f"{'stage':<{width}}  {'count':>10}  {'expected':>10}  check")
    out(f"{'-' * width}  {'-' * 10}  {'-' * 10}  -----")
    for c in checks:
        expected = "" if c.expected is None else str(c.expected)
        verdict = "" if c.expected is None else ("ok" if c.ok else f"MISMATCH ({c.rule})")
        out(f"{c.stage:<{width}}  {c.count:>10}  {expected:>10}  {verdict}")
    failed = [c for c in checks if not c.ok]
    out("AUDIT PASSED: every event is accounted for" if not failed else f"AUDIT FAILED: {len(failed)} mismatches")


def passed(checks: list[Check]) -> bool:
    return all(c.ok for c in checks)


def as_summary(checks: list[Check]) -> dict[str, object]:
    """The machine-readable audit: every row, and whether all passed (the audit's JSON summary line)."""
    return {
        "passed": passed(checks),
        "checks": [{"stage": c.stage.strip(), "count": c.count, "expected": c.expected} for c in checks],
    }
