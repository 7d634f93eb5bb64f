"""The `/api/v1/auth` resource: register, login, refresh, logout, me, and the password
(change, reset by email)."""

from __future__ import annotations

from quart import Blueprint, request
from quart_schema import (
    security_scheme,
    validate_response,
)

from ...domain.accounts import user_repository as users_repo
from ...domain.accounts.account_schemas import (
    ChangePasswordIn,
    LoginIn,
    LogoutIn,
    RegisterIn,
    ResetConfirmIn,
    ResetRequestIn,
    TokenPair,
    User,
)
from ...domain.accounts.credentials import (
    account_to_check,
    check_login,
    check_password,
    password_change,
)
from ...domain.accounts.emails import email_key
from ...domain.accounts.reset_tokens import PASSWORD_RESET_TASK, PendingReset, token_digest
from ..http.json_body import json_body, optional_json_body, takes_json
from ..http.paths import API_PREFIX
from ..http.problems import APIError
from ..openapi.problem_schema import document_errors
from ..security import rate_limits
from ..security.account_changes import change_account
from ..security.guard import (
    BEARER,
    access_token_required,
    authenticate,
    current_caller,
    unauthorized,
    verified_claims,
)
from ..security.revocation import REVOKED, SUPERSEDED, revoke, revoke_once
from ..security.token_endings import claimed_generation
from ..security.tokens import issue_token_pair
from ..services.app_services import get_db, get_redis, redis_names
from ..services.job_queue import NOT_QUEUED, broker_unavailable, send_task

blueprint = Blueprint("auth", __name__, url_prefix=f"{API_PREFIX}/auth")
# One body for unknown email and wrong password, so neither reveals which accounts exist.
BAD_LOGIN = "The email or password is wrong."
# Tokens are secrets: no cache, shared or private, may keep a response that carries them.
NO_STORE = {"Cache-Control": "no-store"}
BAD_RESET = "The reset link is unknown, used or expired: ask for a new one."


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
    subject = rate_limits.login_subject(data.email)
    await rate_limits.take(rate_limits.LOGIN_FAILURES, subject)
    user = await check_login(get_db(), data.email, data.password)
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
        raise unauthorized(REVOKED)
    user = await users_repo.find_user(get_db(), claims["sub"])
    if user is None or users_repo.is_disabled(user):
        raise unauthorized("The account no longer exists or is disabled.")
    # Checked here in MongoDB too: a Redis that lost its data revives no refresh token.
    if claimed_generation(claims) < users_repo.token_generation(user):
        raise unauthorized(SUPERSEDED)
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


@blueprint.post("/password")
@access_token_required
@json_body(ChangePasswordIn)
@document_errors(403, 429)
async def change_password(data: ChangePasswordIn) -> tuple[str, int]:
    """Change the caller's password. Every token issued before (on every device) stops
    working, this one too: sign in again with the new password."""
    caller = current_caller()
    user = await account_to_check(get_db(), caller.id)
    if user is None:
        raise unauthorized("The account no longer exists.")
    # A wrong current password counts as a failed login: a stolen token cannot guess it.
    subject = rate_limits.login_subject(user["email"])
    await rate_limits.take(rate_limits.LOGIN_FAILURES, subject)
    if not await check_password(get_db(), user, data.current_password):
        raise APIError(403, "The current password is wrong.", code="wrong-password")
    await rate_limits.forget(rate_limits.LOGIN_FAILURES, subject)
    await change_account(caller.id, await password_change(data.new_password), end_tokens=True)
    return "", 204


@blueprint.post("/password-reset")
@json_body(ResetRequestIn)
@document_errors(429)
async def request_password_reset(data: ResetRequestIn) -> tuple[str, int]:
    """Ask for a reset link by email. The answer is 202 whether or not the account exists,
    and takes the same time: the worker looks the account up and sends the mail (a link
    that works once, for 30 minutes)."""
    await rate_limits.take(rate_limits.RESETS_BY_ADDRESS, rate_limits.client_address())
    await rate_limits.take(rate_limits.RESETS_BY_EMAIL, email_key(data.email))
    try:
        await send_task(PASSWORD_RESET_TASK, [data.email])
    except NOT_QUEUED as error:
        raise broker_unavailable(error) from error
    return "", 202


@blueprint.post("/password-reset/confirm")
@json_body(ResetConfirmIn)
async def confirm_password_reset(data: ResetConfirmIn) -> tuple[str, int]:
    """Set a new password with the token from a reset email. The token works once; every
    token issued to the account before stops working."""
    record = await get_redis().getdel(redis_names().password_reset(token_digest(data.token)))
    if record is None:
        raise APIError(400, BAD_RESET, code="invalid-reset-token")
    pending = PendingReset.load(str(record))  # a str: the client decodes replies
    user = await users_repo.find_user(get_db(), pending.user_id)
    # A password change since the mail was sent (a new generation) voids the link.
    if (
        user is None
        or users_repo.is_disabled(user)
        or users_repo.token_generation(user) != pending.generation
    ):
        raise APIError(400, BAD_RESET, code="invalid-reset-token")
    await change_account(pending.user_id, await password_change(data.new_password), end_tokens=True)
    return "", 204
