"""`make demo` with a small N: the whole bets pipeline on real services ends with every audit count equal."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

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
    assert "AUDIT PASSED" in output
    counts = dict(re.findall(r"^(produced|stored in Postgres \(bets\)|in DLQ[^\d]*?)\s+(\d+)", output, flags=re.M))
    assert counts == {
        "produced": str(events + 2 * faults),
        "stored in Postgres (bets)": str(events),
        "in DLQ (distinct source offsets)": str(faults),
    }, output[-3000:]
    assert not re.search(r"MISMATCH", output)
