"""Kafka helpers shared by every kafka-python job: topic creation and header encoding."""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, TopicAuthorizationFailedError

from jobs.common.settings import KafkaSettings


def ensure_topics(kafka: KafkaSettings, topics: dict[str, int], replication: int = 1) -> list[str]:
    """Create the missing topics (name → partitions); return the names created.

    Local mode needs this; in Kubernetes Strimzi's KafkaTopic resources own the topics and a workload's KafkaUser
    has no create ACL, so "not authorised" means "managed elsewhere" and is not an error.
    """
    admin = KafkaAdminClient(client_id="brook-admin", **kafka.client_options())
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, partitions, replication) for name, partitions in topics.items() if name not in existing
        ]
        if not wanted:
            return []
        try:
            admin.create_topics(wanted)
        except TopicAlreadyExistsError:
            pass
        except TopicAuthorizationFailedError:
            return []
        return [t.name for t in wanted]
    finally:
        admin.close()


def headers(**values: object) -> list[tuple[str, bytes]]:
    """Kafka record headers from keyword values (``brook.`` prefix, UTF-8)."""
    return [(f"brook.{key.replace('_', '.')}", str(value).encode()) for key, value in values.items()]


def committed_offsets(kafka: KafkaSettings, group: str) -> dict[TopicPartition, int]:
    """The offsets a consumer group has committed (partitions it never committed are absent)."""
    admin = KafkaAdminClient(client_id="brook-admin", **kafka.client_options())
    try:
        return {tp: meta.offset for tp, meta in admin.list_group_offsets({group: None})[group].items()}
    finally:
        admin.close()


def refuse_unauthorized(kafka: KafkaSettings, topic: str) -> None:
    """Raise if this user may not describe ``topic``: kafka-python reports such a topic as having no partitions,
    which a recount (the audit) would otherwise take for an empty topic and count zero."""
    admin = KafkaAdminClient(client_id="brook-admin", **kafka.client_options())
    try:
        described = admin.describe_topics([topic])
    finally:
        admin.close()
    if any(t.get("error_code") == TopicAuthorizationFailedError.errno for t in described):
        raise TopicAuthorizationFailedError(f"not authorised to describe topic {topic!r} as {kafka.username!r}")


def offset_range(kafka: KafkaSettings, topic: str) -> dict[TopicPartition, tuple[int, int]]:
    """(earliest, end) offset of every partition of ``topic``; end - earliest = messages currently retained.
    A topic that does not exist has none; one this user may not describe raises (it is not empty, it is hidden)."""
    consumer = KafkaConsumer(client_id="brook-admin", **kafka.client_options())
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            refuse_unauthorized(kafka, topic)
            return {}
        starts, ends = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
        return {tp: (starts[tp], ends[tp]) for tp in partitions}
    finally:
        consumer.close()
