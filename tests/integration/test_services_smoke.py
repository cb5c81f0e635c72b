"""Each local service is real: a round trip through Kafka, Postgres (COPY) and MinIO."""

from __future__ import annotations

import io
import uuid

import psycopg2
import pytest
from kafka import KafkaConsumer, KafkaProducer

from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings

pytestmark = pytest.mark.integration


def test_kafka_round_trip(kafka_settings: KafkaSettings) -> None:
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    payload = uuid.uuid4().bytes
    producer = KafkaProducer(**kafka_settings.client_options())
    producer.send(topic, key=b"k", value=payload).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(
        topic, **kafka_settings.client_options(), auto_offset_reset="earliest", consumer_timeout_ms=15000
    )
    values = [msg.value for msg in consumer]
    consumer.close()
    assert values == [payload]


def test_postgres_copy(pg_settings: PostgresSettings) -> None:
    table = f"smoke_{uuid.uuid4().hex[:8]}"
    with psycopg2.connect(pg_settings.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {table} (id int PRIMARY KEY, name text)")
        cur.copy_expert(f"COPY {table} FROM STDIN", io.StringIO("1\tone\n2\ttwo\n3\tthree\n"))
        cur.execute(f"SELECT count(*), string_agg(name, ',' ORDER BY id) FROM {table}")
        assert cur.fetchone() == (3, "one,two,three")
        cur.execute("SHOW data_directory")
        assert ".brook/data/postgres" in cur.fetchone()[0]  # the private cluster, not the system one


def test_minio_put_get(s3_settings: S3Settings) -> None:
    s3 = s3_settings.client()
    bucket = f"smoke-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    body = uuid.uuid4().bytes * 1000
    s3.put_object(Bucket=bucket, Key="a/b.bin", Body=body)
    assert s3.get_object(Bucket=bucket, Key="a/b.bin")["Body"].read() == body
    s3.delete_object(Bucket=bucket, Key="a/b.bin")
    s3.delete_bucket(Bucket=bucket)
