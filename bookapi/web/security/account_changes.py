"""Changing an account in a way that may end its earlier tokens (a password change, a
reset, a demotion, a disablement): MongoDB first, then Redis, so every API process
refuses the old tokens at once. MongoDB is the record: if Redis fails in between, the change
stands and services/ending_repair.py gives Redis the new generation once it answers."""

from __future__ import annotations

import logging
from typing import Any

from bson import ObjectId
from redis.exceptions import RedisError

from ...domain.accounts import user_repository as users_repo
from ...domain.accounts.user_repository import StoredUser
from ...domain.errors import NotFoundError
from ..services.app_services import get_db, get_redis
from .revocation import end_earlier_tokens

log = logging.getLogger(__name__)


async def change_account(user_id: str, changes: dict[str, Any], end_tokens: bool) -> StoredUser:
    """Apply `changes` to the account `user_id`; with `end_tokens`, every token issued to it
    so far stops working. The account as it is now; NotFoundError if there is none.

    MongoDB holds the new generation before Redis does. If Redis fails in between, the change
    is made all the same (answering 503 would tell the client it was not, and a retry with
    the old password would be refused): refresh tokens are refused at once (a refresh reads
    the generation from MongoDB), no token passes while Redis is down (the guard needs it),
    and the repair applies the generation when the subscription comes back, or within
    REPAIR_EVERY_SECONDS if Redis failed only for this write."""
    user = await users_repo.change_account(get_db(), ObjectId(user_id), changes, end_tokens)
    if user is None:
        raise NotFoundError("user")
    if end_tokens:
        try:
            await end_earlier_tokens(get_redis(), user_id, users_repo.token_generation(user))
        except RedisError as error:
            log.warning(
                "the account %s changed, but Redis did not take the end of its earlier "
                "tokens (%s): the ending repair applies it once Redis answers",
                user_id,
                error,
            )
    return user
