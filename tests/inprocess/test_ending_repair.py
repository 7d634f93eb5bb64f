"""Token endings Redis missed (services/ending_repair.py), against real MongoDB-protocol and
Redis servers: an account change whose Redis write failed still ends the earlier tokens once
Redis answers again, instead of letting them live out their lifetime."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from quart import Quart
from quart.typing import TestClientProtocol as Client
from redis import Redis

from bookapi.domain.accounts import user_repository as users_repo
from bookapi.domain.timestamps import utc_now
from bookapi.web.app import create_app
from bookapi.web.security.account_changes import change_account
from bookapi.web.services import ending_repair
from bookapi.web.services.app_services import services_of
from bookapi.web.services.ending_repair import repair_endings
from settings import TestingConfig
from tests.helpers import AUTH, bearer, direct_database, login, register, wait_until
from tests.tcp_relay import TcpRelay


async def signed_in(client: Client, email: str) -> tuple[str, str]:
    """Register and log in `email`: the user's id and an access token."""
    user_id: str = (await (await register(client, email)).get_json())["id"]
    access: str = (await (await login(client, email)).get_json())["access_token"]
    return user_id, access


async def answers(client: Client, access: str) -> int:
    return (await client.get(f"{AUTH}/me", headers=bearer(access))).status_code


def redis_port(url: str) -> tuple[str, int]:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    return host, int(port)


async def test_a_change_redis_missed_ends_the_earlier_tokens_once_redis_is_back(
    settings: TestingConfig, caplog: pytest.LogCaptureFixture
) -> None:
    redis_url = settings.REDIS_URL
    redis_going_down = TcpRelay(*redis_port(redis_url))
    await redis_going_down.start()
    settings.REDIS_URL = f"redis://127.0.0.1:{redis_going_down.port}/0"
    app = create_app(settings)
    try:
        async with app.test_app() as test_app:
            client = test_app.test_client()
            user_id, earlier = await signed_in(client, "ada@example.com")
            assert await answers(client, earlier) == 200
            await redis_going_down.stop()
            async with app.app_context():  # what a password change does after its checks
                changed = await change_account(user_id, {"display_name": "x"}, end_tokens=True)
            assert users_repo.token_generation(changed) == 1, "MongoDB has the change"
            await redis_going_down.start()

            async def refused() -> bool:
                return await answers(client, earlier) == 401

            with caplog.at_level(logging.WARNING):
                await wait_until(refused, 15, "the earlier token to be refused")
    finally:
        await redis_going_down.stop()
        settings.REDIS_URL = redis_url
    messages = [record.getMessage() for record in caplog.records]
    assert any("Redis lacked the token endings of 1 accounts" in line for line in messages)


async def test_a_missed_ending_is_applied_within_the_repair_period(
    settings: TestingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ending_repair, "REPAIR_EVERY_SECONDS", 0.2)
    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        user_id, earlier = await signed_in(client, "ada@example.com")
        # MongoDB has the new generation and Redis never heard of it: the state a Redis
        # write that failed while the subscription stayed up leaves.
        db = services_of(app).connections.db
        await users_repo.change_account(db, ObjectId(user_id), {}, end_tokens=True)

        async def refused() -> bool:
            return await answers(client, earlier) == 401

        await wait_until(refused, 10, "the earlier token to be refused")


async def repaired_now(app: Quart) -> list[str]:
    services = services_of(app)
    connections = services.connections
    return await repair_endings(
        connections.db, connections.redis, services.redis_names, services.settings
    )


def stored_generation(app: Quart, settings: TestingConfig, user_id: str) -> Any:
    with Redis.from_url(settings.REDIS_URL) as redis:
        return redis.get(services_of(app).redis_names.token_generation(user_id))


async def test_the_repair_writes_only_what_redis_lacks_and_never_lowers(
    app: Quart, client: Client, settings: TestingConfig
) -> None:
    db = services_of(app).connections.db
    ada, _ = await signed_in(client, "ada@example.com")
    bob, _ = await signed_in(client, "bob@example.com")
    old, _ = await signed_in(client, "old@example.com")
    for user_id in (ada, bob, old):
        await users_repo.change_account(db, ObjectId(user_id), {}, end_tokens=True)
    with direct_database(settings) as direct:
        # Bob's Redis already holds a later generation; Old's change is past every access
        # token's lifetime.
        long_ago = utc_now() - settings.access_token_lifetime - timedelta(minutes=5)
        direct["users"].update_one(
            {"_id": ObjectId(old)}, {"$set": {"generation_started_at": long_ago}}
        )
    with Redis.from_url(settings.REDIS_URL) as redis:
        redis.set(services_of(app).redis_names.token_generation(bob), "5")
    assert await repaired_now(app) == [ada]
    assert stored_generation(app, settings, ada) == b"1"
    assert stored_generation(app, settings, bob) == b"5"
    assert stored_generation(app, settings, old) is None
    assert await repaired_now(app) == [], "a second repair finds nothing to write"
