"""The e-commerce contract in Python (:func:`jobs.ecommerce.contract.judge` over the recount's line split) and in
Flink SQL (the batch's own sources and judged views, :func:`jobs.ecommerce.batch.judged`) give every line the same
verdict and reason, and Flink reads every accepted line's fields exactly as Python does — on the real PyFlink
batch mini-cluster, in one bounded job.

The corpus per kind: hand-picked hostile lines (a number where a string is due, null, arrays, objects, other-day
``ts``, non-objects, broken UTF-8, duplicate keys, deep nesting, ``\\u0000`` escapes, huge numbers, empty lines,
CRLF) and Hypothesis-generated near-valid lines whose fields take the shared hostile values of
tests/message_strategies.py (one example: one Flink job; ``make fuzz`` multiplies them). No line may fail the job:
the job must finish and judge every line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.ecommerce.contract import KINDS, columns, judge
from jobs.ecommerce.recount import lines
from tests import hostile_events as hostile
from tests.message_strategies import field_values, json_values, profile

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]
DAY = date(2026, 3, 2)
TS = "2026-03-02T10:00:00Z"
GOOD: dict[str, dict[str, Any]] = {
    "orders": {"order_id": "o-1", "customer_id": "c-1", "ts": TS},
    "order_lines": {
        "order_id": "o-1",
        "line_no": "1",
        "product_id": "p-01",
        "category": "books",
        "quantity": "2",
        "unit_price": "10.50",
    },
    "views": {"view_id": "v-1", "customer_id": "c-1", "product_id": "p-01", "category": "toys", "ts": TS},
    "returns": {
        "return_id": "r-1",
        "order_id": "o-0",
        "product_id": "p-01",
        "category": "home",
        "quantity": "1",
        "ts": TS,
    },
}


def dumps(row: dict[str, Any]) -> bytes:
    return hostile.dumps(row)


def fixed(kind: str) -> list[bytes]:
    """Hand-picked lines: each field as a number, null, array, object, bool; the whole-line hostile cases."""
    good = GOOD[kind]
    out = [dumps(good), b" " + json.dumps(good, indent=1).replace("\n", " ").encode() + b" \r"]
    for name in columns(kind):
        for bad in (3, None, [good[name]], {"v": good[name]}, True, "", 10**30):
            out.append(dumps({**good, name: bad}))
        out.append(dumps({k: v for k, v in good.items() if k != name}))
        out.append(dumps({**good, name: good[name] + "\u0000"}))
        out.append(dumps(good)[:-1] + f',"{name}":{json.dumps(good[name])}}}'.encode())  # duplicate key
    if "ts" in good:
        out += [dumps({**good, "ts": t}) for t in ("2026-03-03T00:00:00Z", "2026-03-02T24:00:00Z", "2026-02-30T1")]
    out += [
        dumps({**good, "extra": hostile.nested(9)}),
        dumps({**good, "extra": hostile.nested(6)}),
        dumps({**good, "extra": 1e300}),
        dumps(good)[:-1] + b',"extra":1e400}',
        dumps(good)[:-1] + b',"extra":"\\u0000"}',
        dumps(good)[:-1] + b',"extra":"\\ud800"}',
        dumps(good)[:-1] + b',"extra":NaN}',
        dumps(good)[:-1] + b',"extra":"\xff"}',
        dumps(good) + b' {"x":1}',
        b"\xef\xbb\xbf" + dumps(good),
        dumps({**good, "ts": "2026-03-02T10:00:00Z"}),  # an extra ts on a kind without one
        b"",
        b"   ",
        b"\r",
    ]
    out += [raw for raw in hostile.WHOLE.values() if raw is not None and b"\n" not in raw]
    return out


@st.composite
def hostile_lines(draw: st.DrawFn, kind: str) -> bytes:
    """A near-valid ``kind`` line with hostile field values, or any JSON document, or any bytes."""
    shape = draw(st.sampled_from(["row"] * 8 + ["document", "bytes"]))
    if shape == "bytes":
        return draw(st.binary(max_size=40))
    if shape == "document":
        return json.dumps(draw(json_values), default=str).encode("utf-8", "surrogatepass")
    members = [(k, draw(field_values(k, v))) for k, v in GOOD[kind].items()]
    members = [(k, v) for k, v in members if draw(st.integers(0, 20)) > 0]
    return ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in members) + "}").encode("utf-8", "surrogatepass")


SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from datetime import date
    from jobs.common.settings import load
    from jobs.ecommerce.batch import batch_environment, judged, source_ddl
    from jobs.ecommerce.contract import KINDS, LINE, columns
    from jobs.flink.settings import FlinkSettings

    folder, day = sys.argv[1], date.fromisoformat(sys.argv[2])
    t_env = batch_environment(load(FlinkSettings))
    parts = []
    for kind in KINDS:
        t_env.execute_sql(source_ddl(kind, f"file://{folder}/{kind}.jsonl"))
        fields = ", ".join(f"`{name}`" for name in columns(kind))
        parts.append(f"SELECT '{kind}', `{LINE}`, reason, JSON_ARRAY({fields} NULL ON NULL) FROM ({judged(kind, day)})")
    with open(os.path.join(folder, "verdicts.jsonl"), "w") as out:
        with t_env.execute_sql(" UNION ALL ".join(parts)).collect() as rows:
            for kind, line, reason, fields in rows:
                out.write(json.dumps([kind, line, reason, json.loads(fields) if reason is None else None]) + "\\n")
    """
)


def flink_verdicts(files: dict[str, bytes], folder: Path) -> Counter[tuple[str, str, str | None, str | None]]:
    """(kind, line as Flink decoded it, reason, accepted fields as JSON) of every line, from one Flink job."""
    for kind, body in files.items():
        (folder / f"{kind}.jsonl").write_bytes(body)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder), DAY.isoformat()],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-8000:]
    rows = [json.loads(line) for line in (folder / "verdicts.jsonl").read_text().splitlines()]
    return Counter(
        (kind, line, why, None if values is None else json.dumps(values)) for kind, line, why, values in rows
    )


def python_verdicts(files: dict[str, bytes]) -> Counter[tuple[str, str, str | None, str | None]]:
    out: Counter[tuple[str, str, str | None, str | None]] = Counter()
    for kind, body in files.items():
        for line in lines(body):
            why, row = judge(kind, line, DAY)
            values = None if row is None else json.dumps([row[name] for name in columns(kind)])
            out[(kind, line.decode("utf-8", "replace"), why, values)] += 1
    return out


@pytest.mark.timeout(1800)  # one bounded Flink job per example
@profile(1)
@given(generated=st.tuples(*(st.lists(hostile_lines(kind), min_size=40, max_size=80) for kind in KINDS)))
def test_python_and_flink_give_every_ecommerce_line_the_same_reason(
    tmp_path_factory: pytest.TempPathFactory, generated: tuple[list[bytes], ...]
) -> None:
    files = {kind: b"\n".join([*fixed(kind), *more]) + b"\n" for kind, more in zip(KINDS, generated, strict=True)}
    python = python_verdicts(files)
    reasons = Counter(why for _, _, why, _ in python.elements())
    assert reasons[None] and reasons["invalid_json"] and reasons["not_object"] and reasons["bad_value"], reasons
    assert reasons["other_day"] and reasons["missing_order_id"] and reasons["bad_quantity"], reasons
    flink = flink_verdicts(files, tmp_path_factory.mktemp("ecommerce-verdicts"))
    assert sum(flink.values()) == sum(python.values()), "Flink judged a different number of lines"
    only_python, only_flink = python - flink, flink - python
    assert not only_python and not only_flink, f"Python only: {only_python}\nFlink only: {only_flink}"
