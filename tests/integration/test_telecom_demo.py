"""``python -m jobs.local.telecom_demo`` with a small N: generator → Flink → daily batch per date → validate → audit."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

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
    assert "AUDIT PASSED" in output
    assert re.search(rf"^in Kafka \(\S+\)\s+{events}\s+{events}\s+ok$", output, flags=re.M)
    assert re.search(rf"^windowed \+ late\s+{events}\s+{events}\s+ok$", output, flags=re.M)
    days = re.findall(r"^daily_stats (\d{4}-\d{2}-\d{2}) events \(ALL rows\)\s+(\d+)\s+\d+\s+ok$", output, flags=re.M)
    assert len(days) == 2, "the simulated history crosses a UTC midnight"
    late = int(re.search(r"^late events \(telecom_late_events\)\s+(\d+)", output, flags=re.M).group(1))
    assert sum(int(n) for _, n in days) + late == events
