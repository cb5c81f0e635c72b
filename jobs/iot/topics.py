"""The IoT pipeline's change topic: Debezium names it ``<topic.prefix>.<schema>.<table>``."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.common.settings import setting

TABLE = "iot_readings"


@dataclass(frozen=True, kw_only=True)
class IotTopics:
    prefix: str = setting(
        "IOT_CDC_PREFIX",
        "brook_iot",
        help="Debezium's topic.prefix for the IoT connector: the change topic is <prefix>.public.iot_readings.",
    )

    @property
    def changes(self) -> str:
        """The topic Debezium writes the changes of ``iot_readings`` to."""
        return f"{self.prefix}.public.{TABLE}"
