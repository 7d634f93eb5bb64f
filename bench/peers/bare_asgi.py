"""The ceiling: a bare ASGI callable answering every book and the list page from a dict of
rendered bytes, loaded at startup; no framework, no log, no metrics.
`granian --interface asgi bench.peers.bare_asgi:app`."""

from __future__ import annotations

import json
import os
from typing import Any

from pymongo import MongoClient

from bench.peers.common import LIST_LIMIT, LIST_SORT, book_json, list_selector

PREFIX = "/api/v1/books/"
NOT_FOUND = b'{"status": 404}'
rendered: dict[str, bytes] = {}


def load() -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGO_URI"], tz_aware=True)
    books = client[os.environ["MONGO_DB"]].books
    for document in books.find():
        rendered[PREFIX + str(document["_id"])] = json.dumps(book_json(document)).encode()
    for tag in ("fiction",):
        found = list(books.find(list_selector(tag)).sort(LIST_SORT).limit(LIST_LIMIT + 1))
        items = [book_json(document) for document in found[:LIST_LIMIT]]
        page = {"items": items, "next_cursor": items[-1]["id"] if len(found) > LIST_LIMIT else None}
        rendered[f"/api/v1/books?tag={tag}&limit={LIST_LIMIT}"] = json.dumps(page).encode()
    client.close()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            if message["type"] == "lifespan.startup":
                load()
                await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    query = scope["query_string"].decode()
    body = rendered.get(scope["path"] + ("?" + query if query else ""))
    status = 200 if body is not None else 404
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body or NOT_FOUND})
