"""Request and response models of `/api/v1/auth`."""

from __future__ import annotations

from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from ..output_fields import ResourceId, Timestamp


def _valid_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(str(error)) from error


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_valid_email)
]
NewPassword = Annotated[str, StringConstraints(min_length=8, max_length=128)]
# Any length up to the maximum: a login with a too-short password is simply wrong (401).
GivenPassword = Annotated[str, StringConstraints(min_length=1, max_length=128)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class RegisterIn(BaseModel):
    """A new account. Roles cannot be chosen here: a `role` field is rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)

    email: Email
    password: NewPassword
    display_name: DisplayName | None = None


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: GivenPassword


class LogoutIn(BaseModel):
    """Optionally the refresh token to revoke along with the access token."""

    model_config = ConfigDict(extra="forbid", strict=True)

    refresh_token: Token | None = None


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class User(BaseModel):
    """An account as the API shows it (never with its password hash)."""

    id: ResourceId
    email: str
    display_name: str | None = None
    role: Literal["user", "admin"]
    created_at: Timestamp
