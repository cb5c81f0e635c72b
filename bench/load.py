"""The latency stages' load generator client: librdkafka (confluent-kafka) with the platform producer's delivery
settings (acks=all, idempotence, linger, batch size, compression: :func:`librdkafka_producer_config`).

Why not the platform producer (kafka-python) here: the load generator shares this machine's two cores with the job
under test, while a deployment's upstream producers run elsewhere. At 10,000 events/s the kafka-python send loop
took 81–86 % of one core, this client 39–41 % (bench/results/2026-11-28-unmeasured-rows.md). A message librdkafka
could not deliver fails the trial: its window would never be complete.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, Message, Producer

from jobs.common.produce import ProducerSettings, librdkafka_producer_config
from jobs.common.settings import KafkaSettings


class LoadProducer:
    """Sends pre-encoded events; :meth:`close` waits for every acknowledgement and raises on the first failure."""

    def __init__(self, kafka: KafkaSettings, settings: ProducerSettings) -> None:
        self.client = Producer({**kafka.librdkafka_config(), **librdkafka_producer_config(settings)})
        self.failed = 0
        self.first_error = ""

    def _delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self.failed += 1
            self.first_error = self.first_error or str(error)

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        while True:
            try:
                self.client.produce(topic, value, key, on_delivery=self._delivered)
                break
            except BufferError:  # librdkafka's queue is full: serve acknowledgements, then retry
                self.client.poll(0.01)
        self.client.poll(0)

    def close(self, timeout_s: float = 60) -> None:
        left = self.client.flush(timeout_s)
        if left or self.failed:
            raise SystemExit(f"load generator: {left} unacknowledged, {self.failed} failed ({self.first_error})")
