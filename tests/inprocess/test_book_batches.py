"""Misses of different books asked for together are read in one query (web/services/
book_batches.py), against the real database: each waiter gets its own book, a missing one
NotFoundError, an outage every waiter, and no more queries are out at once than allowed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import ServerSelectionTimeoutError

from bookapi.domain.errors import NotFoundError
from bookapi.storage.mongo import Database, database_name
from bookapi.web.services.book_batches import AUTO, BATCH_ON_MONGODB, BookBatches
from settings import TestingConfig
from tests.helpers import direct_database


class FindCommands(monitoring.CommandListener):
    """The `find` commands sent, and the most that were out at once."""

    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []
        self.out = 0
        self.most_out = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.filters.append(event.command["filter"])
            self.out += 1
            self.most_out = max(self.most_out, self.out)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name == "find":
            self.out -= 1

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        if event.command_name == "find":
            self.out -= 1


@pytest.fixture
def book_ids(settings: TestingConfig) -> list[ObjectId]:
    with direct_database(settings) as db:
        done = db["books"].insert_many([{"title": f"Book {n}", "n": n} for n in range(30)])
    return list(done.inserted_ids)


@pytest.fixture
async def watched(settings: TestingConfig) -> AsyncIterator[tuple[Database, FindCommands]]:
    """The test's database through a client whose `find` commands are counted."""
    commands = FindCommands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.MONGO_URI, event_listeners=[commands]
    )
    yield client[database_name(settings)], commands
    await client.close()


async def test_concurrent_misses_of_different_books_are_one_query(
    book_ids: list[ObjectId], watched: tuple[Database, FindCommands]
) -> None:
    db, commands = watched
    batches = BookBatches(lambda: db, max_batch=100)
    missing = ObjectId()
    asked = [*book_ids, missing, book_ids[0]]  # the first book twice: both waiters answered
    found: list[Any] = await asyncio.gather(
        *(batches.find(i) for i in asked), return_exceptions=True
    )
    assert [book["_id"] for book in found[:30]] == book_ids
    assert isinstance(found[30], NotFoundError)
    assert found[31]["_id"] == book_ids[0]
    assert len(commands.filters) == 1
    assert sorted(commands.filters[0]["_id"]["$in"]) == sorted([*book_ids, missing])


async def test_batches_are_bounded_in_size_and_in_flight(
    book_ids: list[ObjectId], watched: tuple[Database, FindCommands]
) -> None:
    db, commands = watched
    batches = BookBatches(lambda: db, max_batch=4, max_in_flight=1)
    found = await asyncio.gather(*(batches.find(i) for i in book_ids))
    assert [book["_id"] for book in found] == book_ids
    assert [len(f["_id"]["$in"]) for f in commands.filters] == [4] * 7 + [2]
    assert commands.most_out == 1, "the next batch waits for the one in flight"


async def test_a_lone_miss_is_asked_by_equality_and_batch_one_reads_each_alone(
    book_ids: list[ObjectId], watched: tuple[Database, FindCommands]
) -> None:
    db, commands = watched
    assert (await BookBatches(lambda: db, max_batch=100).find(book_ids[0]))["_id"] == book_ids[0]
    assert commands.filters == [{"_id": book_ids[0]}], "FerretDB v1 scans for any $in"
    unbatched = BookBatches(lambda: db, max_batch=1)
    await asyncio.gather(*(unbatched.find(i) for i in book_ids[:5]))
    assert sorted(f["_id"] for f in commands.filters[1:]) == book_ids[:5], "one query each"


async def test_an_outage_reaches_every_waiter() -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:9/", serverSelectionTimeoutMS=300, connectTimeoutMS=300
    )
    try:
        batches = BookBatches(lambda: client["nowhere"], max_batch=100)
        asked = [batches.find(ObjectId()) for _ in range(5)]
        outcomes = await asyncio.wait_for(asyncio.gather(*asked, return_exceptions=True), 10)
    finally:
        await client.close()
    assert all(isinstance(outcome, ServerSelectionTimeoutError) for outcome in outcomes)
    assert not batches.reads and not batches.waiting


async def test_by_default_the_server_decides(
    book_ids: list[ObjectId], watched: tuple[Database, FindCommands]
) -> None:
    db, commands = watched
    build_info = await db.command("buildInfo")
    batches = BookBatches(lambda: db, max_batch=AUTO)
    await asyncio.gather(*(batches.find(i) for i in book_ids[:3]))
    if "ferretdbVersion" in build_info:  # it scans for $in: a query per book
        assert batches.max_batch == 1 and len(commands.filters) == 3
    else:
        assert batches.max_batch == BATCH_ON_MONGODB and len(commands.filters) == 1
