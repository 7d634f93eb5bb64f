"""Litestar + PyMongo's AsyncMongoClient with its built-in response cache (`cache=60` on the
route, as its documentation teaches). `uvicorn bench.peers.litestar_peer:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from litestar import Litestar, get
from litestar.exceptions import NotFoundException

from bench.peers.common import (
    LIST_LIMIT,
    LIST_SORT,
    async_books_database,
    book_json,
    list_selector,
)

database: Any = None


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    global database
    client, database = async_books_database()
    yield
    await client.close()


@get("/api/v1/books/{book_id:str}", cache=60)
async def get_book(book_id: str) -> dict[str, Any]:
    try:
        document = await database.books.find_one({"_id": ObjectId(book_id)})
    except InvalidId as error:
        raise NotFoundException() from error
    if document is None:
        raise NotFoundException()
    return book_json(document)


@get("/api/v1/books", cache=60)
async def list_books(tag: str | None = None) -> dict[str, Any]:
    found = database.books.find(list_selector(tag)).sort(LIST_SORT).limit(LIST_LIMIT + 1)
    documents = await found.to_list(LIST_LIMIT + 1)
    items = [book_json(document) for document in documents[:LIST_LIMIT]]
    more = len(documents) > LIST_LIMIT
    return {"items": items, "next_cursor": items[-1]["id"] if more else None}


app = Litestar([get_book, list_books], lifespan=[lifespan])
