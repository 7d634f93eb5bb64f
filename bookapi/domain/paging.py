"""Keyset paging, shared by every list: the `limit`/`cursor` query fields, opaque cursors, and
the query for the page after a cursor (no skip, stable under concurrent inserts)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .errors import InvalidCursorError
from .timestamps import from_rfc3339, to_rfc3339

ASCENDING, DESCENDING = 1, -1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what BSON can store


class PageQuery(BaseModel):
    """How many items a page holds, and where it starts (the previous page's `next_cursor`)."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: (
        Annotated[
            str,
            StringConstraints(max_length=1000, pattern=r"^[A-Za-z0-9_-]+$"),
            Field(description="The `next_cursor` of the previous page, as given (opaque)"),
        ]
        | None
    ) = None


@dataclass(frozen=True)
class SortOrder:
    """Items ordered by `field`, ties broken by `_id` in the same direction."""

    field: str
    descending: bool

    def mongo_sort(self) -> list[tuple[str, int]]:
        direction = DESCENDING if self.descending else ASCENDING
        if self.field == "_id":
            return [("_id", direction)]
        return [(self.field, direction), ("_id", direction)]


def fingerprint(query: dict[str, Any]) -> str:
    """A short digest of the filters and order, so a cursor cannot be replayed on another query."""
    canonical = json.dumps(query, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _encode_value(value: Any) -> Any:
    return {"t": to_rfc3339(value)} if isinstance(value, datetime) else value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if not isinstance(value.get("t"), str):
            raise InvalidCursorError("the cursor is damaged")
        try:
            return from_rfc3339(value["t"])
        except (ValueError, OverflowError) as error:  # a date past what UTC can hold
            raise InvalidCursorError("the cursor is damaged") from error
    if value is not None and not isinstance(value, (str, int)):
        raise InvalidCursorError("the cursor is damaged")
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise InvalidCursorError("the cursor is damaged")  # no stored field holds such a number
    return value


def encode_cursor(query_print: str, order: SortOrder, last: dict[str, Any]) -> str:
    """The cursor of the page after `last`, the final item of this page."""
    position = {"f": query_print, "i": str(last["_id"])}
    if order.field != "_id":
        position["v"] = _encode_value(last.get(order.field))
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_position(cursor: str, query_print: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as error:
        raise InvalidCursorError("the cursor is damaged") from error
    if not isinstance(position, dict) or position.get("f") != query_print:
        raise InvalidCursorError("the cursor belongs to a different query")
    if not isinstance(position.get("i"), str) or not ObjectId.is_valid(position["i"]):
        raise InvalidCursorError("the cursor is damaged")
    return position


def _after(field: str, descending: bool, value: Any, last_id: ObjectId) -> dict[str, Any]:
    """Items strictly after (value, last_id) in the order; nulls sort first, as in MongoDB."""
    beyond = "$lt" if descending else "$gt"
    if field == "_id":
        return {"_id": {beyond: last_id}}
    id_beyond = {beyond: last_id}
    if value is None:
        same_value_later = {field: None, "_id": id_beyond}
        return (
            same_value_later if descending else {"$or": [same_value_later, {field: {"$ne": None}}]}
        )
    clauses: list[dict[str, Any]] = [{field: {beyond: value}}, {field: value, "_id": id_beyond}]
    if descending:
        clauses.append({field: None})
    return {"$or": clauses}


def page_selector(
    selector: dict[str, Any], order: SortOrder, cursor: str | None, query_print: str
) -> dict[str, Any]:
    """`selector` narrowed to the items after `cursor`; InvalidCursorError if it is bad."""
    if cursor is None:
        return selector
    position = _decode_position(cursor, query_print)
    value = _decode_value(position.get("v"))
    after = _after(order.field, order.descending, value, ObjectId(position["i"]))
    return {"$and": [selector, after]} if selector else after


async def fetch_page(
    collection: Any,
    selector: dict[str, Any],
    order: SortOrder,
    page: PageQuery,
    query_print: str,
    projection: dict[str, int] | None = None,
) -> tuple[list[Any], str | None]:
    """One page of `collection` (an async collection) and the cursor of the next (None: last)."""
    found = (
        collection.find(page_selector(selector, order, page.cursor, query_print), projection)
        .sort(order.mongo_sort())
        .limit(page.limit + 1)
    )
    items: list[Any] = await found.to_list(page.limit + 1)
    if len(items) <= page.limit:
        return items, None
    items = items[: page.limit]
    return items, encode_cursor(query_print, order, items[-1])
