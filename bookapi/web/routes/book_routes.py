"""The `/api/v1/books` resource: parse, call the repository, return.

Single books are read through the process's book cache; every write announces the change,
so this process forgets the book at once and the others within moments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from quart import Blueprint, Response, request
from quart_schema import document_response

from ...domain.books import book_repository as books_repo
from ...domain.books.book_schemas import (
    Book,
    BookFields,
    BookIn,
    BookListQuery,
    BookPage,
    BookPatch,
)
from ...domain.books.documents import StoredBook, check_may_change, etag
from ...domain.errors import StaleVersionError
from ..http.encoding import negotiate
from ..http.ids import parse_id
from ..http.json_body import json_body
from ..http.paths import API_PREFIX
from ..http.query_args import validated_query
from ..middleware.asgi_types import EDGE_FAILURE
from ..openapi.problem_schema import document_errors
from ..security.guard import access_token_required, current_caller
from ..services.app_services import announce_book_change, app_services, get_db
from ..services.book_cache import RenderedBook, read_rendered_book, render

BOOKS = f"{API_PREFIX}/books"
blueprint = Blueprint("books", __name__, url_prefix=BOOKS)
ChangeHandler = TypeVar("ChangeHandler", bound=Callable[..., Awaitable[Response]])
JSON = "application/json"


async def load_book_to_change(raw_id: str) -> StoredBook:
    caller = current_caller()
    book = await books_repo.find_book(get_db(), parse_id(raw_id, "book"))
    check_may_change(book, caller.id, caller.is_admin)
    return book


def expected_version(book: StoredBook) -> int | None:
    """The version an `If-Match` header pins the change to (None: no condition)."""
    if "If-Match" not in request.headers or request.if_match.star_tag:
        return None
    if request.if_match.contains(etag(book).strip('"')):
        return book["version"]
    raise StaleVersionError()


def rendered_response(rendered: RenderedBook, status: int = 200, **headers: str) -> Response:
    """A rendered body as the edge sends it too: gzip when the client takes it and it pays."""
    body, gzipped, varies = negotiate(rendered, request.headers.get("Accept-Encoding", "").encode())
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    if varies:
        headers["Vary"] = "Accept-Encoding"
    return Response(body, status=status, headers=headers, content_type=JSON)


def book_response(book: StoredBook, status: int = 200, **headers: str) -> Response:
    """The book as every route shows it: rendered once, as the cache keeps it."""
    rendered = render(book)
    return rendered_response(rendered, status, ETag=rendered.etag, **headers)


async def change_book(raw_id: str, changes: BookFields) -> Response:
    book = await load_book_to_change(raw_id)
    updated = await books_repo.update_book(get_db(), book["_id"], changes, expected_version(book))
    await announce_book_change(raw_id)
    return book_response(updated)


@blueprint.get("")
@validated_query(BookListQuery)
@document_response(BookPage)
async def list_books(query_args: BookListQuery) -> Response:
    """List books, filtered and ordered, one keyset page at a time."""

    async def load() -> RenderedBook:
        books, next_cursor = await books_repo.list_books(get_db(), query_args)
        page = BookPage.model_validate({"items": books, "next_cursor": next_cursor})
        return RenderedBook(page.model_dump_json().encode(), "")

    cache = app_services().book_cache
    page = await cache.page(query_args.model_dump_json(), load, request.query_string)
    return rendered_response(page)


@blueprint.get("/<book_id>")
@document_response(Book)
@document_errors(404)
async def get_book(book_id: str) -> Response:
    """Get one book; send its ETag in `If-None-Match` to get 304 when unchanged."""

    failed_at_the_edge = request.scope.get(EDGE_FAILURE)
    if isinstance(failed_at_the_edge, Exception):
        raise failed_at_the_edge  # the edge read it already: its error, rendered here

    object_id = parse_id(book_id, "book")
    rendered = await app_services().book_cache.book(
        book_id, lambda: read_rendered_book(app_services().book_batches, object_id)
    )
    tag = rendered.etag
    if request.if_none_match.star_tag or request.if_none_match.contains_weak(tag.strip('"')):
        return Response(status=304, headers={"ETag": tag})
    return rendered_response(rendered, ETag=tag)


@blueprint.post("")
@access_token_required
@json_body(BookIn)
@document_response(Book, 201)
@document_errors(409)
async def create_book(data: BookIn) -> Response:
    """Add a book; its creator is the caller."""
    book = await books_repo.insert_book(get_db(), data.fields(), current_caller().id)
    await announce_book_change(str(book["_id"]))  # list pages now miss it
    return book_response(book, 201, Location=f"{BOOKS}/{book['_id']}")


def book_change(
    method: str, body: type[BookIn | BookPatch]
) -> Callable[[ChangeHandler], ChangeHandler]:
    """Route `method` on one book: a JSON body of `body` from its creator or an admin,
    answered with the changed book; refused when not allowed (403), gone (404), a
    duplicate ISBN (409) or a stale `If-Match` (412)."""

    def register(handler: ChangeHandler) -> ChangeHandler:
        documented = document_response(Book)(document_errors(403, 404, 409, 412)(handler))
        blueprint.route("/<book_id>", methods=[method])(
            access_token_required(json_body(body)(documented))
        )
        return handler

    return register


@book_change("PUT", BookIn)
async def replace_book(book_id: str, data: BookIn) -> Response:
    """Replace every input field of a book (creator or admin); honours `If-Match`."""
    return await change_book(book_id, data.fields())


@book_change("PATCH", BookPatch)
async def patch_book(book_id: str, data: BookPatch) -> Response:
    """Change some fields of a book (creator or admin); a stale `If-Match` gets 412."""
    return await change_book(book_id, data.changes())


@blueprint.delete("/<book_id>")
@access_token_required
@document_errors(403, 404, 412)
async def delete_book(book_id: str) -> tuple[str, int]:
    """Delete a book (creator or admin); honours `If-Match`."""
    book = await load_book_to_change(book_id)
    await books_repo.delete_book(get_db(), book["_id"], expected_version(book))
    await announce_book_change(book_id)
    return "", 204
