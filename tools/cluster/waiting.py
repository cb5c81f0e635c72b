"""Polling until a state is reached, for the cluster tooling and the Kubernetes test suites alike."""

from __future__ import annotations

import time
from collections.abc import Callable


def poll(
    what: str, check: Callable[[], object], timeout: float, error: Callable[[str], BaseException], interval: float = 1
) -> object:
    """Call ``check`` until it returns something truthy (returned); after ``timeout`` seconds raise ``error`` of a
    message naming ``what``. Each caller picks its error: a tool's own exception, or a test failure."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise error(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
