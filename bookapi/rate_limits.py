"""Abuse limits on login and register, with quart-rate-limiter keeping its state in Redis.

The state lives in the app's shared Redis (under `REDIS_PREFIX`, each key expiring once it
no longer matters), so a limit holds across every API process. Limits read their count
from the app's config at request time, so each app's settings apply.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quart import Quart, Response, current_app, request
from quart_rate_limiter import RateLimit, RateLimiter
from quart_rate_limiter.store import RateLimiterStoreABC

from .errors import REDIS_UNAVAILABLE
from .redis_store import get_redis, redis_key


class SharedRedisStore(RateLimiterStoreABC):
    """Theoretical arrival times in the app's Redis, each expiring when it passes."""

    async def before_serving(self) -> None:
        """The Redis client opens with the app."""

    async def after_serving(self) -> None:
        """The Redis client closes with the app."""

    async def get(self, key: str, default: datetime) -> datetime:
        stored = await get_redis().get(redis_key(f"ratelimit:{key}"))
        return default if stored is None else datetime.fromtimestamp(float(stored), UTC)

    async def set(self, key: str, tat: datetime) -> None:
        ttl = max(int((tat - datetime.now(UTC)).total_seconds()) + 1, 1)
        await get_redis().set(redis_key(f"ratelimit:{key}"), tat.timestamp(), ex=ttl)

    async def forget(self, key: str) -> None:
        await get_redis().delete(redis_key(f"ratelimit:{key}"))


class OutageTolerantRateLimiter(RateLimiter):
    """Leaves out the informational RateLimit-* headers when Redis is down.

    The limit check itself still needs Redis (an outage there is a 503); only the
    headers added to an already decided response are dropped.
    """

    async def _after_request(self, response: Response) -> Response:
        try:
            return await super()._after_request(response)
        except REDIS_UNAVAILABLE:
            return response


class ConfiguredLimit(RateLimit):
    """A rate limit whose count is the app setting `setting`."""

    def __init__(self, setting: str, period: timedelta, key_function: object) -> None:
        self.setting = setting
        super().__init__(0, period, key_function)  # type: ignore[arg-type]

    @property
    def count(self) -> int:
        value: int = current_app.config[self.setting]
        return value

    @count.setter
    def count(self, value: int) -> None:
        """The count always comes from the config."""


def client_address() -> str:
    # Behind a proxy, run hypercorn with its proxy-headers middleware so this is the client.
    return request.remote_addr or "unknown"


async def client_key() -> str:
    return client_address()


async def client_and_email_key() -> str:
    body = await request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    email = email.strip().casefold() if isinstance(email, str) else ""
    return f"{client_address()}|{email[:254]}"


LOGIN_FAILURES = ConfiguredLimit(
    "LOGIN_FAILURES_PER_MINUTE", timedelta(minutes=1), client_and_email_key
)
REGISTRATIONS = ConfiguredLimit("REGISTRATIONS_PER_HOUR", timedelta(hours=1), client_key)


async def forget_login_failures() -> None:
    """A successful login wipes the count, so only failed attempts use up the limit."""
    # The key as quart-rate-limiter builds it (RateLimiter._create_key); the login
    # tests check that a success really resets the count.
    limiter: RateLimiter = current_app.extensions["rate_limiter"]
    key = (
        f"{current_app.import_name}-{request.endpoint}-{LOGIN_FAILURES.key}-"
        f"{await client_and_email_key()}"
    )
    store = limiter.store
    assert isinstance(store, SharedRedisStore)
    await store.forget(key)


def init_app(app: Quart) -> None:
    app.extensions["rate_limiter"] = OutageTolerantRateLimiter(app, store=SharedRedisStore())
