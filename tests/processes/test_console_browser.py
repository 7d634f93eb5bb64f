"""The console in a real headless browser against the app served as in production, with a
real Celery worker and a real local SMTP server: every flow a user has, each view checked
with axe-core (0 violations, light and dark, 1366x900 and 390x844, no sideways scroll) and
saved as a screenshot (var/screenshots/), and no console error the test did not provoke.
BOOKAPI_REQUIRE_BROWSER=1 (set by .ci/run) turns a missing browser into a failure."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from bookapi.domain.books.demo import demo_books, demo_file
from bookapi.domain.books.files import CSV
from devstack.mailbox import Mailbox
from settings import TestingConfig
from tests.browser import Console, chrome
from tests.helpers import PASSWORD, direct_database, with_bad_rows, worker_environment
from tests.served import Answer, call, served_api, sign_up

ROWS = 45
AS_JSON = {"Content-Type": "application/json"}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    yield from chrome(tmp_path / "downloads")


def api(
    base: str, method: str, path: str, body: Any = None, token: str = "", **headers: str
) -> Answer:
    sent = {**AS_JSON, **headers, **({"Authorization": f"Bearer {token}"} if token else {})}
    data = None if body is None else json.dumps(body).encode()
    return call(base, method, f"/api/v1{path}", data, sent)


def downloaded(folder: Path, pattern: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = [path for path in folder.glob(pattern) if path.stat().st_size]
        if done:
            return done[0].read_text()
        time.sleep(0.2)
    raise AssertionError(f"nothing like {pattern} was downloaded into {folder}")


def register_in_console(console: Console, email: str) -> None:
    console.open("#/register")
    console.view_is("register")
    console.check_view("register")
    console.fill(register_email=email, register_name="Reader", register_password=PASSWORD)
    console.click("register")
    console.notice("your account is ready")
    console.says("who", email)


def create_edit_and_delete(console: Console, base: str) -> None:
    """A book through its whole life in the console, with a 412 when someone else changed it."""
    console.go("#/books/new")
    console.view_is("edit")
    console.check_view("book-new")
    console.fill(edit_isbn="0-441-01359-7", edit_title_input="Dune", edit_authors="Frank Herbert")
    console.fill(edit_year="1965", edit_tags="science-fiction; classic")
    console.click("edit-save")
    console.notice("The book was added.")
    console.view_is("book")
    console.says("book-title", "Dune")
    assert "science-fiction, classic" in console.find("book-fields").text
    console.check_view("book")
    book_id = console.driver.current_url.rsplit("/", 1)[1]

    console.click("book-edit")
    console.view_is("edit")
    console.check_view("book-edit")
    # Someone else changes the book meanwhile: the save must not overwrite it.
    token = console.tokens()["access"]
    assert api(base, "PATCH", f"/books/{book_id}", {"pages": 412}, token).status == 200
    console.expected_failures.append((f"/books/{book_id}", 412))
    console.fill(edit_title_input="Dune (mine)")
    console.click("edit-save")
    said = console.alert("changed by someone else")
    assert "412" not in said
    console.click("edit-reload")  # their version, then the edit goes through
    console.wait.until(
        lambda d: d.find_element(By.ID, "edit-pages").get_attribute("value") == "412"
    )
    console.fill(edit_title_input="Dune (annotated)")
    console.click("edit-save")
    console.notice("Saved.")
    console.says("book-title", "Dune (annotated)")

    console.click("book-delete")
    console.check_view("book-delete")
    console.click("book-delete-yes")
    console.notice("The book was deleted.")
    console.view_is("books")
    assert api(base, "GET", f"/books/{book_id}").status == 404


def two_imports_at_once(console: Console, tmp_path: Path) -> None:
    """Two imports run side by side, each in its own row with its own progress and result."""
    console.go("#/jobs")
    console.view_is("jobs")
    assert console.find("import-start").get_attribute("disabled") is not None, "no file yet"
    files = []
    for n, rows in enumerate((ROWS, 7)):
        upload = tmp_path / f"books-{n}.csv"
        body, bad_lines = with_bad_rows(demo_file(rows, CSV, seed=40 + n), 3 if n else rows + 1)
        upload.write_bytes(body)
        files.append((upload, rows - len(bad_lines), bad_lines))
        console.find("import-file").send_keys(str(upload))
        console.click("import-start")
        console.notice(f"The import of {upload.name} was queued.")
    for upload, inserted, bad_lines in files:
        row = f'//li[@class="job"][.//h3[contains(., "{upload.name}")]]'
        console.says_at(row, "Succeeded")
        element = console.driver.find_element(By.XPATH, row)
        assert re.search(rf"inserted\s+{inserted}\b", element.text), element.text
        assert re.search(rf"failed\s+{len(bad_lines)}\b", element.text), element.text
        errors = element.find_elements(By.CSS_SELECTOR, "details")
        assert len(errors) == (1 if bad_lines else 0), "row errors only under their own job"
        if bad_lines:
            errors[0].find_element(By.TAG_NAME, "summary").click()
            listed = errors[0].text
            assert f"{len(bad_lines)} row errors" in listed
            assert all(f"line {line}:" in listed for line in bad_lines), listed
    console.check_view("jobs")


def search_filter_and_page(console: Console) -> None:
    console.go("#/books")
    console.view_is("books")
    console.says("books-position", "Page 1 · books 1–20")
    console.click("next-page")
    console.says("books-position", "Page 2 · books 21–40")
    console.check_view("books")
    Select(console.find("sort")).select_by_value("title")  # a new order starts at page 1
    console.says("books-position", "Page 1 · books 1–20")
    titles = [cell.text for cell in console.css("#books td.lead")]
    assert titles == sorted(titles, key=str.casefold) or titles == sorted(titles), titles
    wanted = next(demo_books(1, seed=40))
    console.find("filters").click()
    console.fill(author=wanted["authors"][0], year_min=str(wanted["published_year"]))
    console.click("search")
    console.says("books", wanted["title"])
    console.says("books-position", "Page 1")
    console.fill(q="no such book anywhere")
    console.click("search")
    console.wait.until(lambda d: d.find_element(By.ID, "books-empty").is_displayed())
    console.check_view("books-empty")
    console.click("books-empty-clear")
    console.says("books-position", "Page 1 · books 1–20")


def export_and_download(console: Console, base: str, downloads: Path) -> None:
    wanted = next(demo_books(1, seed=41))
    console.go("#/books")
    console.fill(q=wanted["title"])
    console.click("search")
    console.says("books", wanted["title"])
    console.go("#/jobs")
    console.says("export-scope", wanted["title"])
    console.find("export-filtered").click()
    console.click("export-start")
    console.notice("The export was queued.")
    row = '//li[@class="job"][.//h3[starts-with(., "Export")]]'
    console.wait.until(lambda d: "Download the file" in d.find_element(By.XPATH, row).text)
    console.driver.find_element(By.XPATH, f"{row}//button").click()
    exported = downloaded(downloads, "*.csv").strip().splitlines()
    matches = api(base, "GET", f"/books?limit=100&q={quote(wanted['title'])}").body["items"]
    assert len(exported) == 1 + len(matches), "the searched books only, under the header"
    assert all(wanted["title"] in line for line in exported[1:])


def session_survives_reload_refreshes_and_ends(console: Console, base: str) -> None:
    console.driver.refresh()
    console.says("who", "Signed in as")
    # An access token about to expire is refreshed before it does.
    console.driver.execute_script(
        "const s = JSON.parse(sessionStorage.getItem('bookapi.session'));"
        "s.expiresAt = Date.now() + 6000;"
        "sessionStorage.setItem('bookapi.session', JSON.stringify(s));"
    )
    before = console.tokens()
    console.driver.refresh()
    console.wait.until(lambda d: console.tokens()["refresh"] != before["refresh"])
    assert api(base, "GET", "/auth/me", token=console.tokens()["access"]).status == 200
    # Signing out revokes both tokens at the server.
    last = console.tokens()
    console.click("sign-out")
    console.notice("Signed out.")
    console.view_is("sign-in")
    assert console.session() is None
    assert api(base, "GET", "/auth/me", token=last["access"]).status == 401
    assert api(base, "POST", "/auth/refresh", token=last["refresh"]).status == 401


def readable_errors(console: Console, base: str) -> None:
    """Refusals read as sentences: a wrong password, a rate limit with its wait, and (through
    the console's own message code) an outage."""
    console.go("#/sign-in")
    console.check_view("sign-in")
    console.expected_failures += [("/auth/login", 401), ("/auth/login", 429)]
    for attempt in range(6):
        console.fill(email="ada@example.com", password=f"wrong password {attempt}")
        console.click("sign-in")
        time.sleep(0.3)
    said = console.alert("Too many attempts. Try again in")
    assert re.search(r"in \d+ seconds", said) and "429" not in said
    messages = console.driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import("/console/api.js").then(({ ApiError, describe }) => done([
          describe(new ApiError(503, { title: "Service Unavailable",
                                       detail: "MongoDB is unavailable, try again shortly" }, "5")),
          describe(new ApiError(0, { detail: "Failed to fetch" })),
          describe(new ApiError(400, {
            errors: [{ loc: ["body", "isbn"], msg: "wrong check digit" }] })),
        ]));
        """
    )
    assert (
        messages[0].startswith("The service is briefly unavailable") and "5 seconds" in messages[0]
    )
    assert "cannot be reached" in messages[1]
    assert messages[2] == "Please check the form. ISBN: wrong check digit."


async def test_a_reader_registers_manages_books_runs_jobs_and_signs_out(
    browser: webdriver.Chrome, settings: TestingConfig, tmp_path: Path
) -> None:
    async with served_api(worker_environment(settings), tmp_path, worker="console") as base:
        console = Console(browser, base, "reader")
        register_in_console(console, "reader@example.com")
        console.check_view("books-start")
        create_edit_and_delete(console, base)
        two_imports_at_once(console, tmp_path)
        search_filter_and_page(console)
        export_and_download(console, base, tmp_path / "downloads")
        console.go("#/users")
        console.alert("Only admins can see the users page.")
        console.view_is("books")
        session_survives_reload_refreshes_and_ends(console, base)
        readable_errors(console, base)
        console.go("#/nowhere")
        console.view_is("missing")
        console.check_view("missing")
        assert console.console_problems() == []


def administer_users(console: Console, base: str) -> None:
    console.go("#/users")
    console.view_is("users")
    console.says("users-position", "Page 1 · accounts 1–3")
    assert "(you)" in console.find("users").text
    console.check_view("users")
    console.fill(users_q="BOB")
    console.click("users-find")
    console.says("users-position", "accounts 1–1")
    console.driver.find_element(
        By.CSS_SELECTOR, '[aria-label="Make admin bob@example.com"]'
    ).click()
    console.notice("bob@example.com is now an admin.")
    console.fill(users_q="eve")
    console.click("users-find")
    console.says("users", "eve@example.com")
    console.press("Disable eve@example.com")
    console.notice("eve@example.com is disabled and signed out everywhere.")
    assert "disabled" in console.find("users").text
    assert (
        api(base, "POST", "/auth/login", {"email": "eve@example.com", "password": PASSWORD}).status
        == 401
    )


def change_own_password(console: Console, new_password: str) -> None:
    console.go("#/account")
    console.view_is("account")
    console.check_view("account")
    console.expected_failures.append(("/auth/password", 403))
    console.fill(current_password="not my password", new_password=new_password)
    console.fill(new_password_again=new_password)
    console.click("password-change")
    console.alert("The current password is wrong.")
    console.fill(current_password=PASSWORD, new_password_again="something else entirely")
    console.click("password-change")
    console.alert("The two new passwords differ")
    console.fill(new_password_again=new_password)
    console.click("password-change")
    console.notice("signed out everywhere")
    console.view_is("sign-in")
    assert console.session() is None


def sign_in_by_keyboard(console: Console, email: str, password: str) -> None:
    """Tab from the top of the page to the email field (every stop shows its focus), type,
    Tab to the password, Enter submits."""
    console.open("#/sign-in")
    console.view_is("sign-in")
    keys = ActionChains(console.driver)
    for _ in range(20):
        keys.send_keys(Keys.TAB).perform()
        focused = console.driver.switch_to.active_element
        outline = focused.value_of_css_property("outline-style")
        assert outline != "none", f"no visible focus on {focused.get_attribute('outerHTML')}"
        if focused.get_attribute("id") == "email":
            break
    else:
        raise AssertionError("the email field is not reachable by Tab")
    keys.send_keys(email, Keys.TAB, password, Keys.ENTER).perform()
    console.says("who", email)


def sign_in(console: Console, email: str, password: str) -> None:
    console.go("#/sign-in")
    console.view_is("sign-in")
    console.fill(email=email, password=password)
    console.click("sign-in")
    console.says("who", email)


def reset_by_email(console: Console, base: str, mailbox: Mailbox, email: str) -> str:
    """Ask for a link in the console, read the real mail, set a new password from it; the
    link's token."""
    console.go("#/forgot")
    console.view_is("forgot")
    console.check_view("forgot")
    console.fill(forgot_email=email)
    console.click("forgot-send")
    console.notice(f"If {email} has an account, a link")
    mail = mailbox.wait_for_mail(email, timeout=60)
    token = re.search(r"/#reset=([\w-]+)", mail.get_content())
    assert token, mail.get_content()
    console.open(f"#reset={token.group(1)}")
    console.view_is("reset")
    assert console.driver.current_url.endswith("#/reset"), "the token left the address bar"
    console.check_view("reset")
    console.fill(reset_password="bob's new password", reset_password_again="bob's new password")
    console.click("reset-save")
    console.notice("Your new password is set.")
    return token.group(1)


async def test_an_admin_manages_users_and_passwords_change_and_reset_by_mail(
    browser: webdriver.Chrome, settings: TestingConfig, mailbox: Mailbox, tmp_path: Path
) -> None:
    env = worker_environment(settings, SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox.port))
    async with served_api(env, tmp_path, worker="console-mail") as base:
        for email in ("root@example.com", "bob@example.com", "eve@example.com"):
            sign_up(base, email)
        with direct_database(settings) as db:
            db["users"].update_one({"email": "root@example.com"}, {"$set": {"role": "admin"}})
        console = Console(browser, base, "admin")
        sign_in_by_keyboard(console, "root@example.com", PASSWORD)
        administer_users(console, base)
        change_own_password(console, "the admin's new password")
        sign_in(console, "root@example.com", "the admin's new password")
        console.click("sign-out")
        console.view_is("sign-in")

        token = reset_by_email(console, base, mailbox, "bob@example.com")
        sign_in(console, "bob@example.com", "bob's new password")
        # Promoted before: the token of this sign-in says admin.
        console.wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, '[data-nav="users"]').is_displayed()
        )
        console.click("sign-out")
        console.view_is("sign-in")
        console.expected_failures.append(("/auth/password-reset/confirm", 400))
        console.open(f"#reset={token}")
        console.fill(reset_password="a third password!", reset_password_again="a third password!")
        console.click("reset-save")
        console.alert("unknown, used or expired")
        assert console.console_problems() == []
