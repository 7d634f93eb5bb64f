"""FastAPI + PyMongo's AsyncMongoClient with the ten-line cache a user would add: a
`cachetools.TTLCache` of rendered response bytes, keyed by book id or by the list's tag.
`uvicorn bench.peers.fastapi_cached_peer:app`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from cachetools import TTLCache
from fastapi import FastAPI, HTTPException, Response

from bench.peers.common import (
    LIST_LIMIT,
    LIST_SORT,
    async_books_database,
    book_json,
    list_selector,
)

database: Any = None
rendered: TTLCache[str, bytes] = TTLCache(maxsize=10_000, ttl=60)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global database
    client, database = async_books_database()
    yield
    await client.close()


app = FastAPI(lifespan=lifespan)


@app.get("/api/v1/books/{book_id}")
async def get_book(book_id: str) -> Response:
    body = rendered.get(book_id)
    if body is None:
        try:
            document = await database.books.find_one({"_id": ObjectId(book_id)})
        except InvalidId as error:
            raise HTTPException(404) from error
        if document is None:
            raise HTTPException(404)
        body = rendered[book_id] = json.dumps(book_json(document)).encode()
    return Response(body, media_type="application/json")


@app.get("/api/v1/books")
async def list_books(tag: str | None = None) -> Response:
    key = f"list:{tag}"
    body = rendered.get(key)
    if body is None:
        found = database.books.find(list_selector(tag)).sort(LIST_SORT).limit(LIST_LIMIT + 1)
        documents = await found.to_list(LIST_LIMIT + 1)
        items = [book_json(document) for document in documents[:LIST_LIMIT]]
        more = len(documents) > LIST_LIMIT
        page = {"items": items, "next_cursor": items[-1]["id"] if more else None}
        body = rendered[key] = json.dumps(page).encode()
    return Response(body, media_type="application/json")
