"""`make bench` in --quick mode: proves every stage and its baseline run and report numbers (no timing asserts)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bench.run import LATENCY_RATES, QUICK_STAGES

pytestmark = pytest.mark.e2e


def test_quick_bench_reports_every_stage(local_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        env={**os.environ, **local_env},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    latency = re.search(r"^\| end to end .*\| p50 ([\d.]+) s, p99 ([\d.]+) s", proc.stdout, re.M)
    assert latency, f"no latency row:\n{proc.stdout[-3000:]}"
    assert 0 < float(latency.group(1)) <= float(latency.group(2))
    for stage in (s for s in QUICK_STAGES if s not in LATENCY_RATES):
        row = re.search(
            rf"^\| {stage} \| [\d,]+ \| ([\d,]+) \w+/s .*?\| ([\d,]+) \w+/s .*?\| ([\d.]+) \|", proc.stdout, re.M
        )
        assert row, f"no result row for {stage}:\n{proc.stdout[-3000:]}"
        assert all(float(v.replace(",", "")) > 0 for v in row.groups())
