"""Request and response models of `/api/v1/users` (administration)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..paging import PageQuery
from ..text_rules import ONE_LINE
from .account_schemas import User


class UserListQuery(PageQuery):
    q: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=254, pattern=ONE_LINE),
            Field(description="Only accounts whose email starts with this (any case)"),
        ]
        | None
    ) = None


class UserPage(BaseModel):
    items: list[User]
    next_cursor: str | None


class UserChangeIn(BaseModel):
    """What an admin may change about an account; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "admin"] | None = None
    disabled: bool | None = None
