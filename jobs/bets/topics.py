"""The bets pipeline's topic names (the platform's Kafka settings carry no pipeline's names)."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.common.settings import setting


@dataclass(frozen=True, kw_only=True)
class BetsTopics:
    bets: str = setting("TOPIC_BETS", "bets", help="Topic of bet events.")
    dlq: str = setting("TOPIC_BETS_DLQ", "bets.dlq", help="Dead-letter topic for invalid bet events.")
