"""The RFC 9457 problem-details body, for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel


class FieldError(BaseModel):
    loc: list[str]
    msg: str


class Problem(BaseModel):
    """An error: `type`, `title`, `status`, `detail`, and `errors` for invalid input."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None
