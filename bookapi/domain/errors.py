"""Domain errors: raised by the domain code, turned into problem responses by `api.problems`.

Nothing here knows about HTTP; each class says what went wrong and carries what a client
needs to know (as `extensions`). The mapping to a status lives in one table in the API.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the domain refuses; `detail` is safe to show to the client."""

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFoundError(DomainError):
    """No such resource, or one the caller may not see."""

    def __init__(self, what: str) -> None:
        super().__init__(f"No {what} has this id.")


class ForbiddenError(DomainError):
    """The caller is known but may not do this."""


class DuplicateIsbnError(DomainError):
    def __init__(self, isbn: str, existing_id: str | None) -> None:
        super().__init__(
            f"A book with ISBN {isbn} already exists: {existing_id}.", existing_id=existing_id
        )
        self.isbn = isbn
        self.existing_id = existing_id


class DuplicateEmailError(DomainError):
    def __init__(self) -> None:
        super().__init__("An account with this email exists.")


class InvalidCursorError(DomainError):
    """A paging cursor that is damaged or belongs to another query."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[{"loc": ["query", "cursor"], "msg": detail}])


class StaleVersionError(DomainError):
    """The resource changed since the version the caller based its change on."""

    def __init__(self) -> None:
        super().__init__("The book has changed since you read it.")


class NotReadyError(DomainError):
    """The resource exists but is not in a state that allows this yet."""


class GoneError(DomainError):
    """The resource existed but its content has been removed."""


class JobFailedError(Exception):
    """A job that cannot succeed (e.g. a CSV header with unknown columns); says why."""
