"""A headless Debian chromium, driven by selenium, that looks at Brook's Superset dashboards as a person would.

For tests/integration/test_superset.py. Superset's dashboard is a React app: each chart is fetched and drawn after
the page loads, so every step waits explicitly (``WebDriverWait``) for what it needs, never for a fixed time. The
browser set-up (Debian chromium + chromedriver, headless, throwaway profile) is airflow_browser's; selectors are
Superset 6.1's own ``data-test`` attributes and its chart plugins' class names.
"""

from __future__ import annotations

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.airflow_browser import WAIT, AirflowUi

CHART = "[data-test=chart-grid-component]"  # one per chart on a dashboard
CHART_TITLE = "[data-test=editable-title], .header-title"
LOGIN_ATTEMPTS = 3  # each waits WAIT / 3 to leave the login page


class SupersetUi(AirflowUi):
    """One headless browser session on a Superset at ``url`` (chromium options and lifecycle: AirflowUi's)."""

    def __enter__(self) -> SupersetUi:
        return self

    def login(self, user: str, password: str) -> None:
        """Superset's login form; done when the browser has left the login page.

        A submission is tried up to ``LOGIN_ATTEMPTS`` times, each on a freshly loaded form: once in a clean-clone
        CI run the browser stayed on /login for the whole deadline with no error shown (the click reached a form
        its script had not yet bound). A wrong password fails every attempt, so it still fails the test.
        """
        for _ in range(LOGIN_ATTEMPTS):
            self.driver.get(self.url + "/login/")
            self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input#username, input[name=username]")))
            self.driver.find_element(By.CSS_SELECTOR, "input#username, input[name=username]").send_keys(user)
            self.driver.find_element(By.CSS_SELECTOR, "input#password, input[name=password]").send_keys(password)
            self.driver.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
            try:
                WebDriverWait(self.driver, WAIT / LOGIN_ATTEMPTS).until(lambda d: "/login" not in d.current_url)
                return
            except TimeoutException:
                continue
        raise AssertionError(f"still on {self.driver.current_url} after {LOGIN_ATTEMPTS} login submissions")

    def dashboard(self, slug: str, charts: int) -> dict[str, WebElement]:
        """Open a dashboard; its ``charts`` chart holders by title, once each has drawn (no spinner left)."""
        self.driver.get(f"{self.url}/superset/dashboard/{slug}/")
        self.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, CHART)) >= charts)
        self.wait.until(
            lambda d: not d.find_elements(By.CSS_SELECTOR, f"{CHART} .loading, {CHART} [aria-label=loading]")
        )
        shown: dict[str, WebElement] = {}
        for holder in self.driver.find_elements(By.CSS_SELECTOR, CHART):
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", holder)
            title = self.wait.until(lambda _, h=holder: h.find_element(By.CSS_SELECTOR, CHART_TITLE)).text.strip()
            shown[title] = holder
        return shown

    def wait_for(self, holder: WebElement, css: str) -> list[WebElement]:
        """The elements ``css`` inside one chart, once there is at least one (the chart has drawn)."""
        self.wait.until(lambda _: holder.find_elements(By.CSS_SELECTOR, css))
        return holder.find_elements(By.CSS_SELECTOR, css)

    def table(self, holder: WebElement) -> list[list[str]]:
        """A table chart's body as text, row by row."""
        rows = self.wait_for(holder, "table tbody tr")
        return [[cell.text.strip() for cell in row.find_elements(By.CSS_SELECTOR, "td")] for row in rows]

    def errors(self) -> list[str]:
        """Chart error panels on the page (a failed query, an unknown column)."""
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "[data-test=chart-container] .ant-alert")]
