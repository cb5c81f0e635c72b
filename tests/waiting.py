"""Polling for the Kubernetes suites (k8s_api, k8s_node): a state reached within a guard, never a timed assert."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def wait_for(what: str, check: Callable[[], object], timeout: float = 60, interval: float = 1) -> object:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s: {what}")
        time.sleep(interval)
