"""Password-reset tokens: what the worker mails and the API redeems, in one place.

A token is 32 random bytes; Redis keeps only its SHA-256 (a leaked Redis dump resets no
password), with the account and the token generation it was made in. Redeeming takes the
record away in one step (GETDEL), so a token works once; a password change since it was
made (a new generation) makes it worthless, and Redis drops it after 30 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

# The Celery task that mails a reset link (to the short-task queue, beside maintenance).
PASSWORD_RESET_TASK = "bookapi.mail_password_reset"
TOKEN_LIFETIME = timedelta(minutes=30)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class PendingReset:
    """Who a token resets, and in which token generation it was issued."""

    user_id: str
    generation: int

    def dump(self) -> str:
        return f"{self.user_id}:{self.generation}"

    @classmethod
    def load(cls, text: str) -> PendingReset:
        user_id, _, generation = text.partition(":")
        return cls(user_id, int(generation))


def reset_link(public_url: str, token: str) -> str:
    """The console's reset view; the token rides in the fragment, which browsers never send
    to a server, so it lands in no access log or proxy."""
    return f"{public_url.rstrip('/')}/#reset={token}"
