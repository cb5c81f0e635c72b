"""Polling for the Kubernetes suites (k8s_api, k8s_node): a state reached within a guard, never a timed assert."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tools.cluster.waiting import poll


def wait_for(what: str, check: Callable[[], object], timeout: float = 60, interval: float = 1) -> object:
    """Poll ``check`` until it returns something truthy; fail the test naming ``what`` after ``timeout`` seconds."""
    return poll(what, check, timeout, pytest.fail.Exception, interval)
