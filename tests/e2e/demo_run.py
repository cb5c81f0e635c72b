"""Running a pipeline's local demo to its end, as the e2e tests do: the one place that knows how."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from jobs.common.cli import read_summary
from jobs.local.services import LocalServices

DEMO_TIMEOUT_SECONDS = 1500  # a hung service fails the test long before CI's limit
LOG_TAIL_LINES = 15


def run_demo(module: str, args: list[str], env: dict[str, str], job: str) -> dict[str, Any]:
    """``python -m <module> <args>`` with ``env`` over this process's environment. It must exit 0 and print a
    passing ``{"brook_summary": <job>}`` line, which is returned."""
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_SECONDS,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:] + stage_logs(started)
    summary = read_summary(proc.stdout, job)
    assert summary["passed"], output[-3000:] + stage_logs(started)
    return summary


def stage_logs(since: float) -> str:
    """The tails of the stage logs this run wrote (``demo-<stage>.log``): CI shows only the test's output, and a
    failed audit is explained by what a stage printed (the exporter's objects, a consumer's DLQ reasons)."""
    logs = sorted(LocalServices().paths.logs.glob("demo-*.log"))
    parts = []
    for log in (path for path in logs if path.stat().st_mtime >= since):
        tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        parts.append(f"\n--- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "".join(parts)
