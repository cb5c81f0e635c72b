"""`make demo` with a small N: the whole bets pipeline on real services ends with every audit count equal."""

from __future__ import annotations

import pytest

from tests.e2e.demo_run import run_demo

pytestmark = pytest.mark.e2e


def test_demo_passes_its_own_audit(local_env: dict[str, str]) -> None:
    events, faults = 3000, 6  # faults: 6 replayed events + 6 invalid ones
    audit = run_demo(
        "jobs.local.bets_demo",
        ["--events", str(events), "--seed", "7", "--faults", str(faults)],
        local_env,
        "bets-demo",
    )
    counts = {check["stage"]: check["count"] for check in audit["checks"]}
    assert counts["produced"] == events + 2 * faults
    assert counts["stored in Postgres (bets)"] == events
    assert counts["in DLQ (distinct source offsets)"] == faults
    assert all(check["expected"] in (None, check["count"]) for check in audit["checks"])
