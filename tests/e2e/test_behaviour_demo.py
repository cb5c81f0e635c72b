"""`make demo-behaviour` with small data: emulator → WebSocket gateway → Kafka → bounded Flink sessions job, ending
with every audit check passed and the audit's counts equal to what the emulator itself says it did (its own log,
not the demo's copy).

The gateway listens on a free port (the demo's default ``--port 0``), so the test shares nothing but the local
Kafka and Postgres with a gateway started elsewhere.
"""

from __future__ import annotations

import pytest

from jobs.common.cli import read_summary
from jobs.local.services import LocalServices
from tests.e2e.demo_run import run_demo

pytestmark = pytest.mark.e2e

USERS, EVENTS, INVALID_RATE = 8, 300, 0.05


def test_behaviour_demo_passes_its_own_audit(local_env: dict[str, str]) -> None:
    args = ["--users", str(USERS), "--events", str(EVENTS), "--invalid-rate", str(INVALID_RATE), "--seed", "7"]
    audit = run_demo("jobs.local.behaviour_demo", args, local_env, "behaviour-demo")
    assert all(check["expected"] in (None, check["count"]) for check in audit["checks"])
    emulated = read_summary(
        LocalServices().paths.log("demo-behaviour-emulator").read_text(errors="replace"), "behaviour-emulator"
    )
    assert emulated["sent"] == EVENTS and emulated["unanswered"] == 0, emulated
    assert 0 < emulated["refused"] < EVENTS, emulated  # hostile frames were sent and dead-lettered
    counts = {check["stage"].split(" (")[0]: check["count"] for check in audit["checks"]}
    assert counts["acknowledged by the gateway"] == emulated["acknowledged"] == emulated["valid_sent"]
    assert counts["in Kafka"] == emulated["acknowledged"]
    assert counts["dead-lettered"] == emulated["refused"]
    assert counts["Σ events in behaviour_sessions"] == emulated["acknowledged"]
    assert counts["Σ event counts in behaviour_minute"] == emulated["acknowledged"]
    assert 0 < counts["sessions"] <= emulated["acknowledged"]
