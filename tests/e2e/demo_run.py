"""Running a pipeline's local demo to its end, as the e2e tests do: the one place that knows how."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from jobs.common.cli import read_summary

DEMO_TIMEOUT_SECONDS = 1500  # a hung service fails the test long before CI's limit


def run_demo(module: str, args: list[str], env: dict[str, str], job: str) -> dict[str, Any]:
    """``python -m <module> <args>`` with ``env`` over this process's environment. It must exit 0 and print a
    passing ``{"brook_summary": <job>}`` line, which is returned."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_SECONDS,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    summary = read_summary(proc.stdout, job)
    assert summary["passed"], output[-3000:]
    return summary
