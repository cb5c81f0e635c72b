"""`make demo-ecommerce` with small data and one Flink run: one generated day, its Flink batch, validated against the
Python recount, ending with every audit check passed. ``--no-rerun``: a rerun replacing its date is proven by
tests/integration/test_ecommerce_batch.py (stale rows of the date gone, the same results written again change
nothing), and each Flink run costs minutes on a loaded machine; `make demo-ecommerce` keeps its defaults.

Own schema and bucket (not the demo's defaults), so it shares nothing with a `make demo-ecommerce` or other tests.
The rejected rows are compared with what the generator itself reported making hostile (its stage log).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import psycopg2
import pytest

from jobs.common.cli import read_summary
from jobs.common.settings import PostgresSettings
from jobs.local.services import LocalServices

pytestmark = pytest.mark.e2e
SCHEMA, BUCKET = "e2e_ecommerce", "brook-e2e-ecommerce"


def test_ecommerce_demo_passes_its_own_audit(local_env: dict[str, str], pg_settings: PostgresSettings) -> None:
    argv = ["--days", "1", "--no-rerun", "--orders", "60", "--seed", "17", "--invalid-rate", "0.03"]
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.local.ecommerce_demo", *argv, "--schema", SCHEMA, "--bucket", BUCKET],
        env={**os.environ, **local_env},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    demo = read_summary(proc.stdout, "ecommerce-demo")
    assert demo["passed"] and len(demo["days"]) == 1, output[-3000:]
    assert all(check["expected"] in (None, check["count"]) for check in demo["checks"])
    generated = read_summary(
        LocalServices().paths.log("demo-ecommerce-generator").read_text(errors="replace"), "ecommerce-generator"
    )
    files = sum(c["count"] for c in demo["checks"] if c["stage"].endswith("rows in the file"))
    assert files == sum(generated["rows"].values())
    pg = dataclasses.replace(pg_settings, schema=SCHEMA)
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT source, sum(rows) FROM ecommerce_rejects GROUP BY source")
        rejected = dict(cur.fetchall())
        cur.execute("SELECT count(*), count(DISTINCT date) FROM ecommerce_intake")
        intake = cur.fetchone()
    conn.close()
    # Every hostile row breaks exactly one rule; order lines are also rejected as orphans of a hostile order.
    for kind in ("orders", "views", "returns"):
        assert rejected.get(kind, 0) == generated["hostile"].get(kind, 0), kind
    assert rejected.get("order_lines", 0) >= generated["hostile"].get("order_lines", 0)
    assert intake == (4, 1), "one intake row per file of the one day"
