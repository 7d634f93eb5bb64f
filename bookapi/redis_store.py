"""The Redis connection of the API process, opened at startup and closed at shutdown."""

from __future__ import annotations

from quart import Quart, current_app
from redis.asyncio import Redis


def create_redis(url: str, timeout_seconds: float) -> Redis:
    # Short timeouts: a Redis outage must become a quick 503, not a hung request.
    return Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds * 2,
        health_check_interval=30,
        decode_responses=True,
    )


def get_redis() -> Redis:
    """The Redis client of the running app."""
    redis: Redis = current_app.extensions["redis"]
    return redis


def redis_key(name: str) -> str:
    """`name` under this deployment's prefix, so several apps (or tests) can share a Redis."""
    prefix: str = current_app.config["REDIS_PREFIX"]
    return prefix + name


def init_app(app: Quart) -> None:
    @app.before_serving
    async def open_redis() -> None:
        app.extensions["redis"] = create_redis(
            app.config["REDIS_URL"], app.config["REDIS_TIMEOUT_SECONDS"]
        )

    @app.after_serving
    async def close_redis() -> None:
        await app.extensions.pop("redis").aclose()
