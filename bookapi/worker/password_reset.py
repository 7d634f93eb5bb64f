"""Mailing a password-reset link: the worker's half of `POST /auth/password-reset`.

The API answers 202 for any address and queues this; only here is the account looked up,
so the API's answer and its timing say nothing about which addresses have accounts.
"""

from __future__ import annotations

import logging

from ..domain.accounts.reset_tokens import (
    TOKEN_LIFETIME,
    PendingReset,
    new_token,
    reset_link,
    token_digest,
)
from ..domain.accounts.user_repository import (
    find_user_by_email_sync,
    is_disabled,
    token_generation,
)
from .mailer import send_mail
from .store import WorkerStore

log = logging.getLogger(__name__)
SUBJECT = "Reset your bookapi password"
BODY = """Someone, probably you, asked to reset the password of your bookapi account.

Open this link within {minutes} minutes to choose a new password (it works once):

{link}

If it was not you, ignore this mail: your password stays as it is.
"""


def mail_reset_link(store: WorkerStore, email: str) -> bool:
    """Mail a reset link to `email` if an active account has it; whether one was sent."""
    user = find_user_by_email_sync(store.db, email)
    if user is None or is_disabled(user):
        log.info("password reset asked for an address with no active account")
        return False
    token = new_token()
    pending = PendingReset(str(user["_id"]), token_generation(user))
    lifetime = int(TOKEN_LIFETIME.total_seconds())
    store.redis.set(store.names.password_reset(token_digest(token)), pending.dump(), ex=lifetime)
    text = BODY.format(minutes=lifetime // 60, link=reset_link(store.settings.PUBLIC_URL, token))
    send_mail(store.settings, user["email"], SUBJECT, text)
    log.info("mailed a password reset link to user %s", user["_id"])
    return True
