"""Books in MongoDB for the API: plain async functions that take the database handle first.

They raise domain errors (not found, duplicate ISBN, stale version), never HTTP ones.
"""

from __future__ import annotations

from typing import NoReturn

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import OperationFailure

from ...storage.mongo import Database, ensure_indexes
from ...storage.server_quirks import is_duplicate_key
from ..errors import DuplicateIsbnError, NotFoundError, StaleVersionError
from ..paging import fetch_page, fingerprint
from .book_schemas import BookFields, BookListQuery
from .documents import (
    BOOK_INDEXES,
    COLLECTION,
    StoredBook,
    changed_fields_update,
    list_filter,
    new_book_document,
    sort_order,
)


async def ensure_book_indexes(db: Database) -> None:
    """Indexes for the unique ISBN and for every list filter and sort order."""
    await ensure_indexes(db[COLLECTION], BOOK_INDEXES)


def _lost_race(expected_version: int | None) -> NotFoundError | StaleVersionError:
    """The book changed (stale) or vanished (not found) between our read and our write."""
    return NotFoundError("book") if expected_version is None else StaleVersionError()


async def _raise_if_duplicate(db: Database, isbn: str, error: OperationFailure) -> NoReturn:
    if not is_duplicate_key(error):
        raise error
    existing = await db[COLLECTION].find_one({"isbn": isbn}, {"_id": 1})
    raise DuplicateIsbnError(isbn, str(existing["_id"]) if existing else None) from error


async def insert_book(db: Database, fields: BookFields, created_by: str) -> StoredBook:
    document = new_book_document(fields, created_by)
    try:
        await db[COLLECTION].insert_one(document)
    except OperationFailure as error:
        await _raise_if_duplicate(db, fields["isbn"], error)
    return document


async def find_book(db: Database, book_id: ObjectId) -> StoredBook:
    """The book with this id; NotFoundError if there is none."""
    document: StoredBook | None = await db[COLLECTION].find_one({"_id": book_id})
    if document is None:
        raise NotFoundError("book")
    return document


async def find_books(db: Database, book_ids: list[ObjectId]) -> dict[ObjectId, StoredBook]:
    """The books among `book_ids` that exist, by id: one query, and (the batch asked for in
    full) one round trip. One id is asked for by equality, which FerretDB v1 answers without
    a scan (it scans for any `$in`)."""
    if len(book_ids) == 1:
        document = await db[COLLECTION].find_one({"_id": book_ids[0]})
        return {} if document is None else {book_ids[0]: document}
    cursor = db[COLLECTION].find({"_id": {"$in": book_ids}}, batch_size=len(book_ids))
    return {document["_id"]: document async for document in cursor}


async def update_book(
    db: Database, book_id: ObjectId, changes: BookFields, expected_version: int | None
) -> StoredBook:
    """Set `changes`, if the book still has `expected_version` (None: any version)."""
    selector: dict[str, object] = {"_id": book_id}
    if expected_version is not None:
        selector["version"] = expected_version
    try:
        document: StoredBook | None = await db[COLLECTION].find_one_and_update(
            selector, changed_fields_update(changes), return_document=ReturnDocument.AFTER
        )
    except OperationFailure as error:
        await _raise_if_duplicate(db, changes.get("isbn", ""), error)
    if document is None:
        raise _lost_race(expected_version)
    return document


async def delete_book(db: Database, book_id: ObjectId, expected_version: int | None) -> None:
    """Delete the book, if it still has `expected_version` (None: any version)."""
    selector: dict[str, object] = {"_id": book_id}
    if expected_version is not None:
        selector["version"] = expected_version
    result = await db[COLLECTION].delete_one(selector)
    if not result.deleted_count:
        raise _lost_race(expected_version)


async def list_books(db: Database, query: BookListQuery) -> tuple[list[StoredBook], str | None]:
    """One page of matching books in the requested order, and the cursor of the next page."""
    query_print = fingerprint(query.model_dump(exclude={"cursor", "limit"}))
    return await fetch_page(
        db[COLLECTION], list_filter(query), sort_order(query), query, query_print
    )
