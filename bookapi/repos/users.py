"""Users in MongoDB. The password hash stays in this module and `passwords`."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel
from pymongo.errors import OperationFailure

from ..mongo import Database, is_duplicate_key
from ..passwords import hash_password, needs_rehash, verify_password
from ..timestamps import to_rfc3339, utc_now

COLLECTION = "users"
PUBLIC_PROJECTION = {"password_hash": 0}


class DuplicateEmailError(Exception):
    pass


def email_key(email: str) -> str:
    """Emails compare case-insensitively: this folded form is unique and indexed."""
    return email.strip().casefold()


async def ensure_user_indexes(db: Database) -> None:
    await db[COLLECTION].create_indexes(
        [IndexModel([("email_key", ASCENDING)], unique=True, name="email_unique")]
    )


def to_api(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(user["_id"]),
        "email": user["email"],
        "display_name": user.get("display_name"),
        "role": user["role"],
        "created_at": to_rfc3339(user["created_at"]),
    }


async def insert_user(
    db: Database, email: str, password: str, display_name: str | None, role: str = "user"
) -> dict[str, Any]:
    password_hash = await hash_password(password)
    user = {
        "_id": ObjectId(),
        "email": email,
        "email_key": email_key(email),
        "display_name": display_name,
        "role": role,
        "password_hash": password_hash,
        "created_at": utc_now(),
    }
    try:
        await db[COLLECTION].insert_one(user)
    except OperationFailure as error:
        if is_duplicate_key(error):
            raise DuplicateEmailError(email) from error
        raise
    del user["password_hash"]
    return user


async def find_user(db: Database, user_id: str) -> dict[str, Any] | None:
    if not ObjectId.is_valid(user_id):
        return None
    user: dict[str, Any] | None = await db[COLLECTION].find_one(
        {"_id": ObjectId(user_id)}, PUBLIC_PROJECTION
    )
    return user


async def check_login(db: Database, email: str, password: str) -> dict[str, Any] | None:
    """The user with this email and password, or None; both failures cost one hash."""
    user: dict[str, Any] | None = await db[COLLECTION].find_one({"email_key": email_key(email)})
    stored_hash = user.pop("password_hash") if user else None
    if not await verify_password(stored_hash, password) or user is None:
        return None
    if stored_hash and needs_rehash(stored_hash):
        # The hashing cost was raised since this hash was made: upgrade it now.
        new_hash = await hash_password(password)
        await db[COLLECTION].update_one({"_id": user["_id"]}, {"$set": {"password_hash": new_hash}})
    return user


async def set_role(db: Database, email: str, role: str) -> bool:
    """Give the user with this email `role`; False if there is no such user."""
    # update_one, not find_one_and_update: FerretDB v1 has no projection on findAndModify.
    result = await db[COLLECTION].update_one(
        {"email_key": email_key(email)}, {"$set": {"role": role}}
    )
    return bool(result.matched_count)
