"""Users in MongoDB: creating, finding, listing and changing accounts. The password hash is
read only by `credentials` (and written here once, at creation)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from bson import ObjectId
from pymongo import ASCENDING, IndexModel
from pymongo.database import Database as SyncDatabase
from pymongo.errors import OperationFailure

from ...storage.mongo import Database, ensure_indexes
from ...storage.server_quirks import is_duplicate_key
from ..errors import DuplicateEmailError
from ..paging import PageQuery, SortOrder, fetch_page, fingerprint
from ..timestamps import utc_now
from .emails import email_key
from .passwords import hash_password

COLLECTION = "users"
PUBLIC_PROJECTION = {"password_hash": 0}
Role = Literal["user", "admin"]


class StoredUser(TypedDict):
    _id: ObjectId
    email: str
    email_key: str  # the folded email: unique and indexed
    display_name: str | None
    role: Role
    password_hash: NotRequired[str]  # read only where a password is checked
    created_at: datetime
    # Absent on accounts made before these existed: read them through the helpers below.
    disabled: NotRequired[bool]
    # Bumped when every earlier token must stop working (see `token_generation`), and when.
    token_generation: NotRequired[int]
    generation_started_at: NotRequired[datetime]


BY_EMAIL = SortOrder("email_key", descending=False)


def token_generation(user: StoredUser) -> int:
    """Tokens carry the generation they were issued in; one from an earlier generation is
    refused. A password change, a reset, a demotion or a disablement starts a new one."""
    return user.get("token_generation", 0)


def is_disabled(user: StoredUser) -> bool:
    return user.get("disabled", False)


def find_user_by_email_sync(db: SyncDatabase[Any], email: str) -> StoredUser | None:
    """The user with `email`, without the password hash, through synchronous PyMongo (the
    CLI, which runs the worker's code)."""
    found: StoredUser | None = db[COLLECTION].find_one(
        {"email_key": email_key(email)}, PUBLIC_PROJECTION
    )
    return found


async def ensure_user_indexes(db: Database) -> None:
    await ensure_indexes(
        db[COLLECTION],
        [
            IndexModel([("email_key", ASCENDING)], unique=True, name="email_unique"),
            # The recent new generations, which web/services/ending_repair.py re-applies.
            IndexModel([("generation_started_at", ASCENDING)], name="generation_started"),
        ],
    )


async def insert_user(
    db: Database, email: str, password: str, display_name: str | None, role: Role = "user"
) -> StoredUser:
    user = StoredUser(
        _id=ObjectId(),
        email=email,
        email_key=email_key(email),
        display_name=display_name,
        role=role,
        password_hash=await hash_password(password),
        created_at=utc_now(),
        disabled=False,
        token_generation=0,
    )
    try:
        await db[COLLECTION].insert_one(user)
    except OperationFailure as error:
        if is_duplicate_key(error):
            raise DuplicateEmailError() from error
        raise
    del user["password_hash"]
    return user


async def find_user(db: Database, user_id: str) -> StoredUser | None:
    if not ObjectId.is_valid(user_id):
        return None
    user: StoredUser | None = await db[COLLECTION].find_one(
        {"_id": ObjectId(user_id)}, PUBLIC_PROJECTION
    )
    return user


async def list_users(
    db: Database, page: PageQuery, email_prefix: str | None
) -> tuple[list[StoredUser], str | None]:
    """One page of accounts in email order, optionally those whose email starts with
    `email_prefix` (compared case-insensitively, as emails are)."""
    selector: dict[str, Any] = {}
    if email_prefix:
        # An anchored, escaped prefix: a literal match that MongoDB answers from the index.
        selector["email_key"] = {"$regex": "^" + re.escape(email_prefix.casefold())}
    query_print = fingerprint({"users": selector})
    return await fetch_page(
        db[COLLECTION], selector, BY_EMAIL, page, query_print, PUBLIC_PROJECTION
    )


async def change_account(
    db: Database, user_id: ObjectId, changes: dict[str, Any], end_tokens: bool
) -> StoredUser | None:
    """Apply `changes` (role, disabled, password_hash) to the account; with `end_tokens`,
    start a new token generation too. The account as it is now, or None if it is gone."""
    update: dict[str, Any] = {"$set": dict(changes)} if changes else {}
    if end_tokens:
        update["$inc"] = {"token_generation": 1}
        update.setdefault("$set", {})["generation_started_at"] = utc_now()
    if update:
        # update_one, not find_one_and_update: FerretDB v1 has no projection on findAndModify.
        await db[COLLECTION].update_one({"_id": user_id}, update)
    user: StoredUser | None = await db[COLLECTION].find_one({"_id": user_id}, PUBLIC_PROJECTION)
    return user


async def generations_started_since(db: Database, since: datetime) -> list[tuple[str, int]]:
    """(user id, token generation) of every account that started a new token generation at
    `since` or later."""
    cursor = db[COLLECTION].find(
        {"generation_started_at": {"$gte": since}}, {"token_generation": 1}
    )
    return [(str(user["_id"]), token_generation(user)) async for user in cursor]


async def set_role(db: Database, email: str, role: Role) -> bool:
    """Give the user with this email `role`; False if there is no such user."""
    # update_one, not find_one_and_update: FerretDB v1 has no projection on findAndModify.
    result = await db[COLLECTION].update_one(
        {"email_key": email_key(email)}, {"$set": {"role": role}}
    )
    return bool(result.matched_count)


async def ensure_first_admin(db: Database, email: str, password: str) -> str | None:
    """Make `email` an admin if the deployment has none yet (creating the account with
    `password` if it does not exist); what was done, or None if an admin exists already."""
    if await db[COLLECTION].count_documents({"role": "admin"}, limit=1):
        return None
    if await set_role(db, email, "admin"):
        return f"{email} is now the first admin"
    try:
        await insert_user(db, email, password, None, role="admin")
    except DuplicateEmailError:  # another API process made it a moment ago
        return None
    return f"created the first admin {email}"
