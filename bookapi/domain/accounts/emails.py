"""Email addresses: one normal form, so an address finds its account however it was typed.

Registration stores the address as email-validator normalises it (Unicode NFC in the local
part, the domain in its IDNA form: full-width letters become ASCII), and every lookup
(login, the login rate limit, the CLI) folds the address through the same normal form.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email


def normalized_email(text: str) -> str:
    """`text` as a valid address in its normal form; ValueError (saying why) if it is none.
    The syntax only: whether mail arrives is not checked, so reserved domains such as
    `.test` are accepted like any other (the OpenAPI `email` format allows them)."""
    try:
        return validate_email(
            text.strip(),
            check_deliverability=False,
            globally_deliverable=False,
            test_environment=True,
        ).normalized
    except EmailNotValidError as error:
        raise ValueError(str(error)) from error


def email_key(text: str) -> str:
    """The folded normal form that is unique and indexed: emails compare case-insensitively.
    Text that is no valid address (a login typo) still gets a stable key."""
    try:
        return normalized_email(text).casefold()
    except ValueError:
        return unicodedata.normalize("NFC", text.strip()).casefold()
