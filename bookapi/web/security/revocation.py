"""Which verified tokens may no longer be used, kept in Redis: single tokens revoked by id
(`jti`, on logout and refresh), and every token of a user issued before their current token
generation (a password change, a reset, a demotion or a disablement starts a new one).

Each key lives only as long as a token it refuses could: MongoDB keeps the generation too,
and a refresh checks it there, so a Redis that lost its data can revive no refresh token.
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from ..services.app_services import redis_names, settings
from .generation_store import announce_ending, raise_generation
from .token_endings import claimed_generation, token_ending

REVOKED = "The token has been revoked."
SUPERSEDED = (
    "The token was issued before the account's password changed or it was disabled: sign in again."
)


def _ttl(claims: dict[str, Any]) -> int:
    # A token past its expiry is refused anyway; keep at least a second so a
    # token in its last moment cannot slip through.
    return max(int(claims["exp"] - time.time()) + 1, 1)


async def revoke(redis: Redis, claims: dict[str, Any]) -> None:
    """Refuse this token from now on (a logout); the websockets opened with it (access
    tokens only: a websocket takes no other) close."""
    await redis.set(redis_names().revoked_token(claims["jti"]), "1", ex=_ttl(claims))
    if claims.get("type") == "access":
        await announce_ending(redis, redis_names(), token_ending(claims))


async def revoke_once(redis: Redis, claims: dict[str, Any]) -> bool:
    """Revoke a token; False if it was revoked already (a refresh token used twice)."""
    created = await redis.set(
        redis_names().revoked_token(claims["jti"]), "1", ex=_ttl(claims), nx=True
    )
    return bool(created)


async def refusal(redis: Redis, claims: dict[str, Any]) -> str | None:
    """Why the verified token of `claims` may not be used, or None if it may: one round trip
    for both checks."""
    names = redis_names()
    revoked, generation = await redis.mget(
        names.revoked_token(claims["jti"]), names.token_generation(str(claims["sub"]))
    )
    if revoked is not None:
        return REVOKED
    if generation is not None and claimed_generation(claims) < int(generation):
        return SUPERSEDED
    return None


async def end_earlier_tokens(redis: Redis, user_id: str, generation: int) -> None:
    """Refuse every token of `user_id` issued before `generation`, in every API process at
    once."""
    await raise_generation(redis, redis_names(), settings(), user_id, generation)
