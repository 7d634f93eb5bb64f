"""Request and response models of `/api/v1/auth` (and the User that `/api/v1/users` shows)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ..output_fields import ResourceId, Timestamp
from ..text_rules import ONE_LINE, ONE_LINE_NOT_BLANK
from .emails import normalized_email

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(normalized_email),
    Field(json_schema_extra={"format": "email"}),
]
NewPassword = Annotated[str, StringConstraints(min_length=8, max_length=128)]
# Any length up to the maximum: a login with a too-short password is simply wrong (401).
GivenPassword = Annotated[str, StringConstraints(min_length=1, max_length=128)]
DisplayName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=ONE_LINE_NOT_BLANK
    ),
]
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class RegisterIn(BaseModel):
    """A new account. Roles cannot be chosen here: a `role` field is rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)

    email: Email
    password: NewPassword
    display_name: DisplayName | None = None


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # No control characters: a NUL cannot even be looked up on some backends.
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=254, pattern=ONE_LINE),
    ]
    password: GivenPassword


class ChangePasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    current_password: GivenPassword
    new_password: NewPassword


class ResetRequestIn(BaseModel):
    """Whom to send a reset link; the answer is the same whether the account exists."""

    model_config = ConfigDict(extra="forbid", strict=True)

    email: Email


class ResetConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    token: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\w-]+$")]
    new_password: NewPassword


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
    disabled: bool = False
    created_at: Timestamp
