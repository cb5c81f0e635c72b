"""``python -m jobs.local.telecom_demo`` with a small N: generator → Flink → daily batch per date → validate → audit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jobs.common.cli import read_summary

pytestmark = pytest.mark.e2e


def test_telecom_demo_passes_its_own_audit(local_env: dict[str, str]) -> None:
    events = 4000
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.local.telecom_demo",
            "--events",
            str(events),
            "--seed",
            "11",
            "--late-fraction",
            "0.01",
        ],
        env={**os.environ, **local_env},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    audit = read_summary(proc.stdout, "telecom-demo")
    assert audit["passed"], output[-3000:]
    rows = {check["stage"]: check for check in audit["checks"]}
    assert next(c for stage, c in rows.items() if stage.startswith("in Kafka"))["count"] == events
    assert rows["windowed + late"]["count"] == rows["windowed + late"]["expected"] == events
    assert len(audit["dates"]) == 2, "the simulated history crosses a UTC midnight"
    days = [rows[f"daily_stats {day} events (ALL rows)"] for day in audit["dates"]]
    assert all(day["count"] == day["expected"] for day in days)
    late = rows["late events (telecom_late_events)"]["count"]
    assert sum(day["count"] for day in days) + late == events
