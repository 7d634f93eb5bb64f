"""JWT key rotation: the current key signs, previous keys still verify, dropped ones fail."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.web.app import create_app
from bookapi.web.security.signing_keys import key_id
from settings import ConfigError, ProductionConfig, TestingConfig
from tests.helpers import AUTH, DUNE, PASSWORD, bearer, login, make_settings, register

OLD_KEY = secrets.token_hex(32)
NEW_KEY = secrets.token_hex(32)


@asynccontextmanager
async def running_app(settings: TestingConfig, **overrides: Any) -> AsyncIterator[Client]:
    """Another process of the same deployment (same database and Redis), other JWT settings."""
    other = make_settings(settings.MONGO_URI, settings.REDIS_URL, settings.MONGO_DB, **overrides)
    app: Quart = create_app(other)
    async with app.test_app():
        yield app.test_client()


async def create_book(client: Client, token: str, isbn: str) -> int:
    response = await client.post(
        "/api/v1/books", json={**DUNE, "isbn": isbn}, headers=bearer(token)
    )
    return response.status_code


async def test_a_rotated_key_still_verifies_until_it_is_dropped(settings: TestingConfig) -> None:
    async with running_app(settings, JWT_SECRET_KEY=OLD_KEY) as before:
        assert (await register(before, "rotate@example.com")).status_code == 201
        old_pair = await (await login(before, "rotate@example.com")).get_json()
    assert jwt.get_unverified_header(old_pair["access_token"])["kid"] == key_id(OLD_KEY)

    async with running_app(
        settings, JWT_SECRET_KEY=NEW_KEY, JWT_PREVIOUS_SECRET_KEYS=f" {OLD_KEY} ,"
    ) as rotated:
        # Tokens signed before the rotation keep working, for writes and for refresh.
        assert await create_book(rotated, old_pair["access_token"], "9780441172719") == 201
        refreshed = await rotated.post(f"{AUTH}/refresh", headers=bearer(old_pair["refresh_token"]))
        assert refreshed.status_code == 200
        new_pair = await refreshed.get_json()
        # New tokens are signed with the current key and say so.
        for token in new_pair["access_token"], new_pair["refresh_token"]:
            assert jwt.get_unverified_header(token)["kid"] == key_id(NEW_KEY)
            jwt.decode(token, NEW_KEY, algorithms=["HS256"], audience="bookapi", issuer="bookapi")
        fresh_login = await (await login(rotated, "rotate@example.com", PASSWORD)).get_json()

    async with running_app(settings, JWT_SECRET_KEY=NEW_KEY) as after:
        # Once the old key is dropped, its tokens are refused; the new ones still pass.
        assert await create_book(after, old_pair["access_token"], "9780553283686") == 401
        assert await create_book(after, new_pair["access_token"], "9780553283686") == 201
        assert await create_book(after, fresh_login["access_token"], "9780765326355") == 201


async def test_tokens_for_another_audience_or_issuer_are_refused(settings: TestingConfig) -> None:
    async with running_app(settings, JWT_SECRET_KEY=OLD_KEY) as issuing:
        await register(issuing, "audience@example.com")
        token = (await (await login(issuing, "audience@example.com")).get_json())["access_token"]
        assert await create_book(issuing, token, "9780441172719") == 201
    for setting in ({"JWT_AUDIENCE": "another-api"}, {"JWT_ISSUER": "another-issuer"}):
        async with running_app(settings, JWT_SECRET_KEY=OLD_KEY, **setting) as verifying:
            assert await create_book(verifying, token, "9780553283686") == 401, setting


@pytest.mark.parametrize("previous", ["short", "dev-jwt-secret-key-change-me-in-production-00"])
def test_production_refuses_weak_previous_keys(previous: str) -> None:
    strong = {"JWT_SECRET_KEY": OLD_KEY}
    ProductionConfig({**strong, "JWT_PREVIOUS_SECRET_KEYS": NEW_KEY[::-1]})  # a strong one is fine
    with pytest.raises(ConfigError, match="JWT_PREVIOUS_SECRET_KEYS"):
        ProductionConfig({**strong, "JWT_PREVIOUS_SECRET_KEYS": f"{NEW_KEY[::-1]},{previous}"})
