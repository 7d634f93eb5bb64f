"""`python -m bookapi.cli create-admin EMAIL`, run as a real process against the real database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from quart.typing import TestClientProtocol as Client

from bookapi.domain.books.book_schemas import BookIn
from devstack import DEMO_BOOKS, DEMO_EMAIL, DEMO_PASSWORD, offer_demo_data
from settings import TestingConfig
from tests.helpers import (
    DUNE,
    PASSWORD,
    bearer,
    count_books,
    direct_database,
    login,
    register,
    run_cli,
    worker_environment,
)


def create_admin(
    settings: TestingConfig, email: str, stdin: str
) -> subprocess.CompletedProcess[str]:
    return run_cli(settings, "create-admin", email, stdin=stdin)


async def test_create_admin_makes_an_admin_who_may_change_any_book(
    client: Client, settings: TestingConfig
) -> None:
    result = create_admin(settings, "root@example.com", PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "created admin" in result.stdout
    admin = await (await login(client, "root@example.com")).get_json()
    owner = await (await register(client, "owner@example.com")).get_json()
    owner_token = (await (await login(client, "owner@example.com")).get_json())["access_token"]
    book = await (
        await client.post("/api/v1/books", json=DUNE, headers=bearer(owner_token))
    ).get_json()
    assert book["created_by"] == owner["id"]
    response = await client.patch(
        f"/api/v1/books/{book['id']}", json={"pages": 1}, headers=bearer(admin["access_token"])
    )
    assert response.status_code == 200


async def test_create_admin_promotes_an_existing_user(
    client: Client, settings: TestingConfig
) -> None:
    await register(client, "Ada@Example.com")
    result = create_admin(settings, "ada@example.com", "")
    assert result.returncode == 0, result.stderr
    assert "now an admin" in result.stdout
    token = (await (await login(client, "ada@example.com")).get_json())["access_token"]
    me = await (await client.get("/api/v1/auth/me", headers=bearer(token))).get_json()
    assert me["role"] == "admin"


async def test_create_admin_refuses_a_short_password(
    client: Client, settings: TestingConfig
) -> None:
    result = create_admin(settings, "root@example.com", "short\n")
    assert result.returncode != 0
    assert "password" in result.stderr
    assert (await login(client, "root@example.com", "short")).status_code == 401


async def test_demo_books_writes_valid_files(
    client: Client, settings: TestingConfig, tmp_path: Path
) -> None:
    for name in ("books.csv", "books.ndjson"):
        out = tmp_path / name
        result = run_cli(settings, "demo-books", "250", "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert "wrote 250 books" in result.stdout
        lines = out.read_text().splitlines()
        assert len(lines) == (251 if name.endswith(".csv") else 250)
    sample = [json.loads(line) for line in (tmp_path / "books.ndjson").read_text().splitlines()]
    assert len({book["isbn"] for book in sample}) == 250
    for book in sample[:50]:
        BookIn.model_validate(book)  # valid ISBNs and every field within the rules


async def test_import_books_and_demo_books_into_the_database(
    client: Client, settings: TestingConfig, tmp_path: Path
) -> None:
    await register(client, "ada@example.com")
    direct = run_cli(settings, "demo-books", "120", "--owner", "ada@example.com", "--seed", "3")
    assert direct.returncode == 0, direct.stderr
    assert "inserted 120" in direct.stdout
    out = tmp_path / "more.csv"
    assert run_cli(settings, "demo-books", "80", "--out", str(out), "--seed", "4").returncode == 0
    out.write_text(out.read_text() + "9780441013594,Bad check digit,Someone\n")
    imported = run_cli(settings, "import-books", str(out), "--owner", "ada@example.com")
    assert imported.returncode == 0, imported.stderr
    assert "inserted 80, updated 0, skipped 0, failed 1" in imported.stdout
    assert "line 82" in imported.stdout
    # Nothing but the progress bar and the report: no log line breaks the bar.
    assert " INFO " not in imported.stdout + imported.stderr, imported.stderr
    with direct_database(settings) as db:
        assert db["books"].count_documents({}) == 200
        assert db["jobs"].count_documents({"state": "succeeded"}) == 2
    unknown = run_cli(settings, "import-books", str(out), "--owner", "nobody@example.com")
    assert unknown.returncode != 0 and "no user" in unknown.stderr


async def test_a_first_run_offers_demo_data_once(settings: TestingConfig, client: Client) -> None:
    env = worker_environment(settings)
    assert offer_demo_data(env, assume_yes=True) is True
    assert count_books(settings) == DEMO_BOOKS
    login = await client.post(
        "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200
    assert offer_demo_data(env, assume_yes=True) is False, "only on an empty database"
    assert count_books(settings) == DEMO_BOOKS


def test_schema_prints_the_openapi_document(settings: TestingConfig) -> None:
    printed = run_cli(settings, "schema")
    assert printed.returncode == 0, printed.stderr
    document = json.loads(printed.stdout)
    assert document["openapi"].startswith("3.") and "listBooks" in printed.stdout
