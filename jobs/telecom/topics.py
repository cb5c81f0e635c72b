"""The telecom pipeline's topic name (the platform's Kafka settings carry no pipeline's names)."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.common.settings import setting


@dataclass(frozen=True, kw_only=True)
class TelecomTopics:
    events: str = setting("TOPIC_TELECOM", "telecom_events", help="Topic of telecom events.")
