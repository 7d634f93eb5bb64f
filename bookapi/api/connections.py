"""The API process's MongoDB, GridFS and Redis handles: opened at startup, closed at shutdown.

Indexes are built at startup; if MongoDB is down then, the app starts anyway and keeps
trying in the background, so it gets its indexes as soon as the database answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from quart import Quart, current_app
from redis.asyncio import Redis

from settings import Config

from ..mongo import (
    MONGO_UNAVAILABLE,
    Database,
    close_async_client,
    create_async_client,
    create_gridfs_bucket,
    database_name,
)
from ..redis_store import create_async_redis, prefixed

IndexBuilder = Callable[[Database], Awaitable[None]]
INDEX_RETRY_SECONDS = 5.0
log = logging.getLogger(__name__)


def get_db() -> Database:
    """The database handle of the running app."""
    return current_app.extensions["mongo_db"]


def get_gridfs() -> Any:
    """The GridFS bucket (uploads and exports) of the running app."""
    return current_app.extensions["gridfs"]


def get_redis() -> Redis:
    """The Redis client of the running app."""
    redis: Redis = current_app.extensions["redis"]
    return redis


def redis_key(name: str) -> str:
    """`name` under this deployment's REDIS_PREFIX."""
    return prefixed(current_app.config["REDIS_PREFIX"], name)


async def build_indexes(db: Database, builders: list[IndexBuilder]) -> None:
    for build in builders:
        await build(db)


def indexes_ready() -> bool:
    """Whether this process has confirmed the indexes (the unique ISBN and email among them:
    without those, duplicates could slip in, so readiness waits for them)."""
    return bool(current_app.extensions.get("indexes_ready"))


async def _retry_indexes(app: Quart, db: Database, builders: list[IndexBuilder]) -> None:
    while True:
        await asyncio.sleep(INDEX_RETRY_SECONDS)
        try:
            await build_indexes(db, builders)
        except MONGO_UNAVAILABLE as error:
            log.warning("MongoDB unavailable, indexes not built yet: %s", error)
        else:
            app.extensions["indexes_ready"] = True
            return


def init_app(app: Quart, settings: Config, index_builders: list[IndexBuilder]) -> None:
    @app.before_serving
    async def open_connections() -> None:
        client = create_async_client(settings)
        db = client[database_name(settings)]
        app.extensions["mongo_client"] = client
        app.extensions["mongo_db"] = db
        app.extensions["gridfs"] = create_gridfs_bucket(db, settings.MONGO_DRIVER)
        app.extensions["redis"] = create_async_redis(
            settings.REDIS_URL, settings.REDIS_TIMEOUT_SECONDS, settings.REDIS_MAX_CONNECTIONS
        )
        app.extensions["indexes_ready"] = False
        try:
            await build_indexes(db, index_builders)
        except MONGO_UNAVAILABLE as error:
            log.warning("MongoDB unavailable at startup, will retry indexes: %s", error)
            app.extensions["mongo_index_retry"] = asyncio.create_task(
                _retry_indexes(app, db, index_builders)
            )
        else:
            app.extensions["indexes_ready"] = True

    @app.after_serving
    async def close_connections() -> None:
        retry = app.extensions.pop("mongo_index_retry", None)
        if retry is not None:
            retry.cancel()
        await close_async_client(app.extensions.pop("mongo_client"))
        await app.extensions.pop("redis").aclose()
        app.extensions.pop("mongo_db", None)
        app.extensions.pop("gridfs", None)
