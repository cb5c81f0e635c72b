"""KafkaSettings.librdkafka_config: the bets consumer's librdkafka gets the same connection as every kafka-python
client, in property names librdkafka itself accepts (it refuses unknown ones when a client is built); and
librdkafka_producer_config: the benchmarks' librdkafka load generator delivers as the platform producer does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import confluent_kafka
import pytest

from jobs.common.produce import ProducerSettings, librdkafka_producer_config, producer_options
from jobs.common.settings import KafkaSettings

pytestmark = pytest.mark.unit


def build(settings: KafkaSettings) -> dict:
    config = settings.librdkafka_config()
    confluent_kafka.Consumer({**config, "group.id": "brook-unit"}).close()  # raises on an unknown property or value
    return config


def test_plaintext_has_no_credentials() -> None:
    config = build(KafkaSettings(bootstrap="a:9092,b:9092", connect_timeout_ms=7000))
    assert config == {
        "bootstrap.servers": "a:9092,b:9092",
        "security.protocol": "PLAINTEXT",
        "socket.connection.setup.timeout.ms": 7000,
    }


def test_sasl_ssl_carries_the_user_and_the_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"  # librdkafka loads it when the client is built: a real certificate
    subj = ["-subj", "/CN=brook-unit-ca", "-days", "1", "-nodes", "-keyout", str(tmp_path / "ca.key")]
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", *subj,
                    "-out", str(ca)], check=True, capture_output=True, timeout=60)  # fmt: skip
    settings = KafkaSettings(
        bootstrap="k:9093", security_protocol="SASL_SSL", username="brook-consumer", password="s3cret", ca_file=str(ca)
    )
    config = build(settings)
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"]) == ("brook-consumer", "s3cret")
    assert config["ssl.ca.location"] == str(ca)


def test_an_empty_ca_means_the_system_trust_store() -> None:
    config = build(KafkaSettings(bootstrap="k:9093", security_protocol="SSL"))
    assert config["ssl.ca.location"] == "probe"
    assert "sasl.username" not in config


@pytest.mark.parametrize("compression", ["none", "gzip", "lz4", "zstd", "snappy"])
def test_producer_config_is_the_platform_producers_delivery_in_librdkafka_names(compression: str) -> None:
    settings = ProducerSettings(linger_ms=7, batch_bytes=65_536, compression=compression)
    config = librdkafka_producer_config(settings)
    # raises on an unknown property or value (e.g. a codec this librdkafka was built without)
    confluent_kafka.Producer({**KafkaSettings(bootstrap="k:9092").librdkafka_config(), **config}).flush(0)
    kafka_python = producer_options(settings)
    assert config["acks"] == kafka_python["acks"] == "all"
    assert config["enable.idempotence"] is kafka_python["enable_idempotence"] is True
    assert (config["linger.ms"], config["batch.size"]) == (kafka_python["linger_ms"], kafka_python["batch_size"])
    assert config["compression.type"] == (kafka_python["compression_type"] or "none")
