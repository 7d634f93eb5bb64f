"""FastAPI + Motor, as its documentation teaches: `uvicorn bench.peers.fastapi_peer:app`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from fastapi import FastAPI, HTTPException
from motor.motor_asyncio import AsyncIOMotorClient
from pydantic import BaseModel

from bench.peers.common import LIST_LIMIT, LIST_SORT, book_json, list_selector


class Book(BaseModel):
    id: str
    isbn: str
    title: str
    authors: list[str]
    published_year: int | None
    publisher: str | None
    language: str | None
    pages: int | None
    tags: list[str]
    description: str | None
    created_by: str
    created_at: str
    updated_at: str


class BookPage(BaseModel):
    items: list[Book]
    next_cursor: str | None


database: Any = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global database
    client: Any = AsyncIOMotorClient(os.environ["MONGO_URI"], tz_aware=True)
    database = client[os.environ["MONGO_DB"]]
    yield
    client.close()


app = FastAPI(lifespan=lifespan)


@app.get("/api/v1/books/{book_id}", response_model=Book)
async def get_book(book_id: str) -> dict[str, Any]:
    try:
        object_id = ObjectId(book_id)
    except InvalidId as error:
        raise HTTPException(404) from error
    document = await database.books.find_one({"_id": object_id})
    if document is None:
        raise HTTPException(404)
    return book_json(document)


@app.get("/api/v1/books", response_model=BookPage)
async def list_books(tag: str | None = None) -> dict[str, Any]:
    found = database.books.find(list_selector(tag)).sort(LIST_SORT).limit(LIST_LIMIT + 1)
    documents = await found.to_list(LIST_LIMIT + 1)
    more = len(documents) > LIST_LIMIT
    items = [book_json(document) for document in documents[:LIST_LIMIT]]
    return {"items": items, "next_cursor": items[-1]["id"] if more else None}
