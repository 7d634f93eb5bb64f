"""Redis behind one module: the API's async client (opened and closed with the app), the
worker's sync client, the key prefix, and what an outage looks like."""

from __future__ import annotations

from redis import Redis as SyncRedis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

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
        health_check_interval=15 if timeout_seconds is None else 5,
        # A pooled connection that died with its server (a restart) fails its first command
        # with a connection error: once, at once, on a fresh connection. A timeout is not
        # retried: that is an outage, which must stay a quick 503.
        retry=AsyncRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        decode_responses=True,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


def create_sync_redis(settings: Config) -> SyncRedis:
    """The worker's client: it publishes job events, best effort."""
    return SyncRedis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=5,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )


async def persistence_problem(redis: Redis) -> str | None:
    """Why this Redis would lose its data on a restart (no AOF and no RDB snapshots), or
    None if it keeps it, or if it will not say (a managed Redis may refuse CONFIG)."""
    try:
        appendonly = (await redis.config_get("appendonly")).get("appendonly") or ""
        save = (await redis.config_get("save")).get("save") or ""
    except RedisError:
        return None
    if appendonly == "yes" or save.strip():
        return None
    return "Redis keeps no data across a restart (appendonly no, no save rules)"
