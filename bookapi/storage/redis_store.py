"""Redis behind one module: the API's async client (opened and closed with the app), the
worker's sync client, the key prefix, and what an outage looks like.

With `REDIS_SENTINELS` set, every client asks the sentinels for the primary of
`REDIS_SENTINEL_MASTER` before each new connection, and a connection to a primary that died
or was demoted fails once and is made again to the new one (redis-py's Sentinel-managed
connections): a failover is followed without a restart. `REDIS_URL` then gives only the
database number and the credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel as SyncSentinel

from settings import Config

from .fresh_context import in_fresh_context

# Redis cannot be reached: the request may succeed later, so 503.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
# How long a sentinel may take to say who the primary is.
SENTINEL_TIMEOUT_SECONDS = 0.5
# redis-py leaves these untyped; each is called only as written here.
new_async_sentinel: Callable[..., AsyncSentinel] = AsyncSentinel
new_sync_sentinel: Callable[..., SyncSentinel] = SyncSentinel
url_parts: Callable[[str], dict[str, Any]] = parse_url


class BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """A Sentinel-managed pool that waits for a free connection, as the single-Redis pool
    does (redis-py's asyncio Sentinel pool raises "Too many connections" instead)."""


class ConnectsInFreshContext(AbstractConnection):
    """Opens its socket outside the caller's context (fresh_context). Mixed into whichever
    connection class the pool chose (TCP, TLS, Unix socket, Sentinel-managed)."""

    async def connect(self) -> None:
        if not self.is_connected:  # checked on every checkout: no task for a live one
            connect: Callable[[], Coroutine[Any, Any, None]] = super().connect  # untyped
            await in_fresh_context(connect())

    async def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if not self.is_connected:
            await in_fresh_context(super().connect_check_health(check_health, retry_socket_connect))


_fresh_context_classes: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def _fresh_context_class(
    connection_class: type[AbstractConnection],
) -> type[AbstractConnection]:
    """`connection_class` with ConnectsInFreshContext mixed in, one class per base."""
    if issubclass(connection_class, ConnectsInFreshContext):
        return connection_class
    if connection_class not in _fresh_context_classes:
        name = f"FreshContext{connection_class.__name__}"
        mixed = type(name, (ConnectsInFreshContext, connection_class), {})
        _fresh_context_classes[connection_class] = mixed
    return _fresh_context_classes[connection_class]


def _open_in_fresh_context(client: Redis) -> Redis:
    pool = client.connection_pool
    pool.connection_class = _fresh_context_class(pool.connection_class)
    return client


def _database_and_credentials(url: str) -> dict[str, Any]:
    """What REDIS_URL says besides where Redis is: the database, the login, TLS."""
    parts = dict(url_parts(url))
    for where in ("host", "port", "path"):
        parts.pop(where, None)
    if parts.pop("connection_class", None) is SSLConnection:
        parts["ssl"] = True
    return parts


def _sentinel_login(settings: Config) -> dict[str, Any]:
    login: dict[str, Any] = {
        "socket_timeout": SENTINEL_TIMEOUT_SECONDS,
        "socket_connect_timeout": SENTINEL_TIMEOUT_SECONDS,
    }
    if settings.REDIS_SENTINEL_PASSWORD:
        login["password"] = settings.REDIS_SENTINEL_PASSWORD
    return login


def create_async_sentinel(settings: Config) -> AsyncSentinel | None:
    """The sentinels, asked for the primary (None without REDIS_SENTINELS); close with
    `close_async_sentinel`."""
    if not settings.REDIS_SENTINELS:
        return None
    return new_async_sentinel(
        settings.sentinel_addresses, sentinel_kwargs=_sentinel_login(settings)
    )


async def close_async_sentinel(sentinel: AsyncSentinel | None) -> None:
    if sentinel is not None:
        for client in sentinel.sentinels:
            await client.aclose()


def create_async_redis(
    settings: Config,
    sentinel: AsyncSentinel | None,
    timeout_seconds: float | None = 1.0,
    max_connections: int = 64,
) -> Redis:
    """An async client of the Redis, or of the primary the sentinels name. Short timeouts
    turn an outage into a quick 503, not a hung request; None means no read timeout (a
    pub/sub connection mostly waits). When every pooled connection is busy a command waits
    for one (up to the timeout) instead of failing: a burst of requests queues briefly
    rather than getting "Too many connections"."""
    options: dict[str, Any] = {
        "max_connections": max_connections,
        "timeout": (timeout_seconds or 1.0) * 5,
        # Generous: a refused connection fails at once anyway, and under a burst (a
        # thousand websocket handshakes) the event loop itself may be slow to see a connect.
        "socket_connect_timeout": (timeout_seconds or 1.0) * 5,
        "socket_timeout": timeout_seconds * 2 if timeout_seconds else None,
        "health_check_interval": 15 if timeout_seconds is None else 5,
        # A pooled connection that died with its server (a restart, a failover) fails its
        # first command with a connection error: once, at once, on a fresh connection. A
        # timeout is not retried: that is an outage, which must stay a quick 503.
        "retry": AsyncRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "decode_responses": True,
    }
    if sentinel is None:
        pool = BlockingConnectionPool.from_url(settings.REDIS_URL, **options)
        return _open_in_fresh_context(Redis.from_pool(pool))
    client: Redis = sentinel.master_for(
        settings.REDIS_SENTINEL_MASTER,
        redis_class=Redis,
        connection_pool_class=BlockingSentinelPool,
        **_database_and_credentials(settings.REDIS_URL),
        **options,
    )
    return _open_in_fresh_context(client)  # the client owns the pool: aclose() closes it


def create_sync_redis(settings: Config) -> SyncRedis:
    """The worker's client: it publishes job events, best effort."""
    options: dict[str, Any] = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "health_check_interval": 5,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }
    if not settings.REDIS_SENTINELS:
        return SyncRedis.from_url(settings.REDIS_URL, **options)
    sentinel = new_sync_sentinel(
        settings.sentinel_addresses, sentinel_kwargs=_sentinel_login(settings)
    )
    master_for: Callable[..., SyncRedis] = sentinel.master_for
    client = master_for(
        settings.REDIS_SENTINEL_MASTER,
        redis_class=SyncRedis,
        **_database_and_credentials(settings.REDIS_URL),
        **options,
    )
    return client


async def primary_address(settings: Config, sentinel: AsyncSentinel | None) -> str:
    """`host:port` of the Redis in use: the primary the sentinels name now, or REDIS_URL's."""
    if sentinel is None:
        parts = url_parts(settings.REDIS_URL)
        return f"{parts.get('host', '127.0.0.1')}:{parts.get('port', 6379)}"
    host, port = await sentinel.discover_master(settings.REDIS_SENTINEL_MASTER)
    return f"{host}:{port}"


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
