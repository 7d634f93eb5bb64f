"""Checks a request's bearer token: signature, algorithm, claims, type and revocation.

quart-jwt-extended decodes and verifies the token, but calls its revocation
loader without `await`, so the async Redis check happens here instead of in
its `@jwt_required`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import jwt
from quart import g, request
from quart_jwt_extended import decode_token
from quart_jwt_extended.exceptions import JWTExtendedException
from quart_schema import security_scheme

from ..http.problems import APIError
from ..middleware.asgi_types import CALLER, note
from ..openapi.problem_schema import document_errors
from ..services.app_services import get_redis
from .revocation import refusal

# The OpenAPI security requirement of routes that need an access token.
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti", "type", "sub")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Caller:
    """Who is making the request, as their access token says."""

    id: str
    role: str
    claims: dict[str, Any]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def unauthorized(detail: str) -> APIError:
    return APIError(
        401, detail, code="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="bookapi"'}
    )


def bearer_token(header: str | None) -> str:
    if not header:
        raise unauthorized("Send an access token: Authorization: Bearer <token>.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def verified_claims(token: str, expected_type: str) -> dict[str, Any]:
    """The claims of a token with a valid signature, algorithm, expiry and type; else 401."""
    try:
        claims: dict[str, Any] = decode_token(token)
        # The library fills in a missing `type` or `jti`; a token of ours always has them.
        raw = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, JWTExtendedException) as error:
        raise unauthorized(f"The token is invalid: {error}.") from error
    missing = [name for name in REQUIRED_CLAIMS if name not in raw]
    if missing:
        raise unauthorized(f"The token lacks the claims {', '.join(missing)}.")
    if claims["type"] != expected_type:
        raise unauthorized(f"A {expected_type} token is required here.")
    return claims


async def authenticate(header: str | None, expected_type: str = "access") -> dict[str, Any]:
    """Verified, unrevoked claims of the bearer token in `header`."""
    claims = verified_claims(bearer_token(header), expected_type)
    # Redis down raises a connection error, which becomes a 503: never a pass.
    reason = await refusal(get_redis(), claims)
    if reason is not None:
        raise unauthorized(reason)
    return claims


def caller_from_claims(claims: dict[str, Any]) -> Caller:
    extra = claims.get("user_claims") or {}
    role = extra.get("role", "user") if isinstance(extra, dict) else "user"
    return Caller(id=str(claims["sub"]), role=role, claims=claims)


def current_caller() -> Caller:
    """The caller of a route behind `access_token_required`."""
    caller: Caller = g.caller
    return caller


def access_token_required(
    handler: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Let the request through only with a valid, unrevoked access token."""

    @wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.caller = caller_from_claims(
            await authenticate(request.headers.get("Authorization"), "access")
        )
        note(request.scope, CALLER, g.caller.id)  # for the request log around the app
        return await handler(*args, **kwargs)

    # Every protected route says in OpenAPI that it takes a bearer token and may answer 401.
    return security_scheme(BEARER)(document_errors(401)(wrapper))


def admin_required(
    handler: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Like `access_token_required`, and the caller must be an admin (else 403)."""

    @wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_caller().is_admin:
            raise APIError(403, "Only an admin may do this.", code="forbidden")
        return await handler(*args, **kwargs)

    return access_token_required(document_errors(403)(wrapper))
