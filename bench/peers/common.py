"""What both peers share: the book as the API shows it, and the list filter they serve."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

LIST_LIMIT = 20


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def book_json(document: dict[str, Any]) -> dict[str, Any]:
    """The same fields and formats bookapi returns."""
    return {
        "id": str(document["_id"]),
        "isbn": document["isbn"],
        "title": document["title"],
        "authors": document["authors"],
        "published_year": document.get("published_year"),
        "publisher": document.get("publisher"),
        "language": document.get("language"),
        "pages": document.get("pages"),
        "tags": document.get("tags", []),
        "description": document.get("description"),
        "created_by": document["created_by"],
        "created_at": rfc3339(document["created_at"]),
        "updated_at": rfc3339(document["updated_at"]),
    }


def list_selector(tag: str | None) -> dict[str, Any]:
    return {"tags": tag} if tag else {}


# Newest first, as bookapi's default order; one more than a page tells whether there is a next.
LIST_SORT = [("created_at", -1), ("_id", -1)]


def async_books_database() -> tuple[Any, Any]:
    """An AsyncMongoClient and the benchmark's database, for a peer's lifespan."""
    from pymongo import AsyncMongoClient

    client: Any = AsyncMongoClient(os.environ["MONGO_URI"], tz_aware=True)
    return client, client[os.environ["MONGO_DB"]]
