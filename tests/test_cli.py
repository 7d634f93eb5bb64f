"""`quart --app bookapi create-admin EMAIL`, run as a real process against the real database."""

from __future__ import annotations

import os
import subprocess
import sys

from quart.typing import TestClientProtocol as Client

from settings import PROJECT_DIR, TestingConfig
from tests.test_auth import PASSWORD, bearer, login, register
from tests.test_books_crud import DUNE


def create_admin(
    settings: TestingConfig, email: str, stdin: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BOOKAPI_ENV": "testing",
        "MONGO_URI": settings.MONGO_URI,
        "MONGO_DB": settings.MONGO_DB,
        "REDIS_URL": settings.REDIS_URL,
    }
    return subprocess.run(
        [sys.executable, "-m", "quart", "--app", "bookapi", "create-admin", email],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_DIR,
        timeout=60,
    )


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
