"""Completes the generated OpenAPI document where quart-schema cannot: error responses are
`application/problem+json`; bodies that are not JSON models (an upload, a download, no
content) and conditional-request headers are stated; JSON bodies are required where a
route requires one; links tie a created resource to its operations (schemathesis follows
them); every body has an example (examples.py); and the websocket protocol is described
(`x-websockets`)."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Quart, Response, request
from quart.typing import ResponseTypes

from ..http.paths import API_PREFIX, OPENAPI_PATH
from .examples import add_examples

PROBLEM = "application/problem+json"
JOB_EVENTS = {
    f"{API_PREFIX}/jobs/{{job_id}}/events": {
        "summary": "Live progress of one job (owner or admin)",
        "authentication": (
            "`Authorization: Bearer <access token>` on the handshake (refused with 401 for a "
            "bad token, 404 for someone else's or an unknown job); or, for clients that cannot "
            'set headers, `{"type": "auth", "token": "<access token>"}` as the first message '
            "within WS_AUTH_TIMEOUT_SECONDS (else the socket closes with 1008)."
        ),
        "server_messages": [
            '{"type": "snapshot", "job": Job} - always first, even after the job ended',
            '{"type": "progress", "state": "running", "done": int, "total": int|null}'
            " - at most about 10 a second",
            '{"type": "finished", "job": Job} - last; the server then closes with 1000',
        ],
        "close_codes": {
            "1000": "the job ended and `finished` was sent",
            "1001": "the server is shutting down: reconnect for a fresh snapshot",
            "1008": "no valid auth message in time, or the job is not the caller's",
        },
    }
}


BOOK = f"{API_PREFIX}/books/{{book_id}}"
USER = f"{API_PREFIX}/users/{{user_id}}"
JOB = f"{API_PREFIX}/jobs/{{job_id}}"
DOWNLOAD = f"{API_PREFIX}/exports/{{job_id}}/download"
BOOK_FILE_TYPES = ("text/csv", "application/x-ndjson")
# Routes whose JSON body may be left out (the others require theirs).
OPTIONAL_BODIES = {("post", f"{API_PREFIX}/auth/logout")}


def header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


IF_MATCH = header("If-Match", "An ETag of the book: change it only if it is still current (412)")
IF_NONE_MATCH = header("If-None-Match", "The ETag you hold: 304 if the book is unchanged")
NO_CONTENT = {"description": "Done; no content"}


def link(operation: tuple[str, str], **parameters: str) -> dict[str, Any]:
    method, path = operation
    return {"operationRef": f"#/paths/{path.replace('/', '~1')}/{method}", "parameters": parameters}


def file_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {media_type: {"schema": schema} for media_type in BOOK_FILE_TYPES}


# (method, path) -> what to add to the operation.
ADDITIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", BOOK): {
        "parameters": [IF_NONE_MATCH],
        "responses": {"304": {"description": "Not modified since the ETag you hold"}},
    },
    ("put", BOOK): {"parameters": [IF_MATCH]},
    ("patch", BOOK): {"parameters": [IF_MATCH]},
    ("delete", BOOK): {"parameters": [IF_MATCH], "responses": {"204": NO_CONTENT}},
    ("post", f"{API_PREFIX}/auth/logout"): {"responses": {"204": NO_CONTENT}},
    ("post", f"{API_PREFIX}/auth/password"): {"responses": {"204": NO_CONTENT}},
    ("post", f"{API_PREFIX}/auth/password-reset"): {
        "responses": {"202": {"description": "Taken; a mail goes out if the account exists"}}
    },
    ("post", f"{API_PREFIX}/auth/password-reset/confirm"): {"responses": {"204": NO_CONTENT}},
    ("post", f"{API_PREFIX}/imports"): {
        "requestBody": {
            "required": True,
            "description": "A CSV file (header row of Book input fields) or NDJSON",
            # Text: UTF-8 without NUL bytes (anything else is refused at upload, 400 not-text).
            "content": file_content({"type": "string", "minLength": 1, "pattern": "^[^\\x00]+$"}),
        },
    },
    ("get", DOWNLOAD): {
        "responses": {
            "200": {"description": "The exported file", "content": file_content({"type": "string"})}
        }
    },
}
# Links from what a response creates to the operations that take its id.
LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("post", f"{API_PREFIX}/books", "201"): {
        name: link((method, BOOK), book_id="$response.body#/id")
        for name, method in (
            ("GetBook", "get"),
            ("ReplaceBook", "put"),
            ("ChangeBook", "patch"),
            ("DeleteBook", "delete"),
        )
    },
    ("post", f"{API_PREFIX}/imports", "202"): {
        "GetJob": link(("get", JOB), job_id="$response.body#/id")
    },
    ("post", f"{API_PREFIX}/exports", "202"): {
        "GetJob": link(("get", JOB), job_id="$response.body#/id"),
        "Download": link(("get", DOWNLOAD), job_id="$response.body#/id"),
    },
}


HEALTH, AUTH, USERS, BOOKS_TAG, JOBS = "health", "auth", "users", "books", "jobs"
TAGS = [
    {
        "name": AUTH,
        "description": "Accounts and tokens: register, log in, refresh, log out, passwords.",
    },
    {"name": USERS, "description": "Administration of accounts (admins only)."},
    {"name": BOOKS_TAG, "description": "The catalog: read freely; writes need an access token."},
    {"name": JOBS, "description": "Imports and exports in the background, and their state."},
    {"name": HEALTH, "description": "Liveness and readiness probes."},
]
# Each operation's id (the method name of a generated client) and tag.
OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("get", "/healthz"): ("getHealth", HEALTH),
    ("get", "/readyz"): ("getReadiness", HEALTH),
    ("post", f"{API_PREFIX}/auth/register"): ("register", AUTH),
    ("post", f"{API_PREFIX}/auth/login"): ("login", AUTH),
    ("post", f"{API_PREFIX}/auth/refresh"): ("refreshTokens", AUTH),
    ("post", f"{API_PREFIX}/auth/logout"): ("logout", AUTH),
    ("get", f"{API_PREFIX}/auth/me"): ("getMe", AUTH),
    ("post", f"{API_PREFIX}/auth/password"): ("changePassword", AUTH),
    ("post", f"{API_PREFIX}/auth/password-reset"): ("requestPasswordReset", AUTH),
    ("post", f"{API_PREFIX}/auth/password-reset/confirm"): ("confirmPasswordReset", AUTH),
    ("get", f"{API_PREFIX}/users"): ("listUsers", USERS),
    ("get", USER): ("getUser", USERS),
    ("patch", USER): ("changeUser", USERS),
    ("get", f"{API_PREFIX}/books"): ("listBooks", BOOKS_TAG),
    ("post", f"{API_PREFIX}/books"): ("createBook", BOOKS_TAG),
    ("get", BOOK): ("getBook", BOOKS_TAG),
    ("put", BOOK): ("replaceBook", BOOKS_TAG),
    ("patch", BOOK): ("changeBook", BOOKS_TAG),
    ("delete", BOOK): ("deleteBook", BOOKS_TAG),
    ("post", f"{API_PREFIX}/imports"): ("submitImport", JOBS),
    ("post", f"{API_PREFIX}/exports"): ("submitExport", JOBS),
    ("get", f"{API_PREFIX}/jobs"): ("listJobs", JOBS),
    ("get", JOB): ("getJob", JOBS),
    ("get", DOWNLOAD): ("downloadExport", JOBS),
}
AUTH_FLOW = (
    "Log in (`POST /api/v1/auth/login`) for an access token (15 minutes) and a refresh token "
    "(14 days); send the access token as `Authorization: Bearer <token>` on every write and "
    "on the job routes; trade the refresh token at `POST /api/v1/auth/refresh` for a new pair "
    "(each refresh token works once); `POST /api/v1/auth/logout` revokes them. A password "
    "change or reset, a demotion or a disablement ends every earlier token of the account. "
    "Every error is an RFC 9457 problem (`application/problem+json`)."
)
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def name_and_tag(document: dict[str, Any]) -> None:
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if (method, path) in OPERATIONS:
                operation["operationId"], tag = OPERATIONS[(method, path)]
                operation["tags"] = [tag]
    document["tags"] = TAGS
    document["servers"] = [{"url": "/", "description": "this server"}]
    document.setdefault("info", {})["description"] = f"Async book catalog API. {AUTH_FLOW}"


def one_problem_schema(response: dict[str, Any], document: dict[str, Any]) -> None:
    """Every error response refers to one Problem component instead of its own copy."""
    media = response.get("content", {}).get(PROBLEM)
    if media is None or "schema" not in media:
        return
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", media["schema"])
    media["schema"] = PROBLEM_REF


def add(operation: dict[str, Any], additions: dict[str, Any]) -> None:
    operation.setdefault("parameters", []).extend(additions.get("parameters", []))
    operation.setdefault("responses", {}).update(additions.get("responses", {}))
    if "requestBody" in additions:
        operation["requestBody"] = additions["requestBody"]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """`document` completed as the module docstring says."""
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            add(operation, ADDITIONS.get((method, path), {}))
            body = operation.get("requestBody")
            if body is not None and (method, path) not in OPTIONAL_BODIES:
                body["required"] = True
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    response["content"] = {PROBLEM: content["application/json"]}
                    one_problem_schema(response, document)
                if (method, path, status) in LINKS:
                    response["links"] = LINKS[(method, path, status)]
            add_examples(method, path, operation)
    document["x-websockets"] = JOB_EVENTS
    name_and_tag(document)
    return document


async def complete_openapi_response(response: ResponseTypes) -> ResponseTypes:
    if request.path == OPENAPI_PATH and isinstance(response, Response):
        if response.status_code == 200:
            document = complete(orjson.loads(await response.get_data()))
            response.set_data(orjson.dumps(document))
    return response


def init_app(app: Quart) -> None:
    app.after_request(complete_openapi_response)
