"""Password hashing with argon2id, off the event loop (a hash costs ~0.1 s of CPU)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not a real password, only spends the same time")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no user (None) hash a dummy so both cases cost the same."""
    if stored_hash is None:
        await asyncio.to_thread(_verify, _dummy_hash(), password)
        return False
    return await asyncio.to_thread(_verify, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
