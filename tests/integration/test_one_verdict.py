"""One verdict per message, everywhere (issue 9): Hypothesis throws generated hostile messages at all three judges.

- Python vs Postgres (fast, many examples): every event the contract accepts is stored by the consumer's own
  insert (``jobs.bets.store.insert_bets``) and reads back exactly, payload included; its ``game`` fits the
  primary-key index of the window tables.
- Python vs Flink SQL vs Postgres (one bounded Flink job per example, many messages each): Flink accepts exactly
  the messages Python accepts, reads each the same way, and the four window tables its JDBC sinks write equal
  what Python computes from its own verdicts. Telecom likewise for the verdict and the typed rows.

``make test`` runs a bounded number of examples; ``make fuzz`` multiplies them (``BROOK_FUZZ_SCALE``).
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.bets.contract import Bet, parse_bet
from jobs.bets.store import insert_bets
from jobs.bets.topics import BetsTopics
from jobs.common.rules import InvalidEvent
from jobs.common.settings import KafkaSettings, PostgresSettings
from jobs.telecom.contract import parse_telecom
from jobs.telecom.topics import TelecomTopics
from tests.hostile_events import in_time_order
from tests.integration import flink_verdicts
from tests.message_strategies import messages, profile

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

PLACEHOLDER = b"00000000-0000-4000-8000-000000000000"
WINDOW = timedelta(seconds=60)  # BROOK_WINDOW_SECONDS default, as the Flink job runs here


def numbered(raws: list[bytes | None]) -> list[bytes | None]:
    """Give every message its own id (the strategies use one placeholder), so rows never collapse."""
    return [
        None if raw is None else raw.replace(PLACEHOLDER, b"00000000-0000-4000-8000-%012d" % n)
        for n, raw in enumerate(raws)
    ]


def verdict(parse: Callable[[bytes | None], Any], raw: bytes | None) -> Any:
    try:
        return parse(raw)
    except InvalidEvent:
        return None


def stored_row(bet: Bet) -> tuple:
    return (
        bet.bet_id,
        bet.user_id,
        bet.game,
        bet.amount,
        bet.currency,
        bet.odds,
        bet.status,
        bet.event_time,
        bet.payload,
    )


def read_bets(cur: Any) -> dict[str, tuple]:
    cur.execute(
        "SELECT bet_id::text, user_id, game, amount, currency, odds, status, event_time, payload::text FROM bets"
    )
    return {
        row[0]: (*row[:8], None if row[8] is None else json.loads(row[8], parse_float=Decimal))
        for row in cur.fetchall()
    }


@profile(25)
@given(raws=st.lists(messages("bets"), min_size=5, max_size=40))
def test_python_and_postgres_agree_on_every_accepted_bet(pg_schema: PostgresSettings, raws: list[bytes | None]) -> None:
    bets = [bet for bet in (verdict(parse_bet, raw) for raw in numbered(raws)) if bet is not None]
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE bets, top_games")
        assert insert_bets(conn, bets) == len(bets)
        stored = read_bets(cur)
        cur.executemany(
            "INSERT INTO top_games VALUES ('2026-01-01Z', '2026-01-01Z', %s, 1, %s) ON CONFLICT DO NOTHING",
            [(bet.game, bet.amount) for bet in bets],
        )
    assert stored == {bet.bet_id: stored_row(bet) for bet in bets}


def as_flink_row(bet: Bet) -> tuple:
    ts = bet.event_time.replace(tzinfo=None, microsecond=bet.event_time.microsecond // 1000 * 1000)
    return (bet.bet_id, bet.user_id, bet.game, bet.amount, bet.currency, bet.odds, bet.status, ts)


def window_of(at: datetime) -> tuple[datetime, datetime]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = epoch + (at - epoch) // WINDOW * WINDOW
    return start, start + WINDOW


def expected_windows(bets: list[Bet]) -> dict[str, set[tuple]]:
    """The four result tables as Python computes them from its own verdicts (ids are unique: no dedup needed)."""
    groups: dict[str, dict[tuple, list[Bet]]] = {name: defaultdict(list) for name in ("game", "status", "window")}
    for bet in bets:
        window = window_of(bet.event_time)
        groups["game"][(*window, bet.game)].append(bet)
        groups["status"][(*window, bet.status)].append(bet)
        groups["window"][window].append(bet)

    def average(rows: list[Bet]) -> Decimal:
        mean = (sum(b.amount for b in rows) / len(rows)).quantize(Decimal("0.000001"), ROUND_HALF_UP)
        return mean.quantize(Decimal("0.0001"), ROUND_HALF_UP)

    return {
        "top_games": {(*key, len(rows), sum(b.amount for b in rows)) for key, rows in groups["game"].items()},
        "avg_bet": {(*key, len(rows), average(rows)) for key, rows in groups["game"].items()},
        "bet_status": {(*key, len(rows)) for key, rows in groups["status"].items()},
        "active_users": {(*key, len({b.user_id for b in rows})) for key, rows in groups["window"].items()},
    }


def read_windows(pg: PostgresSettings) -> dict[str, set[tuple]]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        out = {}
        for table in ("top_games", "avg_bet", "bet_status", "active_users"):
            cur.execute(f"SELECT * FROM {table}")
            out[table] = set(cur.fetchall())
            cur.execute(f"TRUNCATE {table}")
    return out


@pytest.mark.timeout(1800)  # one bounded Flink job per example
@profile(1)
@given(raws=st.lists(messages("bets"), min_size=60, max_size=160))
def test_python_flink_and_postgres_give_one_verdict_for_bets(
    kafka_settings: KafkaSettings, pg_schema: PostgresSettings, tmp_path: Path, raws: list[bytes | None]
) -> None:
    raws = in_time_order(numbered(raws), parse_bet)
    topics = BetsTopics(bets=f"verdict-bets-{secrets.token_hex(4)}", dlq=f"verdict-bets-{secrets.token_hex(4)}.dlq")
    run_dir = tmp_path / secrets.token_hex(4)
    flink = flink_verdicts.run("bets", raws, kafka_settings, topics, pg_schema, run_dir, windows=True)
    python = {n: verdict(parse_bet, raw) for n, raw in enumerate(raws)}
    disagree = {n: raws[n] for n in python if (python[n] is None) != (n not in flink)}
    assert not disagree, f"Python and Flink disagree on {disagree}"
    accepted = [bet for bet in python.values() if bet is not None]
    assert {n: flink[n] for n in flink} == {n: as_flink_row(bet) for n, bet in python.items() if bet is not None}
    assert read_windows(pg_schema) == expected_windows(accepted)


@pytest.mark.timeout(1800)  # one bounded Flink job per example
@profile(1)
@given(raws=st.lists(messages("telecom", ident=PLACEHOLDER.decode()), min_size=60, max_size=160))
def test_python_and_flink_give_one_verdict_for_telecom(
    kafka_settings: KafkaSettings, pg_schema: PostgresSettings, tmp_path: Path, raws: list[bytes | None]
) -> None:
    raws = numbered(raws)
    topics = TelecomTopics(events=f"verdict-telecom-{secrets.token_hex(4)}")
    flink = flink_verdicts.run("telecom", raws, kafka_settings, topics, pg_schema, tmp_path / secrets.token_hex(4))
    python = {n: verdict(parse_telecom, raw) for n, raw in enumerate(raws)}
    disagree = {n: raws[n] for n in python if (python[n] is None) != (n not in flink)}
    assert not disagree, f"Python and Flink disagree on {disagree}"
    for n, event in python.items():
        if event is not None:
            ts = event.event_time.replace(tzinfo=None, microsecond=event.event_time.microsecond // 1000 * 1000)
            row = (event.event_id, event.event_type, event.subscriber_id, event.region, event.duration)
            assert flink[n] == (*row, event.data_mb, event.amount, ts)
