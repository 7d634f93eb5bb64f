"""Issuing access and refresh tokens.

quart-jwt-extended 0.1.0 cannot put an audience (`aud`) in a token, so tokens are
signed here with PyJWT in the shape that library verifies (`sub`, `type`, `jti`,
`user_claims`), plus `iss`, `aud` and the signing key's `kid`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from settings import JWT_ALGORITHM

from ...domain.accounts.account_schemas import TokenPair
from ...domain.accounts.user_repository import StoredUser, token_generation
from ..services.app_services import app_services

TokenType = Literal["access", "refresh"]


def sign_token(
    identity: str,
    role: str,
    token_type: TokenType,
    expires_delta: timedelta | None = None,
    generation: int = 0,
) -> str:
    """A signed token for `identity`; the role and the account's token generation ride along
    as claims."""
    services = app_services()
    config = services.settings
    if expires_delta is None:
        expires_delta = (
            config.access_token_lifetime
            if token_type == "access"
            else config.refresh_token_lifetime
        )
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": config.JWT_ISSUER,
        "aud": config.JWT_AUDIENCE,
        "sub": identity,
        "iat": now,
        "nbf": now,
        "exp": now + expires_delta,
        "jti": str(uuid.uuid4()),
        "type": token_type,
        "user_claims": {"role": role, "gen": generation},
    }
    if token_type == "access":
        claims["fresh"] = False
    keys = services.signing_keys
    return jwt.encode(
        claims, keys.current, algorithm=JWT_ALGORITHM, headers={"kid": keys.current_id}
    )


def issue_token_pair(user: StoredUser) -> TokenPair:
    """A new access and refresh token for `user`."""
    identity = str(user["_id"])
    access_lifetime = app_services().settings.access_token_lifetime
    generation = token_generation(user)
    return TokenPair(
        access_token=sign_token(identity, user["role"], "access", generation=generation),
        refresh_token=sign_token(identity, user["role"], "refresh", generation=generation),
        token_type="Bearer",
        expires_in=int(access_lifetime.total_seconds()),
    )
