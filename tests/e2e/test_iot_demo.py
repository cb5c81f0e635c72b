"""`make demo-iot` with small data: simulator → Debezium on a Kafka Connect worker → Flink windows, ending with every
audit check passed and the audit's counts equal to what the simulator says it did.

The demo runs on its own IoT Postgres and Connect ports and its own change-topic prefix, so it shares nothing but
the local Kafka with the IoT integration tests (their ports are hard-coded) or a `make demo-iot` on the defaults.
"""

from __future__ import annotations

import pytest

from jobs.common.cli import read_summary
from jobs.local.iot_demo import HOSTILE
from jobs.local.services import LocalServices
from tests.e2e.demo_run import run_demo

pytestmark = pytest.mark.e2e

PG_PORT, CONNECT_PORT = 35438, 38083  # not the demo's defaults (15438/18083) nor the integration tests'
PREFIX = "brook_iot_e2e"


def test_iot_demo_passes_its_own_audit(local_env: dict[str, str]) -> None:
    env = {
        **local_env,
        "BROOK_LOCAL_IOT_PG_PORT": str(PG_PORT),
        "BROOK_LOCAL_IOT_CONNECT_PORT": str(CONNECT_PORT),
        "BROOK_IOT_CDC_PREFIX": PREFIX,
    }
    audit = run_demo("jobs.local.iot_demo", ["--devices", "4", "--minutes", "5", "--seed", "13"], env, "iot-demo")
    assert audit["hostile"] == len(HOSTILE)
    # What the simulator itself reported (its stage log), not the demo's copy of it.
    log = LocalServices().paths.log("demo-iot-simulator").read_text(errors="replace")
    simulated = read_summary(log, "iot-simulator")
    assert simulated["inserted"] > 0 and simulated["updated"] > 0 and simulated["deleted"] > 0, simulated
    counts = {check["stage"]: check["count"] for check in audit["checks"]}
    assert counts["source: readings inserted"] == simulated["inserted"]
    assert counts["source: live rows in iot_readings"] == simulated["live"]
    assert counts["kafka: insert events (c, r)"] == simulated["inserted"]
    assert counts["kafka: update events (u)"] == simulated["updated"]
    assert counts["kafka: delete events (d)"] == simulated["deleted"]
    assert counts["windows: Σ reading_count"] == simulated["live"]
    assert counts["dead letters: rows in iot_dead_letters"] == len(HOSTILE)
    assert all(check["expected"] in (None, check["count"]) for check in audit["checks"])
