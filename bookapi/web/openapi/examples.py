"""A real example for every request body and response of the API, as the OpenAPI document
shows them (Swagger UI's "Try it out" starts from these): each validates against its own
schema and the live app accepts each request (tests/inprocess/test_openapi_examples.py)."""

from __future__ import annotations

from typing import Any

from ..http.paths import API_PREFIX

BOOK_ID = "665f1c2ab3e4a1d2c3b4a5f6"
USER_ID = "665f1c2ab3e4a1d2c3b4a5f0"
JOB_ID = "665f1c2ab3e4a1d2c3b4a5f9"
WHEN = "2026-11-25T12:00:00Z"
BOOK_IN = {
    "isbn": "978-0-441-01359-3",
    "title": "Dune",
    "authors": ["Frank Herbert"],
    "published_year": 1965,
    "publisher": "Chilton Books",
    "language": "en",
    "pages": 412,
    "tags": ["science-fiction"],
    "description": "A desert planet, a noble family, and the spice that everyone wants.",
}
BOOK = {
    **BOOK_IN,
    "id": BOOK_ID,
    "isbn": "9780441013593",
    "created_by": USER_ID,
    "created_at": WHEN,
    "updated_at": WHEN,
}
USER = {
    "id": USER_ID,
    "email": "ada@example.com",
    "display_name": "Ada",
    "role": "user",
    "disabled": False,
    "created_at": WHEN,
}
TOKENS = {
    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6IjFhMmIzYzRkIiwidHlwIjoiSldUIn0.e30.c2lnbmF0dXJl",
    "refresh_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6IjFhMmIzYzRkIiwidHlwIjoiSldUIn0.e30.cmVmcmVzaA",
    "token_type": "Bearer",
    "expires_in": 900,
}
JOB = {
    "id": JOB_ID,
    "kind": "import",
    "state": "succeeded",
    "progress": {"done": 1, "total": 1},
    "result": {"inserted": 1, "updated": 0, "skipped": 0, "failed": 0, "errors": []},
    "error": None,
    "created_by": USER_ID,
    "created_at": WHEN,
    "updated_at": WHEN,
}
QUEUED = {**JOB, "state": "queued", "progress": {"done": 0, "total": None}, "result": None}
CSV_FILE = "isbn,title,authors\n978-0-441-01359-3,Dune,Frank Herbert\n"
NDJSON_FILE = '{"isbn": "978-0-441-01359-3", "title": "Dune", "authors": ["Frank Herbert"]}\n'
# The import's body per content type (the others have one example for their one type).
UPLOADS = {"text/csv": CSV_FILE, "application/x-ndjson": NDJSON_FILE}
PROBLEMS: dict[str, dict[str, Any]] = {
    "400": {
        "type": "urn:bookapi:problem:validation-error",
        "title": "Bad Request",
        "status": 400,
        "detail": "The request body is invalid.",
        "errors": [{"loc": ["body", "isbn"], "msg": "Value error, the ISBN check digit is wrong"}],
    },
    "401": {
        "type": "urn:bookapi:problem:unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Send an access token: Authorization: Bearer <token>.",
    },
    "403": {
        "type": "urn:bookapi:problem:forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "Only the book's creator or an admin may change it.",
    },
    "404": {
        "type": "urn:bookapi:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "No book has this id.",
    },
    "409": {
        "type": "urn:bookapi:problem:duplicate-isbn",
        "title": "Conflict",
        "status": 409,
        "detail": f"A book with ISBN 9780441013593 already exists: {BOOK_ID}.",
    },
    "410": {
        "type": "urn:bookapi:problem:gone",
        "title": "Gone",
        "status": 410,
        "detail": "The exported file is gone; export again.",
    },
    "412": {
        "type": "urn:bookapi:problem:stale-etag",
        "title": "Precondition Failed",
        "status": 412,
        "detail": "The book has changed since you read it.",
    },
    "413": {
        "type": "urn:bookapi:problem:too-large",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "The file is larger than 104857600 bytes.",
    },
    "415": {
        "type": "urn:bookapi:problem:unsupported-media-type",
        "title": "Unsupported Media Type",
        "status": 415,
        "detail": "Send the body as JSON with Content-Type: application/json.",
    },
    "429": {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "The user has sent too many requests in a given amount of time.",
    },
    "503": {
        "type": "urn:bookapi:problem:dependency-unavailable",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "MongoDB is unavailable, try again shortly",
    },
}
BOOK_PATH = f"{API_PREFIX}/books/{{book_id}}"
JOB_PATH = f"{API_PREFIX}/jobs/{{job_id}}"
USER_PATH = f"{API_PREFIX}/users/{{user_id}}"
# (method, path) -> the request body's example, and each success status's.
REQUESTS: dict[tuple[str, str], Any] = {
    ("post", f"{API_PREFIX}/auth/register"): {
        "email": "ada@example.com",
        "password": "correct horse battery",
        "display_name": "Ada",
    },
    ("post", f"{API_PREFIX}/auth/login"): {
        "email": "ada@example.com",
        "password": "correct horse battery",
    },
    ("post", f"{API_PREFIX}/auth/logout"): {},
    ("post", f"{API_PREFIX}/auth/password"): {
        "current_password": "correct horse battery",
        "new_password": "correct horse battery staple",
    },
    ("post", f"{API_PREFIX}/auth/password-reset"): {"email": "ada@example.com"},
    ("post", f"{API_PREFIX}/auth/password-reset/confirm"): {
        "token": "Qm9va2FwaSByZXNldCB0b2tlbiBleGFtcGxlIDEyMw",
        "new_password": "correct horse battery staple",
    },
    ("patch", USER_PATH): {"role": "admin"},
    ("post", f"{API_PREFIX}/books"): BOOK_IN,
    ("put", BOOK_PATH): {**BOOK_IN, "pages": 896},
    ("patch", BOOK_PATH): {"title": "Dune (deluxe edition)"},
    ("post", f"{API_PREFIX}/exports"): {"format": "csv", "tag": "science-fiction"},
    ("post", f"{API_PREFIX}/imports"): CSV_FILE,
}
RESPONSES: dict[tuple[str, str, str], Any] = {
    ("get", "/healthz", "200"): {"status": "ok"},
    ("get", "/readyz", "200"): {
        "status": "ok",
        "checks": {"mongodb": "ok", "redis": "ok", "indexes": "ok"},
        "redis": {"primary": "10.0.0.5:6379", "sentinels": True, "last_failover": None},
    },
    ("post", f"{API_PREFIX}/auth/register", "201"): USER,
    ("post", f"{API_PREFIX}/auth/login", "200"): TOKENS,
    ("post", f"{API_PREFIX}/auth/refresh", "200"): TOKENS,
    ("get", f"{API_PREFIX}/auth/me", "200"): USER,
    ("get", f"{API_PREFIX}/users", "200"): {"items": [USER], "next_cursor": None},
    ("get", USER_PATH, "200"): USER,
    ("patch", USER_PATH, "200"): {**USER, "role": "admin"},
    ("get", f"{API_PREFIX}/books", "200"): {"items": [BOOK], "next_cursor": None},
    ("post", f"{API_PREFIX}/books", "201"): BOOK,
    ("get", BOOK_PATH, "200"): BOOK,
    ("put", BOOK_PATH, "200"): {**BOOK, "pages": 896},
    ("patch", BOOK_PATH, "200"): {**BOOK, "title": "Dune (deluxe edition)"},
    ("post", f"{API_PREFIX}/imports", "202"): QUEUED,
    ("post", f"{API_PREFIX}/exports", "202"): {**QUEUED, "kind": "export"},
    ("get", f"{API_PREFIX}/jobs", "200"): {"items": [JOB], "next_cursor": None},
    ("get", JOB_PATH, "200"): JOB,
}


def add_examples(method: str, path: str, operation: dict[str, Any]) -> None:
    """Put the examples of one operation into its request body and responses."""
    body = operation.get("requestBody")
    if body is not None and (method, path) in REQUESTS:
        for media_type, media in body.get("content", {}).items():
            media["example"] = UPLOADS.get(media_type, REQUESTS[(method, path)])
    for status, response in operation.get("responses", {}).items():
        example = RESPONSES.get((method, path, status), PROBLEMS.get(status))
        for media in response.get("content", {}).values():
            if example is not None and "example" not in media:
                media["example"] = example
