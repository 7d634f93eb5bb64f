"""Test fixtures: real MongoDB-protocol and Redis servers, a fresh database per test.

Unless MONGO_URI / REDIS_URL are given, the session starts throwaway servers on free
ports with temporary data and stops them at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from quart import Quart
from quart.typing import TestClientProtocol as Client
from quart_jwt_extended import create_access_token

from bookapi import create_app
from bookapi.devstack import Server, free_port, start_mongo, start_redis
from settings import TestingConfig, read_environment

OWNER_ID = "a" * 24
MintToken = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def environment() -> dict[str, str]:
    return read_environment(env_file=None)


@pytest.fixture(scope="session")
def redis_url(
    environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if environment.get("REDIS_URL"):
        yield environment["REDIS_URL"]
        return
    server = start_redis(free_port(), tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def mongo_server(
    environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server | None]:
    """The session's own MongoDB-protocol server; None when MONGO_URI names one."""
    if environment.get("MONGO_URI"):
        yield None
        return
    server = start_mongo(free_port(), tmp_path_factory.mktemp("mongo"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_uri(environment: dict[str, str], mongo_server: Server | None) -> str:
    return mongo_server.url if mongo_server else environment["MONGO_URI"]


BOTH_DRIVERS = pytest.mark.parametrize("mongo_driver", ["motor", "pymongo"])


@pytest.fixture
def mongo_driver() -> str:
    """Motor, unless a test is marked BOTH_DRIVERS to run with AsyncMongoClient too."""
    return "motor"


@pytest.fixture
def database_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@contextmanager
def direct_database(settings: TestingConfig) -> Iterator[Database[dict[str, Any]]]:
    """The test's database through synchronous PyMongo, to look behind the API."""
    client: MongoClient[dict[str, Any]] = MongoClient(settings.MONGO_URI)
    try:
        yield client[settings.MONGO_DB]
    finally:
        client.close()


def make_settings(
    mongo_uri: str, redis_url: str, database_name: str, **overrides: Any
) -> TestingConfig:
    """Settings whose database, Redis keys and job queue belong to one test (or module)."""
    return TestingConfig(
        {},
        MONGO_URI=mongo_uri,
        MONGO_DB=database_name,
        REDIS_URL=redis_url,
        REDIS_PREFIX=f"{database_name}:",  # rate limits and revocations start fresh too
        CELERY_QUEUE=f"{database_name}:jobs",
        **overrides,
    )


@pytest.fixture
def settings(
    mongo_uri: str, redis_url: str, database_name: str, mongo_driver: str
) -> Iterator[TestingConfig]:
    yield make_settings(mongo_uri, redis_url, database_name, MONGO_DRIVER=mongo_driver)
    # Each test had its own database: drop it so the server does not fill up.
    client: MongoClient[dict[str, Any]]
    with MongoClient(mongo_uri, serverSelectionTimeoutMS=2000) as client:
        client.drop_database(database_name)


@pytest.fixture
def unstarted_app(settings: TestingConfig) -> Quart:
    """The app before startup, for tests that add routes or change config first."""
    return create_app(settings)


@pytest.fixture
async def app(unstarted_app: Quart) -> AsyncIterator[Quart]:
    async with unstarted_app.test_app() as test_app:
        yield test_app.app  # type: ignore[attr-defined]


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


async def mint_access_token(
    app: Quart, user_id: str | None = None, role: str = "user", **extra: Any
) -> str:
    """Sign an access token the way the app does, for a user id and role."""
    async with app.app_context():
        token: str = create_access_token(
            identity=user_id or uuid.uuid4().hex[:24], user_claims={"role": role}, **extra
        )
    return token


@pytest.fixture
def mint_token(app: Quart) -> MintToken:
    async def mint(user_id: str | None = None, role: str = "user", **extra: Any) -> str:
        return await mint_access_token(app, user_id, role, **extra)

    return mint


@pytest.fixture
async def auth_header(mint_token: MintToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await mint_token(OWNER_ID)}"}
