"""The MongoDB driver, behind one module: PyMongo (sync, worker and CLI) and, for the API,
PyMongo's AsyncMongoClient (default) or Motor (end of life, still supported).

An async client belongs to the event loop that created it, so the API opens it in its
startup and closes it at shutdown, never at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import IndexModel, MongoClient, _csot
from pymongo.asynchronous.mongo_client import _ClientCheckout
from pymongo.asynchronous.pool import AsyncConnection, Pool
from pymongo.database import Database as SyncDatabase
from pymongo.errors import ConnectionFailure, ExecutionTimeout, NetworkTimeout
from pymongo.uri_parser import parse_uri

from settings import Config

from .fresh_context import in_fresh_context

# Both async drivers hand out objects with the same methods; neither shares a base class
# with the other, so the async handles are typed loosely here and only here.
Database = Any
# A dependency that cannot be reached: the request may succeed later (503, or a retry).
MONGO_UNAVAILABLE = (ConnectionFailure,)
# An operation that took longer than its bound (the server is hung, or the query too slow):
# the client's own timeout (a NetworkTimeout, also a ConnectionFailure) or the server
# stopping it at maxTimeMS (ExecutionTimeout).
MONGO_TOO_SLOW = (ExecutionTimeout, NetworkTimeout)


def database_name(settings: Config) -> str:
    return settings.MONGO_DB or parse_uri(settings.MONGO_URI).get("database") or "bookapi"


def client_options(settings: Config) -> dict[str, Any]:
    """Options that make an operation fail fast (about MONGO_TIMEOUT_MS) when the server is down."""
    timeout_ms = settings.MONGO_TIMEOUT_MS
    return {
        "serverSelectionTimeoutMS": timeout_ms,
        "connectTimeoutMS": timeout_ms,
        "socketTimeoutMS": max(timeout_ms * 5, 10_000),
        "tz_aware": True,
        "uuidRepresentation": "standard",
    }


class FreshContextPool(Pool):
    """AsyncMongoClient's pool, opening each connection outside the caller's context
    (fresh_context), with only the operation's deadline carried in so the connection's
    handshake stays within the bound of the operation that asked for it."""

    async def connect(self, handler: _ClientCheckout | None = None) -> AsyncConnection:
        return await in_fresh_context(
            super().connect(handler), carried=(_csot.TIMEOUT, _csot.RTT, _csot.DEADLINE)
        )


def create_async_client(settings: Config) -> Any:
    """An async client of the driver MONGO_DRIVER names; call inside the loop that uses it.
    Every operation is bounded by MONGO_OPERATION_TIMEOUT_MS (a request never waits longer
    on the database, and the server is told to stop then too)."""
    options = {**client_options(settings), "timeoutMS": settings.MONGO_OPERATION_TIMEOUT_MS}
    if settings.MONGO_DRIVER == "pymongo":
        from pymongo import AsyncMongoClient

        # `_pool_class` is PyMongo's hook for deep customisation. Motor needs no such pool:
        # it opens its connections on threads, which start with an empty context.
        return AsyncMongoClient(settings.MONGO_URI, _pool_class=FreshContextPool, **options)
    from motor.motor_asyncio import AsyncIOMotorClient

    return AsyncIOMotorClient(settings.MONGO_URI, **options)


def create_sync_client(settings: Config) -> MongoClient[dict[str, object]]:
    """A synchronous client (worker, CLI). A job waits longer for a server than a request
    does, and a batch write may take a while, so there is no socket timeout."""
    options = client_options(settings)
    options.update(serverSelectionTimeoutMS=settings.MONGO_TIMEOUT_MS * 5, socketTimeoutMS=None)
    return MongoClient(settings.MONGO_URI, **options)


def sync_database(
    client: MongoClient[dict[str, object]], settings: Config
) -> SyncDatabase[dict[str, object]]:
    return client[database_name(settings)]


async def close_async_client(client: Any) -> None:
    # AsyncMongoClient.close is a coroutine; Motor's is a plain method.
    result = client.close()
    if asyncio.iscoroutine(result):
        await result


def create_gridfs_bucket(db: Database, driver: str) -> Any:
    """The async GridFS bucket of `db` for `driver` (both buckets have the same methods)."""
    if driver == "pymongo":
        from gridfs import AsyncGridFSBucket

        return AsyncGridFSBucket(db)
    from motor.motor_asyncio import AsyncIOMotorGridFSBucket

    return AsyncIOMotorGridFSBucket(db)


async def ping(db: Database) -> None:
    await db.command("ping")


def missing_indexes(
    existing: Iterable[Mapping[str, object]], wanted: list[IndexModel]
) -> list[IndexModel]:
    """The indexes of `wanted` whose names are not among `existing`. Creating only these
    also spares FerretDB v1, which drops the connection on createIndexes for an index
    that exists already."""
    names = {index.get("name") for index in existing}
    return [index for index in wanted if index.document["name"] not in names]


async def ensure_indexes(collection: Any, wanted: list[IndexModel]) -> None:
    """Create the indexes of `wanted` that `collection` lacks (async, either driver)."""
    listing = collection.list_indexes()
    if asyncio.iscoroutine(listing):  # AsyncMongoClient's is a coroutine; Motor's is not
        listing = await listing
    missing = missing_indexes(await listing.to_list(None), wanted)
    if missing:
        await collection.create_indexes(missing)
