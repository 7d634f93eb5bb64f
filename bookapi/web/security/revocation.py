"""Revoked token ids (`jti`) in Redis, each kept only as long as its token would live."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from ..services.app_services import redis_names


def _ttl(claims: dict[str, Any]) -> int:
    # A token past its expiry is refused anyway; keep at least a second so a
    # token in its last moment cannot slip through.
    return max(int(claims["exp"] - time.time()) + 1, 1)


async def revoke(redis: Redis, claims: dict[str, Any]) -> None:
    await redis.set(redis_names().revoked_token(claims["jti"]), "1", ex=_ttl(claims))


async def revoke_once(redis: Redis, claims: dict[str, Any]) -> bool:
    """Revoke a token; False if it was revoked already (a refresh token used twice)."""
    created = await redis.set(
        redis_names().revoked_token(claims["jti"]), "1", ex=_ttl(claims), nx=True
    )
    return bool(created)


async def is_revoked(redis: Redis, jti: str) -> bool:
    return bool(await redis.exists(redis_names().revoked_token(jti)))
