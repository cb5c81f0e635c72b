"""``make superset`` for real: a fresh Superset imports Brook's dashboards as code and draws the demos' results.

One private Superset for the module through jobs.local.superset (the code behind ``make superset``): its own
metadata database and roles in the local Postgres, its own port, config and logs in a temp folder, reading a private
results schema. That schema is filled first by the bets demo's own code (BetsDemo: producer → Kafka → consumer →
Postgres, the four Flink windows as one bounded job, exporter, audit; a few hundred events) and by the telecom
daily batch over a few hand-written real-time windows, and a few IoT, behaviour and e-commerce rows in their tables'
shape. Then a headless Debian chromium
(tests/integration/superset_browser.py) logs in with the generated password and reads each dashboard's charts:
table cells and the big number are compared with SQL over the same tables, the ECharts charts (drawn on a canvas)
must have drawn pixels. Screenshots: ``$BROOK_HOME/artifacts/superset/``. Runtime: the demo's Flink job and
Superset's cold start (migrations, permission sync), a few minutes on two busy cores.
"""

from __future__ import annotations

import dataclasses
import io
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
import yaml

from jobs.common.settings import PostgresSettings, S3Settings, to_env
from jobs.local.app_home import Layout
from jobs.local.bets_demo import BetsDemo
from jobs.local.ports import free_ports
from jobs.local.services import LocalServices
from jobs.local.superset import ADMIN, ASSETS, CONFIG_NAME, Instance, LocalSuperset
from tests.integration.superset_browser import SupersetUi
from tests.integration.test_airflow_local import empty_bucket, sql
from tests.integration.test_telecom_daily import DAY, METRICS

pytestmark = pytest.mark.integration

EVENTS, FAULTS = 400, 5
ARTIFACTS = LocalServices().paths.home / "artifacts" / "superset"
# A canvas pixel is drawn when its alpha is not 0; an empty ECharts canvas has none.
DRAWN_PIXELS_JS = """
const canvas = arguments[0].querySelector('canvas');
if (!canvas) return 0;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let drawn = 0;
for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn++;
return drawn;
"""


# A few IoT windows and alerts as the IoT Flink job writes them (jobs/iot/sql/009_iot.sql): the IoT dashboard's data.
IOT_WINDOWS = [
    ("2026-03-10 10:00", "2026-03-10 10:00", "dev-1", "temperature", 12, 19.5, 31.25, 24.0, 30.0),
    ("2026-03-10 10:01", "2026-03-10 10:01", "dev-1", "temperature", 8, 21.0, 29.5, 25.0, 22.0),
    ("2026-03-10 10:00", "2026-03-10 10:00", "dev-2", "humidity", 5, 40.0, 71.75, 55.0, 60.0),
]
IOT_ALERTS = [
    (1, "dev-1", "plant-a", "temperature", 31.25, "C", "2026-03-10 10:00:30", "high", 30.0),
    (2, "dev-1", "plant-a", "temperature", 30.5, "C", "2026-03-10 10:00:40", "high", 30.0),
    (3, "dev-2", "plant-b", "humidity", 10.0, "%", "2026-03-10 10:00:50", "low", 20.0),
]
# Behaviour minutes and sessions as its Flink job writes them (jobs/behaviour/sql/011_behaviour.sql): 2 of 5 converted.
BEHAVIOUR_MINUTES = [  # window_start, active_users, page_views, searches, add_to_cart, checkouts, purchases
    ("2026-03-10 10:00", 3, 10, 2, 3, 1, 1),
    ("2026-03-10 10:01", 2, 6, 1, 1, 1, 0),
    ("2026-03-10 10:02", 4, 12, 3, 2, 2, 2),
]
BEHAVIOUR_SESSIONS = [  # user_id, session_start, events, page_views, distinct_pages, funnel_stage
    ("u1", "2026-03-10 10:00", 6, 3, 2, 4),
    ("u2", "2026-03-10 10:00", 2, 2, 1, 1),
    ("u3", "2026-03-10 10:01", 3, 2, 2, 2),
    ("u4", "2026-03-10 10:01", 4, 2, 2, 3),
    ("u5", "2026-03-10 10:02", 7, 4, 3, 4),
]
# One e-commerce day as jobs.ecommerce.batch writes it (jobs/ecommerce/sql/012_ecommerce.sql); revenues under 1000
# so the table cells carry no thousands separator.
ECOMMERCE_DAY = "2026-03-10"
ECOMMERCE_REVENUE = [("books", 9, 2, 3, "45.50"), ("books", 14, 1, 1, "12.00"), ("toys", 9, 3, 4, "120.25")]
ECOMMERCE_CONVERSION = [("books", 20, 8, 3, 2), ("toys", 10, 5, 3, 3)]
ECOMMERCE_RETURNS = [("books", 1, 1, 4), ("toys", 2, 2, 4)]
ECOMMERCE_TOP = [(1, "p-7", "toys", 4, "120.25"), (2, "p-3", "books", 3, "45.50"), (3, "p-9", "books", 1, "12.00")]


@dataclass
class Running:
    superset: LocalSuperset
    pg: PostgresSettings
    output: str


def assets(kind: str) -> dict[str, dict]:
    """The committed asset files of one kind (charts, datasets, dashboards, databases), by file stem."""
    return {path.stem: yaml.safe_load(path.read_text()) for path in sorted((ASSETS / kind).rglob("*.yaml"))}


@pytest.fixture(scope="module")
def results(
    local_env: dict[str, str], pg_settings: PostgresSettings, s3_settings: S3Settings
) -> Iterator[PostgresSettings]:
    """A private schema holding a short bets demo's results and a telecom day (dropped afterwards)."""
    suffix = secrets.token_hex(3)
    pg = dataclasses.replace(pg_settings, schema=f"t_superset_{suffix}")
    s3 = dataclasses.replace(s3_settings, bucket=f"t-superset-{suffix}")
    demo = BetsDemo(EVENTS, 0.0, 17, LocalServices().paths, FAULTS, schema=pg.schema, bucket=s3.bucket)
    output = io.StringIO()
    try:
        with redirect_stdout(output):
            code = demo.run(local_env)
        assert code == 0, output.getvalue()[-4000:]
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
            for start, kind, region, n, seconds, mb, amount in METRICS:  # test_telecom_daily's hand-written windows
                cur.execute(
                    "INSERT INTO real_time_metrics (window_start, window_end, event_type, region, event_count, "
                    "total_duration, total_data_mb, total_amount) VALUES (%s::timestamp AT TIME ZONE 'UTC', "
                    "%s::timestamp AT TIME ZONE 'UTC' + interval '1 minute', %s, %s, %s, %s, %s, %s)",
                    (start, start, kind, region, n, seconds, mb, amount),
                )
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO iot_windows VALUES (%s, %s::timestamp + interval '1 minute', %s, %s, %s, %s, %s, %s, %s)",
                IOT_WINDOWS,
            )
            cur.executemany("INSERT INTO iot_alerts VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", IOT_ALERTS)
            cur.executemany(
                "INSERT INTO behaviour_minute VALUES (%s::timestamp AT TIME ZONE 'UTC', "
                "%s::timestamp AT TIME ZONE 'UTC' + interval '1 minute', %s, %s, %s, %s, %s, %s)",
                [(start, start, *counts) for start, *counts in BEHAVIOUR_MINUTES],
            )
            cur.executemany(
                "INSERT INTO behaviour_sessions VALUES (%s, %s::timestamp AT TIME ZONE 'UTC', "
                "%s::timestamp AT TIME ZONE 'UTC' + interval '30 minutes', %s, %s, %s, %s, %s)",
                [(u, start, start, *counts, stage, stage == 4) for u, start, *counts, stage in BEHAVIOUR_SESSIONS],
            )
            day = (ECOMMERCE_DAY,)
            cur.executemany(
                "INSERT INTO ecommerce_revenue VALUES (%s, %s, %s, %s, %s, %s)", [day + r for r in ECOMMERCE_REVENUE]
            )
            cur.executemany(
                "INSERT INTO ecommerce_conversion VALUES (%s, %s, %s, %s, %s, %s)",
                [day + r for r in ECOMMERCE_CONVERSION],
            )
            cur.executemany(
                "INSERT INTO ecommerce_returns VALUES (%s, %s, %s, %s, %s)", [day + r for r in ECOMMERCE_RETURNS]
            )
            cur.executemany(
                "INSERT INTO ecommerce_top_products VALUES (%s, %s, %s, %s, %s, %s)", [day + r for r in ECOMMERCE_TOP]
            )
        batch = subprocess.run(
            [sys.executable, "-m", "jobs.telecom.daily_batch", "--date", DAY],
            env=to_env(pg),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert batch.returncode == 0, batch.stderr[-3000:]
        yield pg
    finally:
        demo.stop_children()
        sql(pg_settings, f"DROP SCHEMA IF EXISTS {pg.schema} CASCADE")
        empty_bucket(s3)


@pytest.fixture(scope="module")
def superset(results: PostgresSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A started private Superset on the results schema (stopped, its databases and roles removed afterwards)."""
    home = tmp_path_factory.mktemp("superset")
    instance = Instance(database=f"superset_t{secrets.token_hex(3)}", port=free_ports(23300), schema=results.schema)
    local = LocalSuperset(instance, Layout.under(home, CONFIG_NAME))
    output = io.StringIO()
    try:
        with redirect_stdout(output):
            local.up()
        yield Running(local, results, output.getvalue())
    finally:
        local.stop()
        local.drop_database()


def metadata(running: Running, query: str) -> list[tuple]:
    """A query on the instance's own metadata database, as Brook's superuser."""
    conn = running.superset._superuser(running.superset.instance.database)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()
    finally:
        conn.close()


def test_the_assets_import_into_a_fresh_superset(superset: Running) -> None:
    charts, datasets, dashboards = assets("charts"), assets("datasets"), assets("dashboards")
    assert {r[0] for r in metadata(superset, "SELECT uuid::text FROM slices")} == {c["uuid"] for c in charts.values()}
    assert {r[0] for r in metadata(superset, "SELECT table_name FROM tables")} == set(datasets)
    shown = dict(metadata(superset, "SELECT slug, dashboard_title FROM dashboards"))
    assert shown == {d["slug"]: d["dashboard_title"] for d in dashboards.values()}
    [(name, uri, stored)] = metadata(superset, "SELECT database_name, sqlalchemy_uri, password FROM dbs")
    reader_password = json.loads(superset.superset.layout.secrets.read_text())["reader_password"]
    assert name == "Brook results" and f"{superset.superset.instance.reader}:XXXXXXXXXX@" in uri
    assert f"search_path%3D{superset.pg.schema}" in uri
    assert stored and reader_password.encode() not in bytes(stored), "kept encrypted with the generated SECRET_KEY"
    # Every dashboard holds exactly the charts its position names.
    layout = metadata(
        superset,
        "SELECT d.slug, s.uuid::text FROM dashboards d JOIN dashboard_slices ds "
        "ON ds.dashboard_id = d.id JOIN slices s ON s.id = ds.slice_id",
    )
    for dashboard in dashboards.values():
        placed = {
            item["meta"]["uuid"]
            for item in dashboard["position"].values()
            if isinstance(item, dict) and item.get("type") == "CHART"
        }
        assert {u for slug, u in layout if slug == dashboard["slug"]} == placed


def test_the_secrets_are_generated_private_and_the_password_printed_once(superset: Running) -> None:
    layout = superset.superset.layout
    password = json.loads(layout.admin_password.read_text())[ADMIN]
    assert password != "admin" and len(password) >= 16
    for private in (layout.admin_password, layout.secrets, layout.config):
        assert private.stat().st_mode & 0o077 == 0, private
    assert superset.output.count(password) == 1 and superset.superset.instance.url in superset.output
    again = io.StringIO()
    with redirect_stdout(again):
        superset.superset.report()
    assert password not in again.getvalue() and str(layout.admin_password) in again.getvalue()


def test_the_reader_role_cannot_write(superset: Running) -> None:
    values = json.loads(superset.superset.layout.secrets.read_text())
    reader = dataclasses.replace(
        superset.pg, user=superset.superset.instance.reader, password=values["reader_password"]
    )
    assert sql(reader, "SELECT count(*) FROM bets") == [(EVENTS,)]
    with pytest.raises(psycopg2.Error, match="read-only transaction"):
        sql(reader, "DELETE FROM bets")


def browser(superset: Running, tmp_path: Path) -> SupersetUi:
    ui = SupersetUi(superset.superset.instance.url, tmp_path)
    ui.login(ADMIN, json.loads(superset.superset.layout.admin_password.read_text())[ADMIN])
    return ui


def test_the_bets_dashboard_shows_the_demos_results_in_a_headless_browser(superset: Running, tmp_path: Path) -> None:
    pg = superset.pg
    top = sql(pg, "SELECT game, SUM(bets) FROM top_games GROUP BY game ORDER BY SUM(amount_total) DESC LIMIT 10")
    averages = dict(sql(pg, "SELECT game, ROUND(SUM(avg_amount * bets) / SUM(bets), 2) FROM avg_bet GROUP BY game"))
    assert top and averages, "the demo's Flink job wrote its windows"
    with browser(superset, tmp_path) as ui:
        charts = ui.dashboard("brook-bets", charts=5)
        assert set(charts) == {
            "Bets stored",
            "Bet statuses",
            "Top games",
            "Average bet by game",
            "Active users per minute",
        }
        assert ui.wait_for(charts["Bets stored"], ".header-line")[0].text == f"{EVENTS:,}"
        assert {(game, int(bets)) for game, bets, _ in ui.table(charts["Top games"])} == set(top)
        shown = ui.table(charts["Average bet by game"])
        assert shown and all(Decimal(avg) == averages[game] for game, avg, _ in shown)
        for title in ("Bet statuses", "Active users per minute"):
            ui.wait_for(charts[title], "canvas")
            assert ui.driver.execute_script(DRAWN_PIXELS_JS, charts[title]) > 0, f"{title}: nothing drawn"
        assert ui.errors() == []
        print(f"screenshot: {ui.screenshot(ARTIFACTS / 'bets-dashboard.png')}")


def test_the_telecom_dashboard_shows_real_time_windows_and_daily_stats(superset: Running, tmp_path: Path) -> None:
    pg = superset.pg
    regions = {r: int(n) for r, n in sql(pg, "SELECT region, SUM(event_count) FROM real_time_metrics GROUP BY region")}
    daily = sql(pg, "SELECT date::text, region, SUM(total_events) FROM daily_stats GROUP BY date, region")
    assert regions and daily
    with browser(superset, tmp_path) as ui:
        charts = ui.dashboard("brook-telecom", charts=3)
        assert {r[0]: int(r[1]) for r in ui.table(charts["Real-time totals by region"])} == regions
        assert {(d, region, int(n)) for d, region, n, *_ in ui.table(charts["Daily stats by region"])} == set(daily)
        ui.wait_for(charts["Events per minute by type"], "canvas")
        assert ui.driver.execute_script(DRAWN_PIXELS_JS, charts["Events per minute by type"]) > 0
        assert ui.errors() == []
        print(f"screenshot: {ui.screenshot(ARTIFACTS / 'telecom-dashboard.png')}")


def test_the_iot_dashboard_shows_sensor_windows_and_alerts(superset: Running, tmp_path: Path) -> None:
    pg = superset.pg
    sensors = sql(pg, "SELECT sensor, SUM(reading_count), MIN(min_value), MAX(max_value) FROM iot_windows GROUP BY 1")
    alerts = sql(pg, "SELECT site, sensor, direction, COUNT(*) FROM iot_alerts GROUP BY 1, 2, 3")
    with browser(superset, tmp_path) as ui:
        charts = ui.dashboard("brook-iot", charts=2)
        shown = {(s, int(n), float(lo), float(hi)) for s, n, lo, hi in ui.table(charts["Readings per sensor"])}
        assert shown == {(s, int(n), lo, hi) for s, n, lo, hi in sensors}
        assert {(a, b, c, int(n)) for a, b, c, n in ui.table(charts["Alerts by site and sensor"])} == set(alerts)
        assert ui.errors() == []
        print(f"screenshot: {ui.screenshot(ARTIFACTS / 'iot-dashboard.png')}")


def drew(ui: SupersetUi, charts: dict, title: str) -> None:
    """An ECharts chart (drawn on a canvas) has drawn pixels."""
    ui.wait_for(charts[title], "canvas")
    assert ui.driver.execute_script(DRAWN_PIXELS_JS, charts[title]) > 0, f"{title}: nothing drawn"


def test_the_behaviour_dashboard_shows_minutes_funnel_and_sessions(superset: Running, tmp_path: Path) -> None:
    pg = superset.pg
    minutes = sql(
        pg,
        "SELECT active_users, page_views, searches, add_to_cart, checkouts, purchases FROM behaviour_minute",
    )
    [(rate,)] = sql(pg, "SELECT AVG(converted::int) FROM behaviour_sessions")
    assert len(minutes) == len(BEHAVIOUR_MINUTES)
    with browser(superset, tmp_path) as ui:
        charts = ui.dashboard("brook-behaviour", charts=4)
        assert set(charts) == {
            "Active users and funnel per minute",
            "Funnel counts per minute",
            "Sessions by funnel stage reached",
            "Session conversion rate",
        }
        shown = sorted(tuple(int(n) for n in row[1:]) for row in ui.table(charts["Funnel counts per minute"]))
        assert shown == sorted(minutes)
        assert ui.wait_for(charts["Session conversion rate"], ".header-line")[0].text == f"{float(rate):.1%}"
        drew(ui, charts, "Active users and funnel per minute")
        drew(ui, charts, "Sessions by funnel stage reached")
        assert ui.errors() == []
        print(f"screenshot: {ui.screenshot(ARTIFACTS / 'behaviour-dashboard.png')}")


def test_the_ecommerce_dashboard_shows_revenue_rates_and_top_products(superset: Running, tmp_path: Path) -> None:
    pg = superset.pg
    revenue = sql(pg, "SELECT category, SUM(revenue), SUM(units), SUM(order_lines) FROM ecommerce_revenue GROUP BY 1")
    rates = sql(
        pg,
        "SELECT category, SUM(viewers), SUM(converted)::numeric / SUM(viewers), "
        "SUM(returned_units)::numeric / SUM(sold_units) FROM ecommerce_rates GROUP BY 1",
    )
    top = sql(pg, "SELECT product_id, category, revenue, units FROM ecommerce_top_products")
    assert len(revenue) == 2 and len(rates) == 2 and len(top) == len(ECOMMERCE_TOP)
    with browser(superset, tmp_path) as ui:
        charts = ui.dashboard("brook-ecommerce", charts=4)
        shown = {(c, float(r), int(u), int(n)) for c, r, u, n in ui.table(charts["Revenue by category"])}
        assert shown == {(c, float(r), int(u), int(n)) for c, r, u, n in revenue}
        shown = {
            (c, int(v), float(cr), float(rr))
            for c, v, cr, rr in ui.table(charts["Conversion and return rates by category"])
        }
        assert shown == {(c, int(v), round(float(cr), 4), round(float(rr), 4)) for c, v, cr, rr in rates}
        shown = {(p, c, float(r), int(u)) for p, c, r, u in ui.table(charts["Top products"])}
        assert shown == {(p, c, float(r), int(u)) for p, c, r, u in top}
        drew(ui, charts, "Revenue per hour by category")
        assert ui.errors() == []
        print(f"screenshot: {ui.screenshot(ARTIFACTS / 'ecommerce-dashboard.png')}")
