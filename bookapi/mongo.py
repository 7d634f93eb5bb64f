"""The MongoDB driver, behind one module: Motor (default) or PyMongo's AsyncMongoClient.

A client belongs to the event loop that created it, so it is opened in the app's
startup and closed at shutdown, never at import time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import DuplicateKeyError, OperationFailure
from pymongo.uri_parser import parse_uri
from quart import Quart, current_app

from .errors import MONGO_UNAVAILABLE

# Both drivers hand out objects with the same methods; neither shares a base class
# with the other, so the handles are typed loosely here and only here.
Database = Any
Collection = Any
IndexBuilder = Callable[[Database], Awaitable[None]]

INDEX_RETRY_SECONDS = 5.0
log = logging.getLogger(__name__)


def database_name(uri: str, configured: str) -> str:
    return configured or parse_uri(uri).get("database") or "bookapi"


def create_client(uri: str, driver: str, timeout_ms: int) -> Any:
    """Open a client whose operations fail fast (about `timeout_ms`) when the server is down."""
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": timeout_ms,
        "connectTimeoutMS": timeout_ms,
        "socketTimeoutMS": max(timeout_ms * 5, 10_000),
        "tz_aware": True,
        "uuidRepresentation": "standard",
    }
    if driver == "pymongo":
        from pymongo import AsyncMongoClient

        return AsyncMongoClient(uri, **options)
    from motor.motor_asyncio import AsyncIOMotorClient

    return AsyncIOMotorClient(uri, **options)


async def close_client(client: Any) -> None:
    # AsyncMongoClient.close is a coroutine; Motor's is a plain method.
    result = client.close()
    if asyncio.iscoroutine(result):
        await result


async def ping(db: Database) -> None:
    await db.command("ping")


def is_duplicate_key(error: OperationFailure) -> bool:
    """A unique-index violation, however the server reports it.

    MongoDB says DuplicateKeyError (code 11000); FerretDB v1 on SQLite says so on
    insert but reports an update that breaks a unique index as an internal error.
    """
    if isinstance(error, DuplicateKeyError) or error.code == 11000:
        return True
    return error.code == 1 and "UNIQUE constraint failed" in str(error)


def create_gridfs_bucket(db: Database, driver: str) -> Any:
    """The GridFS bucket of `db` for `driver` (both buckets have the same methods)."""
    if driver == "pymongo":
        from gridfs import AsyncGridFSBucket

        return AsyncGridFSBucket(db)
    from motor.motor_asyncio import AsyncIOMotorGridFSBucket

    return AsyncIOMotorGridFSBucket(db)


def get_gridfs() -> Any:
    """The GridFS bucket (uploads and exports) of the running app."""
    return current_app.extensions["gridfs"]


def get_db() -> Database:
    """The database handle of the running app."""
    return current_app.extensions["mongo_db"]


async def build_indexes(db: Database, builders: list[IndexBuilder]) -> None:
    for build in builders:
        await build(db)


async def _retry_indexes(db: Database, builders: list[IndexBuilder]) -> None:
    # MongoDB may be down when the app starts; keep trying so the app comes up
    # anyway and gets its indexes as soon as the database answers.
    while True:
        await asyncio.sleep(INDEX_RETRY_SECONDS)
        try:
            await build_indexes(db, builders)
            return
        except MONGO_UNAVAILABLE as error:
            log.warning("MongoDB unavailable, indexes not built yet: %s", error)


def init_app(app: Quart, index_builders: list[IndexBuilder]) -> None:
    @app.before_serving
    async def open_mongo() -> None:
        config = app.config
        client = create_client(
            config["MONGO_URI"], config["MONGO_DRIVER"], config["MONGO_TIMEOUT_MS"]
        )
        db = client[database_name(config["MONGO_URI"], config["MONGO_DB"])]
        app.extensions["mongo_client"] = client
        app.extensions["mongo_db"] = db
        app.extensions["gridfs"] = create_gridfs_bucket(db, config["MONGO_DRIVER"])
        try:
            await build_indexes(db, index_builders)
        except MONGO_UNAVAILABLE as error:
            log.warning("MongoDB unavailable at startup, will retry indexes: %s", error)
            app.extensions["mongo_index_retry"] = asyncio.create_task(
                _retry_indexes(db, index_builders)
            )

    @app.after_serving
    async def close_mongo() -> None:
        retry = app.extensions.pop("mongo_index_retry", None)
        if retry is not None:
            retry.cancel()
        await close_client(app.extensions.pop("mongo_client"))
        app.extensions.pop("mongo_db", None)
        app.extensions.pop("gridfs", None)
