"""The `/api/v1/auth` resource: register, login, refresh, logout, me."""

from __future__ import annotations

from quart import Blueprint, request
from quart_schema import (
    security_scheme,
    validate_response,
)

from ...domain.accounts import user_repository as users_repo
from ...domain.accounts.account_schemas import LoginIn, LogoutIn, RegisterIn, TokenPair, User
from ...domain.accounts.emails import email_key
from ..http.json_body import json_body, optional_json_body, takes_json
from ..http.paths import API_PREFIX
from ..http.problems import APIError
from ..openapi.problem_schema import document_errors
from ..security import rate_limits
from ..security.guard import (
    BEARER,
    access_token_required,
    authenticate,
    current_caller,
    unauthorized,
    verified_claims,
)
from ..security.revocation import revoke, revoke_once
from ..security.tokens import issue_token_pair
from ..services.app_services import get_db, get_redis

blueprint = Blueprint("auth", __name__, url_prefix=f"{API_PREFIX}/auth")
# One body for unknown email and wrong password, so neither reveals which accounts exist.
BAD_LOGIN = "The email or password is wrong."
# Tokens are secrets: no cache, shared or private, may keep a response that carries them.
NO_STORE = {"Cache-Control": "no-store"}


@blueprint.post("/register")
@json_body(RegisterIn)
@validate_response(User, 201)
@document_errors(409, 429)
async def register(data: RegisterIn) -> tuple[User, int]:
    """Create an account with the `user` role."""
    address = rate_limits.client_address()
    await rate_limits.take(rate_limits.REGISTRATIONS, address)
    user = await users_repo.insert_user(get_db(), data.email, data.password, data.display_name)
    return User.model_validate(user), 201


@blueprint.post("/login")
@json_body(LoginIn)
@validate_response(TokenPair)
@document_errors(401, 429)
async def login(data: LoginIn) -> tuple[TokenPair, int, dict[str, str]]:
    """Exchange email and password for an access and a refresh token."""
    subject = f"{rate_limits.client_address()}|{email_key(data.email)}"
    await rate_limits.take(rate_limits.LOGIN_FAILURES, subject)
    user = await users_repo.check_login(get_db(), data.email, data.password)
    if user is None:
        raise APIError(401, BAD_LOGIN, code="bad-credentials")
    await rate_limits.forget(rate_limits.LOGIN_FAILURES, subject)
    return issue_token_pair(user), 200, NO_STORE


@blueprint.post("/refresh")
@validate_response(TokenPair)
@document_errors(401)
@security_scheme(BEARER)
async def refresh() -> tuple[TokenPair, int, dict[str, str]]:
    """Trade a refresh token for a new pair; the used refresh token stops working."""
    claims = await authenticate(request.headers.get("Authorization"), "refresh")
    # SET NX: of two concurrent uses of one refresh token, exactly one wins.
    if not await revoke_once(get_redis(), claims):
        raise unauthorized("The token has been revoked.")
    user = await users_repo.find_user(get_db(), claims["sub"])
    if user is None:
        raise unauthorized("The account no longer exists.")
    return issue_token_pair(user), 200, NO_STORE


@blueprint.post("/logout")
@access_token_required
@takes_json(LogoutIn)
@document_errors(403)
async def logout() -> tuple[str, int]:
    """Revoke the access token, and the given refresh token (optional JSON body) if any."""
    caller = current_caller()
    data = await optional_json_body(LogoutIn)
    refresh_claims = None
    if data.refresh_token is not None:
        refresh_claims = verified_claims(data.refresh_token, "refresh")
        if refresh_claims["sub"] != caller.id:
            # Known, but not allowed: nobody revokes another account's token.
            raise APIError(403, "The refresh token belongs to someone else.", code="forbidden")
    await revoke(get_redis(), caller.claims)
    if refresh_claims is not None:
        await revoke(get_redis(), refresh_claims)
    return "", 204


@blueprint.get("/me")
@access_token_required
@validate_response(User)
async def me() -> User:
    """The caller's account."""
    user = await users_repo.find_user(get_db(), current_caller().id)
    if user is None:
        raise unauthorized("The account no longer exists.")
    return User.model_validate(user)
