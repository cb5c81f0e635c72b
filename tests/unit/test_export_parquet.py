"""The exporter's Arrow path stays free of pandas: importing it cost ~1.2 s per run (measured in
bench/results/2026-11-29-exporter-pandas.md), paid by the last claim of every run, the one that finds nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.unit

# Runs in a fresh interpreter: this test process may have imported pandas for other reasons.
_SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from jobs.bets import exporter  # noqa: F401  (the module a run imports)
    from jobs.bets.export_parquet import _CONVERT, _PARSE, COLUMNS, SCHEMA, _table, empty_table, to_parquet

    names = [c.name for c in COLUMNS]
    empty = empty_table([*names, "ingest_xid"])
    assert empty.num_rows == 0, empty
    assert [f.type for f in empty.schema] == [*SCHEMA.types, pa.string()], empty.schema
    assert _table(empty, "empty").schema == SCHEMA

    row = (
        b'00000000-0000-4000-8000-000000000001,u1,slots,12.50,EUR,1.2500,won,'
        b'2026-03-01 23:30:00.5+00,"{""a"": 1}",2026-03-02 00:00:00+00,42\\n'
    )
    raw = pacsv.read_csv(pa.py_buffer(row), pacsv.ReadOptions(column_names=[*names, "ingest_xid"]), _PARSE, _CONVERT)
    meta = pq.read_metadata(pa.BufferReader(to_parquet(_table(raw, "one row"))))
    assert meta.num_rows == 1 and meta.schema.to_arrow_schema().types == SCHEMA.types, meta
    print("pandas" in sys.modules, flush=True)
    os._exit(0)  # as every job process leaves (jobs.common.cli.run): Arrow's pools can abort a normal exit
    """
)


def test_the_export_path_never_imports_pandas() -> None:
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False", "the exporter's Arrow path imported pandas"
