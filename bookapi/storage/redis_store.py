"""Redis behind one module: the API's async client (opened and closed with the app), the
worker's sync client, the key prefix, and what an outage looks like."""

from __future__ import annotations

from redis import Redis as SyncRedis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from settings import Config

# Redis cannot be reached: the request may succeed later, so 503.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def create_async_redis(
    url: str, timeout_seconds: float | None = 1.0, max_connections: int = 64
) -> Redis:
    """An async client. Short timeouts turn an outage into a quick 503, not a hung request;
    None means no read timeout (a pub/sub connection mostly waits). When every pooled
    connection is busy a command waits for one (up to the timeout) instead of failing:
    a burst of requests queues briefly rather than getting "Too many connections"."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=(timeout_seconds or 1.0) * 5,
        # Generous: a refused connection fails at once anyway, and under a burst (a
        # thousand websocket handshakes) the event loop itself may be slow to see a connect.
        socket_connect_timeout=(timeout_seconds or 1.0) * 5,
        socket_timeout=timeout_seconds * 2 if timeout_seconds else None,
        health_check_interval=15 if timeout_seconds is None else 30,
        decode_responses=True,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


def create_sync_redis(settings: Config) -> SyncRedis:
    """The worker's client: it publishes job events, best effort."""
    return SyncRedis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
