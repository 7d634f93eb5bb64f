"""Abuse limits on login failures, registrations and reset requests, counted in the shared
Redis.

A count lives under REDIS_PREFIX and expires with its window, so a limit holds across
every API process. Every attempt is counted before it is judged (login attempts per
client address and email, registrations per client address); a successful login wipes its
count, so only failures add up. A Redis outage
raises its connection error, which the error handler turns into a 503: never a pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quart import after_this_request, request
from quart.typing import ResponseTypes

from settings import Config

from ...domain.accounts.emails import email_key
from ..http.problems import APIError
from ..services.app_services import get_redis, redis_names, settings

TOO_MANY = "The user has sent too many requests in a given amount of time."


@dataclass(frozen=True)
class Limit:
    name: str
    allowed: Callable[[Config], int]  # how many per window, from the settings
    window_seconds: int

    def key(self, subject: str) -> str:
        return redis_names().rate_limit(self.name, subject)


LOGIN_FAILURES = Limit("login-failures", lambda s: s.LOGIN_FAILURES_PER_MINUTE, 60)
REGISTRATIONS = Limit("registrations", lambda s: s.REGISTRATIONS_PER_HOUR, 60 * 60)
RESETS_BY_EMAIL = Limit("resets-email", lambda s: s.RESET_REQUESTS_PER_EMAIL_PER_HOUR, 60 * 60)
RESETS_BY_ADDRESS = Limit(
    "resets-address", lambda s: s.RESET_REQUESTS_PER_ADDRESS_PER_HOUR, 60 * 60
)


def login_subject(email: str) -> str:
    """Whose login failures count together: this client address trying this account."""
    return f"{client_address()}|{email_key(email)}"


def client_address() -> str:
    # Behind trusted proxies the app's ProxyFix middleware has already put the client here.
    return request.remote_addr or "unknown"


async def take(limit: Limit, subject: str) -> None:
    """Count one attempt against `limit` for `subject`, then decide: 429 with Retry-After
    once the window's count is over the limit. Counting first, in one atomic step, means
    parallel attempts cannot all slip past one check (40 at once: 5 allowed, 35 refused).
    RateLimit-* headers either way."""
    key = limit.key(subject)
    async with get_redis().pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=limit.window_seconds, nx=True)  # the window starts with the first
        pipe.incr(key)
        pipe.ttl(key)
        _, used, ttl = await pipe.execute()
    allowed = limit.allowed(settings())
    reset = ttl if ttl > 0 else limit.window_seconds

    @after_this_request
    async def add_headers(response: ResponseTypes) -> ResponseTypes:
        response.headers["RateLimit-Limit"] = str(allowed)
        response.headers["RateLimit-Remaining"] = str(max(allowed - used, 0))
        response.headers["RateLimit-Reset"] = str(reset)
        return response

    if used > allowed:
        raise APIError(429, TOO_MANY, headers={"Retry-After": str(reset)})


async def forget(limit: Limit, subject: str) -> None:
    await get_redis().delete(limit.key(subject))
