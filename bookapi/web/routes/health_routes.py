"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel
from quart import Blueprint
from quart_schema import document_response
from redis.exceptions import RedisError

from ...domain.timestamps import to_rfc3339
from ...storage.mongo import MONGO_UNAVAILABLE, ping
from ...storage.redis_store import REDIS_UNAVAILABLE
from ..http.problems import APIError
from ..openapi.problem_schema import document_errors
from ..services.app_services import app_services, get_db, get_redis

blueprint = Blueprint("health", __name__)
PROBE_TIMEOUT_SECONDS = 1.0


async def _answers(
    probe: Callable[[], Awaitable[Any]], failures: tuple[type[Exception], ...]
) -> bool:
    try:
        await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS)
    except TimeoutError:
        return False
    except failures:
        return False
    return True


class Health(BaseModel):
    status: Literal["ok"]


class RedisInUse(BaseModel):
    primary: str | None  # host:port; None while the sentinels cannot be asked
    sentinels: bool
    last_failover: str | None  # when this process last saw the primary change (RFC 3339)


class Readiness(BaseModel):
    status: Literal["ok"]
    checks: dict[str, Literal["ok"]]
    redis: RedisInUse


@blueprint.get("/healthz")
@document_response(Health)
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@blueprint.get("/readyz")
@document_response(Readiness)
@document_errors(503)
async def readyz() -> dict[str, Any]:
    """MongoDB and Redis both answer within a second and the indexes the data rules rely on
    are confirmed; else 503 naming what is missing."""
    mongo_ok, redis_ok = await asyncio.gather(
        _answers(lambda: ping(get_db()), MONGO_UNAVAILABLE),
        _answers(lambda: get_redis().ping(), REDIS_UNAVAILABLE),
    )
    redis = await redis_in_use()
    checks = {
        "mongodb": "ok" if mongo_ok else "unavailable",
        "redis": "ok" if redis_ok else "unavailable",
        "indexes": "ok" if app_services().connections.indexes_ready else "unavailable",
    }
    if not all(state == "ok" for state in checks.values()):
        failing = " and ".join(name for name, state in checks.items() if state != "ok")
        raise APIError(
            503, f"Not ready: {failing} unavailable.", code="not-ready", checks=checks, redis=redis
        )
    return {"status": "ok", "checks": checks, "redis": redis}


async def redis_in_use() -> dict[str, Any]:
    """Which Redis primary this process uses (asked of the sentinels now, if there are
    any), and when it last saw a failover."""
    watch = app_services().redis_primary
    assert watch is not None, "the app is serving"
    try:
        primary: str | None = await asyncio.wait_for(watch.check(), PROBE_TIMEOUT_SECONDS)
    except (TimeoutError, RedisError, OSError):
        primary = None
    return {
        "primary": primary,
        "sentinels": watch.sentinel is not None,
        "last_failover": to_rfc3339(watch.failover_at) if watch.failover_at else None,
    }
