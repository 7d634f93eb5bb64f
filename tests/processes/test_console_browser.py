"""The console page in a real headless browser (Debian's chromium and chromedriver, driven
by selenium) against the app served as in production, with a real Celery worker: sign in,
upload a CSV import, watch it over the websocket until the result table shows, find a book,
export and download. BOOKAPI_REQUIRE_BROWSER=1 (set by .ci/run) turns a missing browser
into a failure instead of a skip."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from bookapi.domain.books.demo import demo_books, demo_file
from bookapi.domain.books.files import CSV
from settings import TestingConfig
from tests.helpers import PASSWORD, worker_environment
from tests.served import call, served_api

ROWS = 120
EMAIL = "reader@example.com"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        if os.environ.get("BOOKAPI_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium and chromium-driver are required (apt-get install them)")
        pytest.skip("no chromium / chromedriver here")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(tmp_path / "downloads")}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


async def test_sign_in_import_watch_search_and_export_in_a_browser(
    browser: webdriver.Chrome, settings: TestingConfig, tmp_path: Path
) -> None:
    async with served_api(worker_environment(settings), tmp_path, worker="console") as served:
        registered = call(
            served,
            "POST",
            "/api/v1/auth/register",
            json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
            {"Content-Type": "application/json"},
        )
        assert registered.status == 201, registered
        upload = tmp_path / "books.csv"
        upload.write_bytes(demo_file(ROWS, CSV, seed=12))
        wanted = next(demo_books(1, seed=12))["title"]
        wait = WebDriverWait(browser, 60)

        browser.get(f"{served}/")
        browser.find_element(By.ID, "email").send_keys(EMAIL)
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "sign-in").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "who"), EMAIL))

        browser.find_element(By.ID, "import-file").send_keys(str(upload))
        browser.find_element(By.ID, "import-start").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "import-state"), "succeeded"))
        assert browser.find_element(By.ID, "result-inserted").text == str(ROWS)
        assert browser.find_element(By.ID, "result-failed").text == "0"
        progress = browser.find_element(By.ID, "import-progress")
        assert progress.get_attribute("value") == progress.get_attribute("max") == str(ROWS)

        browser.find_element(By.ID, "q").send_keys(wanted)
        browser.find_element(By.ID, "search").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "books"), wanted))

        browser.find_element(By.ID, "export-start").click()
        wait.until(ready.visibility_of_element_located((By.ID, "export-download")))
        browser.find_element(By.ID, "export-download").click()
        downloads = tmp_path / "downloads"
        deadline = time.monotonic() + 30
        while not any(downloads.glob("*.csv")) and time.monotonic() < deadline:
            time.sleep(0.2)
        exported = next(downloads.glob("*.csv")).read_text()
        assert wanted in exported

        # Nothing the browser complained about: no CSP violation, no failed load, no JS error.
        read_log: Callable[[str], list[dict[str, Any]]] = browser.get_log  # untyped in selenium
        problems = [entry for entry in read_log("browser") if entry["level"] == "SEVERE"]
        assert problems == [], problems
