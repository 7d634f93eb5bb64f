"""JWT signing keys and their rotation: one current key signs, previous keys still verify.

Every token names its key in the `kid` header, so rotating is: set the new key as
`JWT_SECRET_KEY`, move the old one to `JWT_PREVIOUS_SECRET_KEYS`, restart, and drop
it from there once the longest token lifetime (the refresh token's) has passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from quart_jwt_extended import JWTManager

from settings import Config


def key_id(secret: str) -> str:
    """A public name for a key: a hash prefix that says nothing usable about the key."""
    return hashlib.sha256(b"bookapi-jwt-kid:" + secret.encode()).hexdigest()[:16]


def split_keys(raw: str) -> list[str]:
    """`JWT_PREVIOUS_SECRET_KEYS` as a list: comma-separated, blanks ignored."""
    return [key.strip() for key in raw.split(",") if key.strip()]


@dataclass(frozen=True)
class SigningKeys:
    current: str
    verifying: Mapping[str, str]  # kid -> key, the current one included

    @classmethod
    def from_settings(cls, settings: Config) -> SigningKeys:
        current = settings.JWT_SECRET_KEY
        keys = [current, *split_keys(settings.JWT_PREVIOUS_SECRET_KEYS)]
        return cls(current=current, verifying={key_id(key): key for key in keys})

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def for_header(self, header: Mapping[str, Any]) -> str:
        """The key that verifies a token with this header; a missing or unknown kid fails."""
        kid = header.get("kid")
        key = self.verifying.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise jwt.InvalidKeyError("the token's key id (kid) is missing or unknown")
        return key


def verify_with(manager: JWTManager, keys: SigningKeys) -> None:
    """Let quart-jwt-extended verify each token with the key its `kid` names."""

    def key_for_token(_claims: dict[str, Any], header: dict[str, Any]) -> str:
        return keys.for_header(header)

    manager.decode_key_loader(key_for_token)
