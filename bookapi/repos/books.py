"""Books in MongoDB: plain async functions that take the database handle first."""

from __future__ import annotations

import re
from typing import Any, NoReturn

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import OperationFailure

from ..mongo import Database, is_duplicate_key
from ..paging import decode_cursor, encode_cursor, fingerprint, invalid_cursor
from ..schemas.books import BookListQuery
from ..timestamps import from_rfc3339, to_rfc3339, utc_now

COLLECTION = "books"
# API sort key -> stored field. Titles sort by their case-folded form.
SORT_FIELDS = {"title": "title_key", "published_year": "published_year", "created_at": "created_at"}
OPTIONAL_FIELDS = ("published_year", "publisher", "language", "pages", "description")
# Storage-only fields are never returned to clients.
INTERNAL_FIELDS = ("_id", "title_key", "authors_key", "version", "import_job")


class DuplicateIsbnError(Exception):
    def __init__(self, isbn: str, existing_id: str | None) -> None:
        super().__init__(isbn)
        self.isbn = isbn
        self.existing_id = existing_id


async def ensure_book_indexes(db: Database) -> None:
    """Indexes for the unique ISBN and for every list filter and sort order."""
    await db[COLLECTION].create_indexes(
        [
            IndexModel([("isbn", ASCENDING)], unique=True, name="isbn_unique"),
            IndexModel([("created_at", ASCENDING), ("_id", ASCENDING)], name="created_at"),
            IndexModel([("title_key", ASCENDING), ("_id", ASCENDING)], name="title"),
            IndexModel([("published_year", ASCENDING), ("_id", ASCENDING)], name="year"),
            IndexModel(
                [("authors_key", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
                name="author",
            ),
            IndexModel(
                [("tags", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)], name="tag"
            ),
            IndexModel(
                [("language", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
                name="language",
            ),
            IndexModel([("created_by", ASCENDING)], name="created_by"),
        ]
    )


def fold(text: str) -> str:
    """The case-insensitive form used for search, author filter and title order."""
    return text.casefold()


def derived_fields(fields: dict[str, Any]) -> dict[str, Any]:
    derived: dict[str, Any] = {}
    if "title" in fields:
        derived["title_key"] = fold(fields["title"])
    if "authors" in fields:
        derived["authors_key"] = [fold(name) for name in fields["authors"]]
    return derived


def to_api(document: dict[str, Any]) -> dict[str, Any]:
    """A stored book as the API shows it."""
    book = {key: value for key, value in document.items() if key not in INTERNAL_FIELDS}
    book["id"] = str(document["_id"])
    book["created_at"] = to_rfc3339(document["created_at"])
    book["updated_at"] = to_rfc3339(document["updated_at"])
    for name in OPTIONAL_FIELDS:
        book.setdefault(name, None)
    book.setdefault("tags", [])
    return book


def etag(document: dict[str, Any]) -> str:
    return f'"{document["_id"]}-{document["version"]}"'


async def _raise_if_duplicate(db: Database, isbn: str, error: OperationFailure) -> NoReturn:
    if not is_duplicate_key(error):
        raise error
    existing = await db[COLLECTION].find_one({"isbn": isbn}, {"_id": 1})
    raise DuplicateIsbnError(isbn, str(existing["_id"]) if existing else None) from error


def new_book_document(fields: dict[str, Any], created_by: str) -> dict[str, Any]:
    """A book as stored: the input fields, their folded forms, owner, times and version."""
    now = utc_now()
    return {
        "_id": ObjectId(),
        **fields,
        **derived_fields(fields),
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def changed_fields_update(changes: dict[str, Any]) -> dict[str, Any]:
    """The update that sets `changes` (and what derives from them) and bumps the version."""
    return {
        "$set": {**changes, **derived_fields(changes), "updated_at": utc_now()},
        "$inc": {"version": 1},
    }


async def insert_book(db: Database, fields: dict[str, Any], created_by: str) -> dict[str, Any]:
    document = new_book_document(fields, created_by)
    try:
        await db[COLLECTION].insert_one(document)
    except OperationFailure as error:
        await _raise_if_duplicate(db, fields["isbn"], error)
    return document


async def find_book(db: Database, book_id: ObjectId) -> dict[str, Any] | None:
    document: dict[str, Any] | None = await db[COLLECTION].find_one({"_id": book_id})
    return document


async def update_book(
    db: Database, book_id: ObjectId, changes: dict[str, Any], expected_version: int | None
) -> dict[str, Any] | None:
    """Set `changes`; None if the book is gone or no longer has `expected_version`."""
    selector: dict[str, Any] = {"_id": book_id}
    if expected_version is not None:
        selector["version"] = expected_version
    try:
        document: dict[str, Any] | None = await db[COLLECTION].find_one_and_update(
            selector, changed_fields_update(changes), return_document=ReturnDocument.AFTER
        )
    except OperationFailure as error:
        await _raise_if_duplicate(db, changes.get("isbn", ""), error)
    return document


async def delete_book(db: Database, book_id: ObjectId, expected_version: int | None) -> bool:
    selector: dict[str, Any] = {"_id": book_id}
    if expected_version is not None:
        selector["version"] = expected_version
    result = await db[COLLECTION].delete_one(selector)
    return bool(result.deleted_count)


def list_filter(query: BookListQuery) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    if query.q is not None:
        # Escaped: the user's text is matched literally, never run as a regex.
        pattern = re.escape(fold(query.q))
        selector["$or"] = [
            {"title_key": {"$regex": pattern}},
            {"authors_key": {"$regex": pattern}},
        ]
    if query.author is not None:
        selector["authors_key"] = fold(query.author)
    if query.tag is not None:
        selector["tags"] = query.tag
    if query.language is not None:
        selector["language"] = query.language
    year: dict[str, int] = {}
    if query.year_min is not None:
        year["$gte"] = query.year_min
    if query.year_max is not None:
        year["$lte"] = query.year_max
    if year:
        selector["published_year"] = year
    return selector


def _after(field: str, descending: bool, value: Any, last_id: ObjectId) -> dict[str, Any]:
    """Books strictly after (value, last_id) in the order; nulls sort first, as in MongoDB."""
    beyond, id_beyond = ("$lt", {"$lt": last_id}) if descending else ("$gt", {"$gt": last_id})
    if value is None:
        same_value_later = {field: None, "_id": id_beyond}
        return (
            same_value_later if descending else {"$or": [same_value_later, {field: {"$ne": None}}]}
        )
    clauses: list[dict[str, Any]] = [
        {field: {beyond: value}},
        {field: value, "_id": id_beyond},
    ]
    if descending:
        clauses.append({field: None})
    return {"$or": clauses}


def _cursor_value(field: str, document: dict[str, Any]) -> Any:
    if field == "created_at":
        return to_rfc3339(document["created_at"])
    return document.get(field)


def _position_value(field: str, position: dict[str, Any]) -> Any:
    value = position.get("v")
    if field == "created_at":
        if not isinstance(value, str):
            raise invalid_cursor("the cursor is damaged")
        return from_rfc3339(value)
    if value is not None and not isinstance(value, (str, int)):
        raise invalid_cursor("the cursor is damaged")
    return value


async def list_books(db: Database, query: BookListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """One page of matching books in the requested order, and the cursor of the next page."""
    descending = query.sort.startswith("-")
    field = SORT_FIELDS[query.sort.lstrip("-")]
    query_print = fingerprint(query.model_dump(exclude={"cursor", "limit"}))
    selector = list_filter(query)
    if query.cursor is not None:
        position = decode_cursor(query.cursor, query_print)
        after = _after(field, descending, _position_value(field, position), position["i"])
        selector = {"$and": [selector, after]} if selector else after
    direction = DESCENDING if descending else ASCENDING
    cursor = (
        db[COLLECTION]
        .find(selector)
        .sort([(field, direction), ("_id", direction)])
        .limit(query.limit + 1)
    )
    documents: list[dict[str, Any]] = await cursor.to_list(query.limit + 1)
    if len(documents) <= query.limit:
        return documents, None
    documents = documents[: query.limit]
    last = documents[-1]
    next_cursor = encode_cursor(
        {"f": query_print, "v": _cursor_value(field, last), "i": str(last["_id"])}
    )
    return documents, next_cursor
