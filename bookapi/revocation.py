"""Revoked token ids (`jti`) in Redis, each kept only as long as its token would live."""

from __future__ import annotations

import time

from redis.asyncio import Redis

KEY_PREFIX = "bookapi:revoked:"


async def revoke(redis: Redis, jti: str, expires_at: int) -> None:
    # A token that has expired anyway needs no entry; keep at least a second so a
    # token in its last moment cannot slip through.
    ttl = max(int(expires_at - time.time()) + 1, 1)
    await redis.set(KEY_PREFIX + jti, "1", ex=ttl)


async def revoke_once(redis: Redis, jti: str, expires_at: int) -> bool:
    """Revoke a token; False if it was already revoked (a refresh token reused)."""
    ttl = max(int(expires_at - time.time()) + 1, 1)
    created = await redis.set(KEY_PREFIX + jti, "1", ex=ttl, nx=True)
    return bool(created)


async def is_revoked(redis: Redis, jti: str) -> bool:
    return bool(await redis.exists(KEY_PREFIX + jti))
