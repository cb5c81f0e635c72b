"""The behaviour Flink job's settings and SQL composition, without Flink (the SQL itself runs in
tests/integration/test_behaviour_flink.py)."""

from __future__ import annotations

import pytest

from jobs.behaviour.contract import EVENT_TYPES, FUNNEL_STAGE
from jobs.behaviour.flink.sessions import BehaviourFlinkSettings
from jobs.behaviour.flink_sql import MINUTE_COUNTS, SINKS, minute_query, sessions_query
from jobs.common.settings import ConfigError, load

pytestmark = pytest.mark.unit


def test_the_session_gap_defaults_to_30_minutes_and_reaches_the_sql() -> None:
    default = load(BehaviourFlinkSettings, {}).session_gap_seconds
    assert default == 1800
    assert "INTERVAL '0 00:30:00' DAY TO SECOND" in sessions_query("v", default)
    seven = load(BehaviourFlinkSettings, {"BROOK_BEHAVIOUR_SESSION_GAP_SECONDS": "7"}).session_gap_seconds
    assert "INTERVAL '0 00:00:07' DAY TO SECOND" in sessions_query("v", seven)


@pytest.mark.parametrize("raw", ["0", "-5"])
def test_a_gap_below_one_second_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="BROOK_BEHAVIOUR_SESSION_GAP_SECONDS"):
        load(BehaviourFlinkSettings, {"BROOK_BEHAVIOUR_SESSION_GAP_SECONDS": raw})


def test_every_event_type_has_a_stage_and_exactly_one_minute_column() -> None:
    assert set(FUNNEL_STAGE) == set(EVENT_TYPES)
    assert sorted(MINUTE_COUNTS.values()) == sorted(EVENT_TYPES)
    minute_columns = [name for name, _ in SINKS["behaviour_minute"][0]]
    assert minute_columns[3:] == list(MINUTE_COUNTS)
    query = minute_query("v")
    assert all(f"event_type = '{kind}'" in query for kind in EVENT_TYPES)
