"""Changing an account in a way that may end its earlier tokens (a password change, a
reset, a demotion, a disablement): MongoDB first, then Redis, so every API process
refuses the old tokens at once."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from ...domain.accounts import user_repository as users_repo
from ...domain.accounts.user_repository import StoredUser
from ...domain.errors import NotFoundError
from ..services.app_services import get_db, get_redis
from .revocation import end_earlier_tokens


async def change_account(user_id: str, changes: dict[str, Any], end_tokens: bool) -> StoredUser:
    """Apply `changes` to the account `user_id`; with `end_tokens`, every token issued to it
    so far stops working. The account as it is now; NotFoundError if there is none.

    MongoDB holds the new generation before Redis does: if Redis is unreachable in between,
    the request fails with 503 and refresh tokens are refused anyway (a refresh reads the
    generation from MongoDB), but earlier access tokens may live out their short lifetime."""
    user = await users_repo.change_account(get_db(), ObjectId(user_id), changes, end_tokens)
    if user is None:
        raise NotFoundError("user")
    if end_tokens:
        await end_earlier_tokens(get_redis(), user_id, users_repo.token_generation(user))
    return user
