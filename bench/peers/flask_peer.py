"""Flask + Flask-PyMongo, as their documentation teaches:
`gunicorn -k gthread --threads 16 bench.peers.flask_peer:app`."""

from __future__ import annotations

import os
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from flask import Flask, abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_pymongo import PyMongo

from bench.peers.common import LIST_LIMIT, LIST_SORT, book_json, list_selector

app = Flask(__name__)
app.config["MONGO_URI"] = os.environ["MONGO_URI"]
mongo: Any = PyMongo(app, tz_aware=True)
books: Any = mongo.cx[os.environ["MONGO_DB"]].books


@app.get("/api/v1/books/<book_id>")
def get_book(book_id: str) -> ResponseReturnValue:
    try:
        object_id = ObjectId(book_id)
    except InvalidId:
        abort(404)
    document = books.find_one({"_id": object_id})
    if document is None:
        abort(404)
    return jsonify(book_json(document))


@app.get("/api/v1/books")
def list_books() -> ResponseReturnValue:
    found = books.find(list_selector(request.args.get("tag"))).sort(LIST_SORT)
    documents = list(found.limit(LIST_LIMIT + 1))
    more = len(documents) > LIST_LIMIT
    items = [book_json(document) for document in documents[:LIST_LIMIT]]
    return jsonify({"items": items, "next_cursor": items[-1]["id"] if more else None})
