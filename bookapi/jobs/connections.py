"""Synchronous MongoDB and Redis clients for the worker (and CLI), one pair per process.

Celery task bodies are synchronous, and a prefork worker forks after import, so the
clients are made lazily in the process that uses them.
"""

from __future__ import annotations

import os
from typing import Any

from pymongo import MongoClient
from redis import Redis

from settings import Config

from ..mongo import database_name

_by_process: dict[int, tuple[Any, Redis]] = {}


def worker_connections(settings: Config) -> tuple[Any, Redis]:
    """The (database, redis) of this process, made on first use."""
    pid = os.getpid()
    if pid not in _by_process:
        client: MongoClient[dict[str, Any]] = MongoClient(
            settings.MONGO_URI,
            serverSelectionTimeoutMS=settings.MONGO_TIMEOUT_MS * 5,
            tz_aware=True,
        )
        db = client[database_name(settings.MONGO_URI, settings.MONGO_DB)]
        redis = Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
        _by_process[pid] = (db, redis)
    return _by_process[pid]
