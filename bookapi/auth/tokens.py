"""Issuing access and refresh tokens with quart-jwt-extended."""

from __future__ import annotations

from quart import current_app
from quart_jwt_extended import create_access_token, create_refresh_token

from .schemas import TokenPair
from .users import StoredUser


def issue_token_pair(user: StoredUser) -> TokenPair:
    """A new access and refresh token for `user`; the role rides along as a claim."""
    identity = str(user["_id"])
    claims = {"role": user["role"]}
    access_lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return TokenPair(
        access_token=create_access_token(identity=identity, user_claims=claims),
        refresh_token=create_refresh_token(identity=identity, user_claims=claims),
        token_type="Bearer",
        expires_in=int(access_lifetime.total_seconds()),
    )
