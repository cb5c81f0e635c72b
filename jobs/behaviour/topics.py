"""The behaviour pipeline's topic names (the platform's Kafka settings carry no pipeline's names)."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.common.settings import setting


@dataclass(frozen=True, kw_only=True)
class BehaviourTopics:
    events: str = setting(
        "TOPIC_BEHAVIOUR", "behaviour_events", help="Topic of user-behaviour events (key = user_id, 3 partitions)."
    )
    dlq: str = setting(
        "TOPIC_BEHAVIOUR_DLQ", "behaviour_events.dlq", help="Dead-letter topic for invalid user-behaviour events."
    )
