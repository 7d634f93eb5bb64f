"""The `/api/v1/users` resource: admins list accounts, promote, demote, disable and enable
them. Demoting or disabling ends the account's tokens at once; a promotion takes effect
with the account's next token (a refresh or a login)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import validate_response

from ...domain.accounts import user_repository as users_repo
from ...domain.accounts.account_schemas import User
from ...domain.accounts.user_schemas import UserChangeIn, UserListQuery, UserPage
from ...domain.errors import NotFoundError
from ..http.ids import parse_id
from ..http.json_body import json_body
from ..http.paths import API_PREFIX
from ..http.problems import APIError
from ..http.query_args import validated_query
from ..openapi.problem_schema import document_errors
from ..security.account_changes import change_account
from ..security.guard import admin_required, current_caller
from ..services.app_services import get_db

blueprint = Blueprint("users", __name__, url_prefix=f"{API_PREFIX}/users")


@blueprint.get("")
@admin_required
@validated_query(UserListQuery)
@validate_response(UserPage)
async def list_users(query_args: UserListQuery) -> UserPage:
    """Accounts in email order; `q` keeps those whose email starts with it."""
    users, next_cursor = await users_repo.list_users(get_db(), query_args, query_args.q)
    return UserPage.model_validate({"items": users, "next_cursor": next_cursor})


@blueprint.get("/<user_id>")
@admin_required
@validate_response(User)
@document_errors(404)
async def get_user(user_id: str) -> User:
    """One account."""
    user = await users_repo.find_user(get_db(), str(parse_id(user_id, "user")))
    if user is None:
        raise NotFoundError("user")
    return User.model_validate(user)


@blueprint.patch("/<user_id>")
@admin_required
@json_body(UserChangeIn)
@validate_response(User)
@document_errors(404, 409)
async def change_user(user_id: str, data: UserChangeIn) -> User:
    """Change an account's role or disable it (or enable it again). Admins cannot demote or
    disable themselves, so there is always an admin left who can undo a change."""
    target = str(parse_id(user_id, "user"))
    user = await users_repo.find_user(get_db(), target)
    if user is None:
        raise NotFoundError("user")
    changes: dict[str, Any] = data.model_dump(exclude_none=True)
    demoted = changes.get("role") == "user" and user["role"] == "admin"
    disabled = changes.get("disabled") is True and not users_repo.is_disabled(user)
    if target == current_caller().id and (demoted or disabled):
        raise APIError(409, "Admins cannot demote or disable themselves.", code="own-account")
    changed = await change_account(target, changes, end_tokens=demoted or disabled)
    return User.model_validate(changed)
