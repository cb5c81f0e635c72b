"""A headless Debian chromium, driven by selenium, that uses the local Airflow UI as a person would.

For tests/integration/test_airflow_local.py. Airflow 3's UI is a React app that renders after its API calls
return, so every step waits explicitly (``WebDriverWait``) for the element it needs, never for a fixed time.
The browser and its driver are Debian's ``chromium`` and ``chromium-driver`` (same version, installed by
``make chromium``, part of ``make setup``); selenium is told both paths, so it never tries to download a browser.
Selectors are the UI's own ``data-testid``/``name`` attributes (Airflow 3.3), not its generated CSS classes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 120.0  # deadline for an element to appear: a single api-server worker on two shared, busy cores
WINDOW = (1400, 1600)  # tall: the task log is a virtualized list that renders only the lines in view


def binaries() -> tuple[str, str]:
    """Paths of chromium and chromedriver; missing: an error naming the make target that installs them."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if None in found:
        raise RuntimeError("chromium/chromedriver not on PATH: run `make chromium` (Debian chromium, chromium-driver)")
    return found[0] or "", found[1] or ""


class AirflowUi:
    """One headless browser session on an Airflow UI at ``url``; chromedriver's log in ``workdir``, a throwaway
    profile (removed on exit)."""

    def __init__(self, url: str, workdir: Path) -> None:
        chromium, chromedriver = binaries()
        self._profile = tempfile.TemporaryDirectory(prefix="brook-chromium-")
        options = Options()
        options.binary_location = chromium
        for arg in (
            "--headless=new",
            "--no-sandbox",  # tests may run as root (containers), where chromium's sandbox cannot start
            "--disable-dev-shm-usage",
            "--disable-gpu",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--user-data-dir={self._profile.name}",
        ):
            options.add_argument(arg)
        service = Service(executable_path=chromedriver, log_output=str(workdir / "chromedriver.log"))
        self.url = url
        try:
            self.driver: WebDriver = webdriver.Chrome(options=options, service=service)
        except BaseException:
            self._profile.cleanup()
            raise
        self.wait = WebDriverWait(self.driver, WAIT)

    def __enter__(self) -> AirflowUi:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.driver.quit()
        finally:
            self._profile.cleanup()

    def login(self, user: str, password: str) -> None:
        """The simple auth manager's form; done when the browser has left the login page."""
        self.driver.get(self.url + "/")
        self.wait.until(ec.element_to_be_clickable((By.NAME, "username"))).send_keys(user)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[type=submit]"))).click()
        self.wait.until(lambda d: "/auth/login" not in d.current_url)

    def dag_list(self, expected: int) -> dict[str, bool]:
        """The DAG list page as shown: each card's DAG id and whether its pause switch is on (unpaused).

        Waits until ``expected`` cards are rendered, each with its switch in a definite state."""
        self.driver.get(self.url + "/dags")
        cards_css = "[data-testid=dag-card]"
        self.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, cards_css)) >= expected)
        shown: dict[str, bool] = {}
        for card in self.driver.find_elements(By.CSS_SELECTOR, cards_css):
            dag_id = card.find_element(By.CSS_SELECTOR, "[data-testid=dag-id]").text
            switch = card.find_element(By.CSS_SELECTOR, "[data-testid=toggle-pause]")
            self.wait.until(lambda _, s=switch: s.get_attribute("data-state") in ("checked", "unchecked"))
            shown[dag_id] = switch.get_attribute("data-state") == "checked"
        return shown

    def task_log(self, dag_id: str, run_id: str, task_id: str, until: str) -> str:
        """The text of a task's log view (its latest try), once it shows ``until``."""
        self.driver.get(f"{self.url}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}")
        log_css = "[data-testid=virtualized-list]"
        self.wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, log_css), until))
        return self.driver.find_element(By.CSS_SELECTOR, log_css).text

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(path)):
            raise RuntimeError(f"chromium could not write the screenshot {path}")
        return path
