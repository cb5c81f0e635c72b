"""Conservation audit of the behaviour pipeline: every event the gateway acknowledged is in Kafka, in exactly one
session and in exactly one minute.

``python -m jobs.behaviour.audit [--acknowledged N] [--dead-lettered N]`` — against any deployment reachable with
the ``BROOK_*`` settings, on a quiesced pipeline (clients stopped, gateway drained, Flink caught up: the bounded
run has ended). An independent recount: the topic is re-read and re-validated with the contract
(``jobs.behaviour.contract``); sessions and minutes are summed from their tables. ``N`` are the counts of the
gateway's summary line (``acknowledged``, ``dead_lettered``). Exits 1 when a check fails. Same table format as the
bets and telecom audits.
"""

from __future__ import annotations

import argparse

import psycopg2

from jobs.behaviour.contract import parse_event
from jobs.behaviour.flink_sql import MINUTE_COUNTS
from jobs.behaviour.topics import BehaviourTopics
from jobs.common.audit import Check, as_summary, passed, read_topic, render
from jobs.common.cli import run, summary
from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings, load


def topic_counts(kafka: KafkaSettings, topic: str) -> tuple[int, int, int]:
    """(messages, contract-valid events, distinct event_ids of the valid ones) in ``topic``."""
    messages = valid = 0
    ids: set[str] = set()
    for _, _, value, _ in read_topic(kafka, topic):
        messages += 1
        try:
            event = parse_event(value)
        except InvalidEvent:
            continue
        valid += 1
        ids.add(event.event_id)
    return messages, valid, len(ids)


def table_counts(pg: PostgresSettings) -> tuple[int, int, int]:
    """(sessions, Σ events over behaviour_sessions, Σ of every event-type count over behaviour_minute)."""
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*), COALESCE(SUM(events), 0) FROM behaviour_sessions")
        sessions, in_sessions = cur.fetchone()
        cur.execute(f"SELECT COALESCE(SUM({' + '.join(MINUTE_COUNTS)}), 0) FROM behaviour_minute")
        in_minutes = cur.fetchone()[0]
    return int(sessions), int(in_sessions), int(in_minutes)


def audit(
    kafka: KafkaSettings,
    topics: BehaviourTopics,
    pg: PostgresSettings,
    acknowledged: int | None = None,
    dead_lettered: int | None = None,
) -> list[Check]:
    messages, valid, distinct = topic_counts(kafka, topics.events)
    dlq = sum(1 for _ in read_topic(kafka, topics.dlq))
    sessions, in_sessions, in_minutes = table_counts(pg)
    ack = acknowledged if acknowledged is not None else valid
    return [
        Check("acknowledged by the gateway", ack),
        Check(f"in Kafka ({topics.events})", messages, ack, "= acknowledged"),
        Check("  valid events (contract re-checked)", valid, messages, "= in Kafka: the gateway forwards valid only"),
        Check("  distinct event_ids", distinct),
        Check(f"dead-lettered ({topics.dlq})", dlq, dead_lettered, "= the gateway's dead_lettered"),
        Check("sessions (behaviour_sessions rows)", sessions),
        Check("Σ events in behaviour_sessions", in_sessions, valid, "= valid events"),
        Check("Σ event counts in behaviour_minute", in_minutes, valid, "= valid events"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.behaviour.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--acknowledged", type=int, help="events the gateway acknowledged (its summary line)")
    parser.add_argument("--dead-lettered", type=int, help="messages the gateway dead-lettered (its summary line)")
    args = parser.parse_args(argv)
    kafka, topics, pg = load(KafkaSettings), load(BehaviourTopics), load(PostgresSettings)
    checks = audit(kafka, topics, pg, args.acknowledged, args.dead_lettered)
    render(checks)
    summary("behaviour-audit", **as_summary(checks))
    return 0 if passed(checks) else 1


if __name__ == "__main__":
    run(main, "behaviour-audit")
