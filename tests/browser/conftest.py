"""Real headless Chromium (Debian's) against pytest-django's live server and the test Neo4j."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from executions import services

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "a long and correct password"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def pytest_collection_finish(session):
    """Browser tests selected but no browser: one line saying how to get it, instead of an error per test."""
    if session.config.option.collectonly or not any(item.get_closest_marker("browser") for item in session.items):
        return
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        raise pytest.UsageError(
            f"the browser tests need {' and '.join(missing)}: run `make test` (it installs them) or "
            "`apt-get install chromium chromium-driver`, or deselect them with `-m 'not browser'`"
        )


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items):
    """Every test that drives Chromium is a `browser` test, and a `slow` one (`make test-fast` skips it)."""
    for item in items:
        if "chromium" in item.fixturenames:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def chromium(live_server, transactional_db, tmp_path):
    """One browser per test, quit before the test's database goes (its keep-alive connections close
    with it, so no server thread outlives the test). Its temporary files go to the test's own
    directory: Chromium leaves its singleton socket's directory behind in TMPDIR when it quits, one
    per test, and pytest removes old tmp_path directories itself."""
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, env={**os.environ, "TMPDIR": str(tmp_path)})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
        # The pages must work under their own Content-Security-Policy: a refused script, style or
        # eval shows up in the console, and fails the test that caused it.
        refused = [entry["message"] for entry in driver.get_log("browser")
                   if "Content Security Policy" in entry["message"] or "evalDisallowed" in entry["message"]]
        assert not refused, refused
    finally:
        driver.quit()


class Page:
    """The browser, pointed at the live server, plus the ingest API over real HTTP (the same calls as
    tests.support.api.Ingest, so the data builders of tests/support/ work with either)."""

    def __init__(self, driver, base_url: str, token: str):
        self.driver = driver
        self.base = base_url
        self.token = token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    # -- browser
    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def sign_in(self, username: str = "admin", password: str = PASSWORD) -> None:
        self.open("/accounts/login/")
        self.driver.find_element(By.ID, "id_username").send_keys(username)
        self.driver.find_element(By.ID, "id_password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        self.wait_for(EC.presence_of_element_located((By.CSS_SELECTOR, "form.signout")))

    def wait_for(self, condition, timeout: float = 10):
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)

    def wait_text(self, text: str, css: str = "body", timeout: float = 10) -> None:
        self.wait_for(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), timeout)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def css(self, selector: str):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def csss(self, selector: str):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def screenshot(self, name: str, width: int = 1280) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.set_window_size(width, 900)
        height = self.js("return Math.min(document.documentElement.scrollHeight, 4000)")
        self.driver.set_window_size(width, max(600, height + 140))
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1280, 900)
        return path

    # -- ingest API
    # A bound on answering at all, not a speed target: a session's first writes reach a Neo4j that
    # has not planned its statements yet, which on a loaded 2-core machine took over 10 s.
    POST_TIMEOUT = 60

    def post(self, path: str, body: dict) -> requests.Response:
        response = self.http.post(f"{self.base}/api/v1{path}", json=body, timeout=self.POST_TIMEOUT)
        assert response.status_code in (200, 201), response.text
        return response

    def plan(self, plan_id: str, body: dict) -> requests.Response:
        response = self.http.put(f"{self.base}/api/v1/plans/{plan_id}", json=body, timeout=self.POST_TIMEOUT)
        assert response.status_code == 200, response.text
        return response

    def start(self, execution_id: str, plan_id: str, total: int, start_time: int):
        return self.post("/executions", {"executionId": execution_id, "planId": plan_id, "totalTasks": total,
                                         "startTime": start_time})

    def task(self, execution_id: str, task_id: str, result: dict, task: dict | None = None):
        body: dict[str, Any] = {"taskId": task_id, "result": result}
        if task:
            body["task"] = task
        return self.post(f"/executions/{execution_id}/tasks", body)

    def finish(self, execution_id: str, end_time: int):
        return self.post(f"/executions/{execution_id}/finish", {"endTime": end_time})


@pytest.fixture
def page(live_server, transactional_db, chromium):
    get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)
    token = services.ingest_token_create(name="browser-test", scopes=("read", "write"))
    page = Page(chromium, live_server.url, token)
    yield page
    page.http.close()
