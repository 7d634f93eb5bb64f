"""The `/api/v1/books` resource: parse, call the repository, return."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request
from quart_schema import (
    document_response,
    security_scheme,
    validate_querystring,
    validate_request,
)

from ..auth_guard import BEARER, Caller, access_token_required, current_caller
from ..errors import APIError, problem_response
from ..ids import not_found, parse_id
from ..mongo import get_db
from ..repos import books as books_repo
from ..schemas.books import Book, BookIn, BookListQuery, BookPage, BookPatch
from ..schemas.problems import Problem

blueprint = Blueprint("books", __name__, url_prefix="/api/v1/books")


async def load_book(raw_id: str) -> dict[str, Any]:
    book = await books_repo.find_book(get_db(), parse_id(raw_id, "book"))
    if book is None:
        raise not_found("book")
    return book


async def load_book_to_change(raw_id: str, caller: Caller) -> dict[str, Any]:
    book = await load_book(raw_id)
    if book["created_by"] != caller.id and not caller.is_admin:
        raise APIError(403, "Only the book's creator or an admin may change it.", code="forbidden")
    return book


def lost_race(version: int | None) -> APIError:
    """The book changed (412) or vanished (404) between our read and our write."""
    if version is None:
        return not_found("book")
    return APIError(412, "The book has changed since you read it.", code="stale-etag")


def expected_version(book: dict[str, Any]) -> int | None:
    """The version an `If-Match` header pins the change to (None: no condition); 412 if stale."""
    if "If-Match" not in request.headers or request.if_match.star_tag:
        return None
    if request.if_match.contains(books_repo.etag(book).strip('"')):
        version: int = book["version"]
        return version
    raise lost_race(book["version"])


async def apply_change(book: dict[str, Any], changes: dict[str, Any]) -> tuple[Any, ...]:
    version = expected_version(book)
    updated = await books_repo.update_book(get_db(), book["_id"], changes, version)
    if updated is None:
        raise lost_race(version)
    return books_repo.to_api(updated), 200, {"ETag": books_repo.etag(updated)}


@blueprint.errorhandler(books_repo.DuplicateIsbnError)
async def duplicate_isbn(error: books_repo.DuplicateIsbnError) -> Response:
    return problem_response(
        APIError(
            409,
            f"A book with ISBN {error.isbn} already exists: {error.existing_id}.",
            code="duplicate-isbn",
            existing_id=error.existing_id,
        )
    )


@blueprint.get("")
@validate_querystring(BookListQuery)
@document_response(BookPage)
@document_response(Problem, 400)
async def list_books(query_args: BookListQuery) -> dict[str, Any]:
    """List books, filtered and ordered, one keyset page at a time."""
    books, next_cursor = await books_repo.list_books(get_db(), query_args)
    return {"items": [books_repo.to_api(book) for book in books], "next_cursor": next_cursor}


@blueprint.get("/<book_id>")
@document_response(Book)
@document_response(Problem, 404)
async def get_book(book_id: str) -> Any:
    """Get one book; send its ETag in `If-None-Match` to get 304 when unchanged."""
    book = await load_book(book_id)
    current = books_repo.etag(book)
    if request.if_none_match.contains_weak(current.strip('"')) or request.if_none_match.star_tag:
        return Response(status=304, headers={"ETag": current})
    return books_repo.to_api(book), 200, {"ETag": current}


@blueprint.post("")
@access_token_required
@validate_request(BookIn)
@document_response(Book, 201)
@document_response(Problem, 409)
@security_scheme(BEARER)
async def create_book(data: BookIn) -> tuple[Any, ...]:
    """Add a book; its creator is the caller."""
    book = await books_repo.insert_book(get_db(), data.model_dump(), current_caller().id)
    headers = {"Location": f"/api/v1/books/{book['_id']}", "ETag": books_repo.etag(book)}
    return books_repo.to_api(book), 201, headers


@blueprint.put("/<book_id>")
@access_token_required
@validate_request(BookIn)
@document_response(Book)
@document_response(Problem, 403)
@security_scheme(BEARER)
async def replace_book(book_id: str, data: BookIn) -> tuple[Any, ...]:
    """Replace every input field of a book (creator or admin); honours `If-Match`."""
    book = await load_book_to_change(book_id, current_caller())
    return await apply_change(book, data.model_dump())


@blueprint.patch("/<book_id>")
@access_token_required
@validate_request(BookPatch)
@document_response(Book)
@document_response(Problem, 412)
@security_scheme(BEARER)
async def patch_book(book_id: str, data: BookPatch) -> tuple[Any, ...]:
    """Change some fields of a book (creator or admin); a stale `If-Match` gets 412."""
    book = await load_book_to_change(book_id, current_caller())
    return await apply_change(book, data.changes())


@blueprint.delete("/<book_id>")
@access_token_required
@document_response(Problem, 403)
@security_scheme(BEARER)
async def delete_book(book_id: str) -> tuple[str, int]:
    """Delete a book (creator or admin); honours `If-Match`."""
    book = await load_book_to_change(book_id, current_caller())
    version = expected_version(book)
    if not await books_repo.delete_book(get_db(), book["_id"], version):
        raise lost_race(version)
    return "", 204
