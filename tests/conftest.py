"""Test fixtures: real MongoDB-protocol and Redis servers, a fresh database per test.

Unless MONGO_URI / REDIS_URL are given, the session starts throwaway servers on free
ports with temporary data (only when a test needs one) and stops them at the end. Shared
helpers are in helpers.py. Tests are grouped in folders by what they start (unit/,
inprocess/, processes/), and each is marked with its folder's name:
`pytest -m "not processes"` is the fast run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import pytest
import uvloop
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.web.app import create_app
from bookapi.worker.store import WorkerStore
from devstack import Server, free_port, start_mongo, start_redis
from devstack.mailbox import Mailbox
from settings import Config, TestingConfig, read_environment
from tests.helpers import OWNER_ID, MintToken, direct_database, make_settings, mint_access_token

GROUPS = ("unit", "inprocess", "processes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = Path(str(item.path)).parent.name
        assert group in GROUPS, f"{item.nodeid}: put it in one of {GROUPS}"
        item.add_marker(group)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    # The loop bookapi serves on (Granian and hypercorn both run uvloop), so in-process
    # tests see its behaviour: a transport keeps the context it was opened in, for one.
    return {"uvloop": uvloop.new_event_loop}


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
    server.remove_data()


@pytest.fixture(scope="session")
def mongo_uri(environment: dict[str, str], mongo_server: Server | None) -> str:
    return mongo_server.url if mongo_server else environment["MONGO_URI"]


@pytest.fixture
def mongo_driver() -> str:
    """The default driver, unless a test is marked BOTH_DRIVERS to run with Motor too."""
    return Config.MONGO_DRIVER


@pytest.fixture
def database_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(
    mongo_uri: str, redis_url: str, database_name: str, mongo_driver: str
) -> Iterator[TestingConfig]:
    settings = make_settings(mongo_uri, redis_url, database_name, MONGO_DRIVER=mongo_driver)
    yield settings
    # Each test had its own database: drop it so the server does not fill up.
    with direct_database(settings) as db:
        db.client.drop_database(database_name)


@pytest.fixture
def store(settings: TestingConfig) -> Iterator[WorkerStore]:
    """The worker's store (sync PyMongo, GridFS, Redis) on the test's database, with the
    book indexes an import relies on."""
    store = WorkerStore(settings)
    store.ensure_book_indexes()
    yield store
    store.db.client.close()
    store.redis.close()


@pytest.fixture
def mailbox(settings: TestingConfig, tmp_path: Path) -> Iterator[Mailbox]:
    """A real local SMTP server; the test's settings (and so its worker store) send to it."""
    mailbox = Mailbox(free_port(), tmp_path / "mail")
    settings.SMTP_HOST, settings.SMTP_PORT = "127.0.0.1", mailbox.port
    yield mailbox
    mailbox.stop()


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


@pytest.fixture
def mint_token(app: Quart) -> MintToken:
    async def mint(
        user_id: str | None = None, role: str = "user", expires_delta: timedelta | None = None
    ) -> str:
        return await mint_access_token(app, user_id, role, expires_delta)

    return mint


@pytest.fixture
async def auth_header(mint_token: MintToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await mint_token(OWNER_ID)}"}
