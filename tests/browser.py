"""Driving the console in headless Chromium (Debian's chromium and chromedriver, selenium):
the browser fixture's driver, and `Console`, which walks views, checks each with axe-core
(light and dark, desktop and phone widths, no sideways scroll) and saves a screenshot of it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from devstack.axe_core import axe_script
from settings import PROJECT_DIR

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = Path(os.environ.get("BOOKAPI_SCREENSHOTS", PROJECT_DIR / "var" / "screenshots"))
DESKTOP, PHONE = (1366, 900), (390, 844)
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] })
  .then((r) => done(r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }))))
  .catch((e) => done([{ id: "axe-error", help: String(e), nodes: [] }]));
"""


def chrome(downloads: Path) -> Iterator[webdriver.Chrome]:
    """A headless Chromium that downloads into `downloads` and keeps its console log; a
    missing browser is a skip, or a failure under BOOKAPI_REQUIRE_BROWSER=1 (CI)."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        if os.environ.get("BOOKAPI_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium and chromium-driver are required (apt-get install them)")
        pytest.skip("no chromium / chromedriver here")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Console:
    """The console at `base` in `driver`, with the checks every view gets."""

    def __init__(self, driver: webdriver.Chrome, base: str, name: str) -> None:
        self.driver = driver
        self.base = base
        self.name = name  # the test's name, a prefix of its screenshots
        self.wait = WebDriverWait(driver, 60)
        self.axe = axe_script().read_text()
        # Failed loads a test provokes on purpose (path part, status): any other is a defect.
        self.expected_failures: list[tuple[str, int]] = []
        self.checked: list[str] = []
        self.size(DESKTOP)

    # Moving around

    def open(self, hash_path: str = "#/books") -> None:
        self.driver.get(f"{self.base}/{hash_path}")
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def go(self, hash_path: str) -> None:
        self.driver.execute_script("location.hash = arguments[0]", hash_path)

    def find(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def css(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def fill(self, **values: str) -> None:
        """Type into the fields with these ids (underscores for dashes), replacing their text."""
        for element_id, text in values.items():
            field = self.find(element_id.replace("_", "-"))
            field.clear()
            field.send_keys(text)

    def click(self, element_id: str) -> None:
        self.wait.until(ready.element_to_be_clickable((By.ID, element_id))).click()

    def press(self, name: str) -> None:
        """Click the button whose accessible name (aria-label) is `name`."""
        self.driver.find_element(By.CSS_SELECTOR, f'button[aria-label="{name}"]').click()

    def view_is(self, view: str) -> None:
        self.wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, f'[data-view="{view}"]').is_displayed()
        )

    def says(self, element_id: str, text: str) -> None:
        try:
            self.wait.until(ready.text_to_be_present_in_element((By.ID, element_id), text))
        except TimeoutException:
            raise AssertionError(
                f"#{element_id} never said {text!r} but {self.find(element_id).text!r}; "
                f"the page's alert: {self.find('alert').text!r}"
            ) from None

    def says_at(self, xpath: str, text: str) -> None:
        """The element at `xpath` comes to hold `text`."""
        self.wait.until(ready.text_to_be_present_in_element((By.XPATH, xpath), text))

    def notice(self, text: str) -> None:
        self.says("notice", text)

    def alert(self, text: str) -> str:
        self.says("alert", text)
        said: str = self.find("alert").text
        return said

    def session(self) -> dict[str, Any] | None:
        raw = self.driver.execute_script("return sessionStorage.getItem('bookapi.session')")
        return json.loads(raw) if raw else None

    def tokens(self) -> dict[str, Any]:
        """The signed-in session the console keeps (there must be one)."""
        session = self.session()
        assert session is not None, "not signed in"
        return session

    # The checks of a view

    def size(self, viewport: tuple[int, int]) -> None:
        width, height = viewport
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
        )

    def scheme(self, scheme: str) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )

    def violations(self) -> list[dict[str, Any]]:
        if not self.driver.execute_script("return typeof axe !== 'undefined'"):
            self.driver.execute_script(self.axe)
        found: list[dict[str, Any]] = self.driver.execute_async_script(RUN_AXE)
        return found

    def check_view(self, label: str) -> None:
        """axe-core finds nothing in light and dark, at desktop and phone width; nothing
        scrolls sideways on a phone; a screenshot of each is saved."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for viewport in (DESKTOP, PHONE):
            self.size(viewport)
            for scheme in ("light", "dark"):
                self.scheme(scheme)
                found = self.violations()
                assert found == [], f"{label} at {viewport} in {scheme}: {found}"
                shot = SCREENSHOTS / f"{self.name}-{label}-{viewport[0]}-{scheme}.png"
                self.driver.save_screenshot(str(shot))
            overflow = self.driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{label} scrolls sideways by {overflow}px at {viewport}"
        self.size(DESKTOP)
        self.scheme("light")
        self.checked.append(label)

    def console_problems(self) -> list[dict[str, Any]]:
        """Severe console entries (a script error, a CSP violation, a failed load) that the
        test did not provoke on purpose."""
        read_log: Callable[[str], list[dict[str, Any]]] = self.driver.get_log  # untyped
        problems = []
        for entry in read_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            message = entry["message"]
            provoked = entry.get("source") == "network" and any(
                path in message and f"status of {status}" in message
                for path, status in self.expected_failures
            )
            if not provoked:
                problems.append(entry)
        return problems
