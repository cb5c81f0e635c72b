"""``python -m jobs.local.cinema_demo`` (what ``make demo-cinema`` runs) with a few viewers, on its own pair of
ports: generator → replication → dbt build → audit, which must pass."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jobs.common.cli import read_summary

pytestmark = pytest.mark.e2e


def test_cinema_demo_passes_its_own_audit() -> None:
    env = {**os.environ, "BROOK_LOCAL_CINEMA_OLTP_PORT": "15456", "BROOK_LOCAL_CINEMA_WAREHOUSE_PORT": "15457"}
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.local.cinema_demo", "--viewers", "12", "--days", "7", "--seed", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = read_summary(proc.stdout, "cinema-demo")
    assert result["passed"] is True
    checks = {c["stage"]: c for c in result["checks"]}
    assert checks["warehouse cinema_events (replicated)"]["count"] == checks["OLTP cinema_events"]["count"] > 0
    assert checks["OLTP cinema_dead_letters"]["count"] == result["dead"] == 10  # generator.hostile_rows(), refused
    assert "AUDIT PASSED" in proc.stdout
