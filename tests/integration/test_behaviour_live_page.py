"""The gateway's live page in a real headless browser (Debian's chromium via selenium, as the Airflow UI test):
the page connects to /live/updates and shows behaviour_minute's rows, and a row written to Postgres appears and
changes on the open page without a reload. The screenshot lands in $BROOK_HOME/artifacts/behaviour-live/."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from jobs.behaviour.topics import BehaviourTopics
from jobs.common.settings import PostgresSettings
from tests.conftest import unique_topic
from tests.integration import behaviour_gateway
from tests.integration.airflow_browser import binaries

pytestmark = pytest.mark.integration
WAIT = 60.0  # deadline for the page to show a state: a guard against a hang, not an expectation
MINUTE = "2026-11-28 10:15:00+00"
UPSERT = """
INSERT INTO behaviour_minute VALUES (%s, %s::timestamptz + interval '1 minute', %s, %s, 2, 1, 1, 0)
ON CONFLICT (window_start) DO UPDATE SET active_users = EXCLUDED.active_users, page_views = EXCLUDED.page_views
"""


@pytest.fixture
def browser(local_env: dict[str, str]) -> Iterator[WebDriver]:
    chromium, chromedriver = binaries()
    artifacts = Path(local_env["BROOK_HOME"]) / "artifacts" / "behaviour-live"
    artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="brook-chromium-") as profile:
        options = Options()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
            options.add_argument(arg)
        options.add_argument("--window-size=1100,700")
        options.add_argument(f"--user-data-dir={profile}")
        service = Service(executable_path=chromedriver, log_output=str(artifacts / "chromedriver.log"))
        driver = webdriver.Chrome(options=options, service=service)
        try:
            yield driver
        finally:
            driver.quit()


def cells(driver: WebDriver) -> list[list[str]]:
    """The table as shown, read in one script call (a snapshot may re-render the rows between two WebDriver calls)."""
    script = (
        "return Array.from(document.querySelectorAll('#rows tr'), tr => Array.from(tr.cells, td => td.textContent))"
    )
    return driver.execute_script(script)


def test_the_live_page_shows_per_minute_rows_as_they_change(
    local_env: dict[str, str], pg_schema: PostgresSettings, browser: WebDriver, request: pytest.FixtureRequest
) -> None:
    name = unique_topic(request, "behaviour")
    env = {**local_env, "BROOK_PG_SCHEMA": pg_schema.schema}
    gateway = behaviour_gateway.start(
        env, BehaviourTopics(events=name, dlq=f"{name}.dlq"), live="true", live_poll_seconds="0.2"
    )
    try:
        wait = WebDriverWait(browser, WAIT)
        browser.get(gateway.http + "/live")
        status = browser.find_element(By.ID, "status")
        # The first snapshot read from Postgres arrived over the socket (before it: "not read yet"), the table empty.
        wait.until(lambda _: status.text.startswith("live · 0 minutes"))
        assert cells(browser) == []

        with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
            cur.execute(UPSERT, (MINUTE, MINUTE, 3, 9))
        wait.until(lambda d: cells(d) == [["2026-11-28 10:15", "3", "9", "2", "1", "1", "0"]])

        with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
            cur.execute(UPSERT, (MINUTE, MINUTE, 5, 14))  # the same minute, recounted (Flink's upsert)
        wait.until(lambda d: cells(d) == [["2026-11-28 10:15", "5", "14", "2", "1", "1", "0"]])
        assert int(status.get_attribute("data-frames") or 0) >= 3  # the page never reloaded: it was pushed
        shot = Path(local_env["BROOK_HOME"]) / "artifacts" / "behaviour-live" / "live.png"
        assert browser.save_screenshot(str(shot)), f"chromium could not write {shot}"
        print(f"screenshot: {shot}")
    finally:
        code, summary = gateway.stop()
    assert code == 0 and summary["connections"] == 0  # the page is a viewer, not an ingestion client
