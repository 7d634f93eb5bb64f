"""Checking and changing passwords: the only reader of a stored password hash."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from ...storage.mongo import Database
from .emails import email_key
from .passwords import hash_password, needs_rehash, verify_password
from .user_repository import COLLECTION, StoredUser, is_disabled


async def _checked(db: Database, user: StoredUser | None, password: str) -> StoredUser | None:
    """`user` if `password` is theirs; one hash is spent either way, so an unknown account
    costs the same time as a wrong password."""
    stored_hash = user.pop("password_hash", None) if user else None
    if not await verify_password(stored_hash, password) or user is None:
        return None
    if stored_hash and needs_rehash(stored_hash):
        # The hashing cost was raised since this hash was made: upgrade it now.
        new_hash = await hash_password(password)
        await db[COLLECTION].update_one({"_id": user["_id"]}, {"$set": {"password_hash": new_hash}})
    return user


async def check_login(db: Database, email: str, password: str) -> StoredUser | None:
    """The user with this email and password, or None: unknown, wrong or disabled all look
    the same (a disabled account's password is checked too, so it takes as long)."""
    user: StoredUser | None = await db[COLLECTION].find_one({"email_key": email_key(email)})
    checked = await _checked(db, user, password)
    if checked is None or is_disabled(checked):
        return None
    return checked


async def account_to_check(db: Database, user_id: str) -> StoredUser | None:
    """The account `user_id` with its password hash, for `check_password`."""
    user: StoredUser | None = await db[COLLECTION].find_one({"_id": ObjectId(user_id)})
    return user


async def check_password(db: Database, user: StoredUser, password: str) -> bool:
    """Whether `password` is the password of `user` (read by `account_to_check`)."""
    return await _checked(db, user, password) is not None


async def password_change(password: str) -> dict[str, Any]:
    """The stored fields that set `password` (for `change_account`)."""
    return {"password_hash": await hash_password(password)}
