"""The behaviour contract in Python (``parse_event``) and in Flink (``jobs/behaviour/flink_sql.py``: Brook's verdict
function with the contract's rules) give every message the same verdict, and Flink reads every accepted event exactly as
Python does — on the real Flink mini-cluster, as the bets and telecom contract tests do.

One bounded Flink job judges one corpus: each field rule of the contract, the platform's hostile cases of
tests/hostile_events.py rewritten onto a behaviour event, and Hypothesis-generated hostile messages
(tests/message_strategies.py's field values on a behaviour event; ``make fuzz`` multiplies the examples, each one
more Flink job).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from datetime import UTC
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.behaviour.contract import BehaviourEvent, InvalidEvent, parse_event
from jobs.behaviour.topics import BehaviourTopics
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env
from tests import hostile_events as hostile
from tests.integration.flink_verdicts import produce
from tests.message_strategies import field_values, json_values, profile

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

BASE = hostile.BEHAVIOUR
CASES: dict[str, dict[str, Any]] = {
    "valid": {},
    "valid_no_product": {"product_id": None},
    "valid_null_product": {"product_id": "null"},  # written as JSON null below
    "valid_offset_fraction": {"event_time": "2026-03-10T15:00:00.123456+05:00"},
    "valid_unicode_page": {"page": "/caf\u00e9/\U0001f3b2"},
    "valid_extra_field": {"referrer": "https://example.org"},
    "valid_upper_uuid": {"event_id": "6F1E2C1A-1111-4111-8111-111111111111"},
    "valid_purchase": {"event_type": "purchase"},
    "unknown_event_type": {"event_type": "refund"},
    "upper_event_type": {"event_type": "PURCHASE"},
    "missing_session_hint": {"session_hint": None},
    "missing_page": {"page": None},
    "blank_user": {"user_id": " \u00a0"},
    "empty_page": {"page": ""},
    "numeric_product": {"product_id": 42},
    "numeric_user": {"user_id": 7},
    "long_page": {"page": "p" * 257},
    "control_in_hint": {"session_hint": "tab\u0001"},
    "bad_uuid": {"event_id": "42"},
    "no_offset": {"event_time": "2026-03-10T10:00:00"},
}
# The bet-shaped hostile cases, moved onto behaviour fields (every case keeps its kind of breach).
RENAME = {
    "bet_id": "event_id",
    "game": "page",
    "status": "event_type",
    "currency": "session_hint",
    "amount": "product_id",
    "odds": "product_id",
}
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def event(event_id: str, change: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"event_id": event_id, **BASE}
    for key, value in change.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = None if value == "null" and key == "product_id" else value
    return out


def hostile_cases(ids: Any) -> dict[str, bytes | None]:
    """tests/hostile_events.py's message and field cases on a behaviour event."""
    out: dict[str, bytes | None] = {}
    for name, change in hostile.FIELD_CASES.items():
        out[name] = hostile.dumps(event(ids(), {RENAME.get(k, k): v for k, v in change.items()}))
    for name, members in hostile.RAW_CASES.items():
        raw = {k: json.dumps(v, ensure_ascii=False) for k, v in event(ids(), {}).items()}
        out[name] = hostile.raw_object(list({**raw, **{RENAME.get(k, k): v for k, v in members.items()}}.items()))
    for name, extra in hostile.DUPLICATES.items():
        members = [(k, json.dumps(v)) for k, v in event(ids(), {}).items()]
        renamed = [(RENAME.get(k, k).replace("g\\u0061me", "p\\u0061ge"), v) for k, v in extra]
        out[name] = hostile.raw_object(members + renamed)
    out.update(hostile.WHOLE)
    out["trailing_data"] = hostile.dumps(event(ids(), {})) + b' {"x":1}'
    return out


def corpus() -> dict[str, bytes | None]:
    out = {
        name: json.dumps(event(f"00000000-0000-4000-8000-{n:012d}", change), ensure_ascii=False).encode()
        for n, (name, change) in enumerate(CASES.items(), start=1)
    }
    out.update(hostile_cases(hostile.sequential_ids(14)))
    return out


@st.composite
def messages(draw: st.DrawFn) -> bytes | None:
    """A near-valid behaviour event with hostile field values (the shared strategies), or any JSON document."""
    if draw(st.integers(0, 9)) == 0:
        return json.dumps(draw(json_values), default=str).encode("utf-8", "surrogatepass")
    members = [(k, draw(field_values(k, v))) for k, v in {"event_id": PLACEHOLDER, **BASE}.items()]
    members = [(k, v) for k, v in members if draw(st.integers(0, 30)) > 0]
    return ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in members) + "}").encode("utf-8", "surrogatepass")


SCRIPT = textwrap.dedent(
    """
    from jobs.behaviour import flink_sql
    from jobs.behaviour.topics import BehaviourTopics
    from jobs.common.settings import KafkaSettings, PostgresSettings, load
    from jobs.flink.environment import execute, jdbc_sink_options, kafka_source_options, table_environment, with_clause
    from jobs.flink.settings import FlinkSettings

    kafka, pg, settings = load(KafkaSettings), load(PostgresSettings), load(FlinkSettings)
    t_env = table_environment(settings, "verdicts-behaviour")
    t_env.get_config().set("table.local-time-zone", "UTC")
    source = with_clause(kafka_source_options(kafka, load(BehaviourTopics).events, "verdicts", settings))
    t_env.execute_sql(flink_sql.source_ddl("src", source, 0, ("`offset` BIGINT METADATA VIRTUAL",)))
    t_env.create_temporary_view("valid", t_env.sql_query(flink_sql.valid_events_view("src", ("`offset`",))))
    sink = with_clause(jdbc_sink_options(pg, "accepted", settings))
    t_env.execute_sql(
        "CREATE TEMPORARY TABLE accepted (kafka_offset BIGINT, event_id STRING, user_id STRING, session_hint STRING, "
        "event_type STRING, funnel_stage SMALLINT, page STRING, product_id STRING, ts TIMESTAMP(3), "
        f"PRIMARY KEY (kafka_offset) NOT ENFORCED) {sink}"
    )
    statements = t_env.create_statement_set()
    statements.add_insert_sql(
        "INSERT INTO accepted SELECT `offset`, event_id, user_id, session_hint, event_type, funnel_stage, page, "
        "product_id, CAST(ts AS TIMESTAMP(3)) FROM valid"
    )
    execute(statements, wait=True)
    """
)


def flink_rows(
    raws: list[bytes | None], kafka: KafkaSettings, pg: PostgresSettings, tmp_path: Path
) -> dict[int, tuple]:
    """Offset → the row Flink accepted for ``raws`` (one partition, so offset = index)."""
    name = f"verdict-behaviour-{secrets.token_hex(4)}"
    topics = BehaviourTopics(events=name, dlq=f"{name}.dlq")
    produce(kafka, name, raws)
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE accepted (kafka_offset bigint PRIMARY KEY, event_id text, user_id text, session_hint text, "
            "event_type text, funnel_stage smallint, page text, product_id text, ts timestamp(3))"
        )
    env = {
        **os.environ,
        **to_env(kafka, topics, pg),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
    }
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-8000:]
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM accepted ORDER BY kafka_offset")
        rows = {row[0]: tuple(row[1:]) for row in cur.fetchall()}
        cur.execute("DROP TABLE accepted")
    return rows


def python_verdict(raw: bytes | None) -> BehaviourEvent | None:
    try:
        return parse_event(raw)
    except InvalidEvent:
        return None


def as_flink_row(e: BehaviourEvent) -> tuple:
    """What Flink must have read for ``e``: its time in UTC truncated to the millisecond."""
    ts = e.event_time.astimezone(UTC).replace(tzinfo=None)
    ts = ts.replace(microsecond=ts.microsecond // 1000 * 1000)
    return (e.event_id, e.user_id, e.session_hint, e.event_type, e.funnel_stage, e.page, e.product_id, ts)


@pytest.mark.timeout(1800)  # one bounded Flink job per example
@profile(1)
@given(generated=st.lists(messages(), min_size=60, max_size=120))
def test_python_and_flink_give_every_behaviour_message_the_same_verdict(
    kafka_settings: KafkaSettings, pg_schema: PostgresSettings, tmp_path: Path, generated: list[bytes | None]
) -> None:
    fixed = corpus()
    names = [*fixed, *(f"generated_{n}" for n in range(len(generated)))]
    raws = [*fixed.values(), *generated]
    raws = [  # every generated message its own id, so accepted rows never collapse
        None if raw is None else raw.replace(PLACEHOLDER.encode(), b"00000000-0000-4000-9000-%012d" % n)
        for n, raw in enumerate(raws)
    ]
    flink = flink_rows(raws, kafka_settings, pg_schema, tmp_path / secrets.token_hex(4))
    python = {offset: python_verdict(raw) for offset, raw in enumerate(raws)}
    accepted = {names[offset] for offset, e in python.items() if e is not None}
    assert {name for name in CASES if name.startswith("valid")} <= accepted
    assert not {name for name in CASES if not name.startswith("valid")} & accepted
    disagree = {names[o]: raws[o] for o in python if (python[o] is None) != (o not in flink)}
    assert not disagree, f"Python and Flink disagree on {disagree}"
    for offset, e in python.items():
        if e is not None:
            assert flink[offset] == as_flink_row(e), names[offset]
