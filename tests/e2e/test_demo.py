"""`make demo` with a small N: the whole bets pipeline on real services ends with every audit count equal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jobs.common.cli import read_summary

pytestmark = pytest.mark.e2e


def test_demo_passes_its_own_audit(local_env: dict[str, str]) -> None:
    events, faults = 3000, 6  # faults: 6 replayed events + 6 invalid ones
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.local.bets_demo", "--events", str(events), "--seed", "7", "--faults", str(faults)],
        env={**os.environ, **local_env},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    audit = read_summary(proc.stdout, "bets-demo")
    assert audit["passed"], output[-3000:]
    counts = {check["stage"]: check["count"] for check in audit["checks"]}
    assert counts["produced"] == events + 2 * faults
    assert counts["stored in Postgres (bets)"] == events
    assert counts["in DLQ (distinct source offsets)"] == faults
    assert all(check["expected"] in (None, check["count"]) for check in audit["checks"])
