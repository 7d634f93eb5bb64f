"""What a stored book is, and the pure rules that build, change, filter and order it.

Shared by the API's repository and the worker's importer and exporter, so both write the
same documents and read them in the same order.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NotRequired, cast

from bson import ObjectId
from pymongo import ASCENDING, IndexModel

from ..errors import ForbiddenError
from ..paging import SortOrder
from ..timestamps import utc_now
from .book_schemas import BookFields, BookFilters

COLLECTION = "books"
# The unique ISBN (imports rely on it to find duplicates), and every filter and order.
BOOK_INDEXES = [
    IndexModel([("isbn", ASCENDING)], unique=True, name="isbn_unique"),
    IndexModel([("created_at", ASCENDING), ("_id", ASCENDING)], name="created_at"),
    IndexModel([("title_key", ASCENDING), ("_id", ASCENDING)], name="title"),
    IndexModel([("published_year", ASCENDING), ("_id", ASCENDING)], name="year"),
    IndexModel(
        [("authors_key", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)], name="author"
    ),
    IndexModel([("tags", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)], name="tag"),
    IndexModel(
        [("language", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)], name="language"
    ),
    IndexModel([("created_by", ASCENDING)], name="created_by"),
]


# API sort key -> stored field. Titles sort by their case-folded form.
SORT_FIELDS = {"title": "title_key", "published_year": "published_year", "created_at": "created_at"}


class StoredBook(BookFields):
    """A book in the `books` collection: input fields, folded keys, owner, times, version."""

    _id: ObjectId
    title_key: str
    authors_key: list[str]
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    import_job: NotRequired[ObjectId]  # the import that inserted it, for exact rerun counts
    import_attempt: NotRequired[int]  # and which attempt of that import


def fold(text: str) -> str:
    """The case-insensitive form used for search, author filter and title order."""
    return text.casefold()


def derived_fields(fields: BookFields) -> dict[str, object]:
    derived: dict[str, object] = {}
    if "title" in fields:
        derived["title_key"] = fold(fields["title"])
    if "authors" in fields:
        derived["authors_key"] = [fold(name) for name in fields["authors"]]
    return derived


def new_book_document(
    fields: BookFields, created_by: str, import_job: ObjectId | None = None
) -> StoredBook:
    """A book as stored: the input fields, their folded forms, owner, times and version."""
    now = utc_now()
    stored = {
        "_id": ObjectId(),
        **fields,
        "title_key": fold(fields["title"]),
        "authors_key": [fold(name) for name in fields["authors"]],
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    # A cast because mypy cannot type a TypedDict built from another one with **.
    document = cast(StoredBook, stored)
    if import_job is not None:
        document["import_job"] = import_job
    return document


def changed_fields_update(changes: BookFields) -> dict[str, Any]:
    """The update that sets `changes` (and what derives from them) and bumps the version."""
    return {
        "$set": {**changes, **derived_fields(changes), "updated_at": utc_now()},
        "$inc": {"version": 1},
    }


def check_may_change(book: StoredBook, user_id: str, is_admin: bool) -> None:
    """Only a book's creator or an admin may change or delete it."""
    if book["created_by"] != user_id and not is_admin:
        raise ForbiddenError("Only the book's creator or an admin may change it.")


def etag(book: StoredBook) -> str:
    return f'"{book["_id"]}-{book["version"]}"'


def list_filter(filters: BookFilters) -> dict[str, Any]:
    """The MongoDB selector of a book list's filters (user text always matched literally)."""
    selector: dict[str, Any] = {}
    if filters.q is not None:
        pattern = re.escape(fold(filters.q))  # escaped: never run as a regex
        selector["$or"] = [
            {"title_key": {"$regex": pattern}},
            {"authors_key": {"$regex": pattern}},
        ]
    if filters.author is not None:
        selector["authors_key"] = fold(filters.author)
    if filters.tag is not None:
        selector["tags"] = filters.tag
    if filters.language is not None:
        selector["language"] = filters.language
    year: dict[str, int] = {}
    if filters.year_min is not None:
        year["$gte"] = filters.year_min
    if filters.year_max is not None:
        year["$lte"] = filters.year_max
    if year:
        selector["published_year"] = year
    return selector


def sort_order(filters: BookFilters) -> SortOrder:
    """The order a book list (and an export) walks in."""
    return SortOrder(SORT_FIELDS[filters.sort.lstrip("-")], filters.sort.startswith("-"))
