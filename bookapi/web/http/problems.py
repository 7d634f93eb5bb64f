"""The one place that turns every error into an RFC 9457 problem-details response.

Domain errors (`bookapi.domain.errors`) are mapped to a status in one table; HTTP-only refusals
(401, 413, 415, 503...) are `APIError`s; Quart's own errors and dependency outages are
rendered the same way; anything else is a bug: logged, and shown only as a bare 500.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from pymongo.errors import OperationFailure
from quart import Quart, Response, json
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from ...domain.errors import (
    DomainError,
    DuplicateEmailError,
    DuplicateIsbnError,
    ForbiddenError,
    GoneError,
    InvalidCursorError,
    NotFoundError,
    NotReadyError,
    StaleVersionError,
)
from ...observability.metrics import DEPENDENCY_UNAVAILABLE
from ...storage.mongo import MONGO_TOO_SLOW, MONGO_UNAVAILABLE
from ...storage.redis_store import REDIS_UNAVAILABLE
from ...storage.server_quirks import is_backend_timeout
from ..services.app_services import settings

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

# Each domain error's status and problem `type` code.
DOMAIN_PROBLEMS: dict[type[DomainError], tuple[int, str]] = {
    NotFoundError: (404, "not-found"),
    ForbiddenError: (403, "forbidden"),
    DuplicateIsbnError: (409, "duplicate-isbn"),
    DuplicateEmailError: (409, "duplicate-email"),
    InvalidCursorError: (400, "invalid-cursor"),
    StaleVersionError: (412, "stale-etag"),
    NotReadyError: (409, "not-ready"),
    GoneError: (410, "gone"),
}


class QueryValidationError(RequestSchemaValidationError):
    """The query string failed its model (quart-schema's error, told apart from a body's)."""


class APIError(Exception):
    """A refusal of the HTTP layer that the client should see as problem details."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers or {}
        self.extensions = extensions


def unsupported_media_type(what_to_send: str) -> APIError:
    return APIError(415, f"Send {what_to_send}.", code="unsupported-media-type")


def service_unavailable(dependency: str) -> APIError:
    return APIError(
        503, f"{dependency} is unavailable, try again shortly", code="dependency-unavailable"
    )


def problem_response(error: APIError) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:bookapi:problem:{error.code}" if error.code else "about:blank",
        "title": HTTPStatus(error.status).phrase,
        "status": error.status,
    }
    if error.detail:
        body["detail"] = error.detail
    body.update(error.extensions)
    response = Response(json.dumps(body), status=error.status, content_type=PROBLEM_CONTENT_TYPE)
    if error.status == 503 and "Retry-After" not in error.headers:
        response.headers["Retry-After"] = str(settings().RETRY_AFTER_SECONDS)
    response.headers.update(error.headers)
    return response


def validation_errors(error: Exception, location: str) -> list[dict[str, Any]]:
    """Turn a pydantic error into the contract's `errors` list (no input echoed back)."""
    if not isinstance(error, ValidationError):
        return [{"loc": [location], "msg": str(error)}]
    return [
        {"loc": [location, *[str(part) for part in item["loc"]]], "msg": item["msg"]}
        for item in error.errors(include_url=False, include_input=False)
    ]


async def _handle_api_error(error: APIError) -> Response:
    return problem_response(error)


async def _handle_domain_error(error: DomainError) -> Response:
    status, code = DOMAIN_PROBLEMS[type(error)]
    return problem_response(APIError(status, error.detail, code=code, **error.extensions))


async def _handle_schema_error(error: RequestSchemaValidationError) -> Response:
    location = "query" if isinstance(error, QueryValidationError) else "body"
    return problem_response(
        APIError(
            400,
            f"The request {location} is invalid.",
            code="validation-error",
            errors=validation_errors(error.validation_error, location),
        )
    )


async def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {
        name: value
        for name, value in error.get_headers()
        if name.lower() not in ("content-type", "content-length")
    }
    return problem_response(APIError(status, error.description, headers=headers))


async def _handle_mongo_unavailable(error: Exception) -> Response:
    DEPENDENCY_UNAVAILABLE.labels("mongodb").inc()
    if isinstance(error, MONGO_TOO_SLOW) or (
        isinstance(error, OperationFailure) and is_backend_timeout(error)
    ):
        # Reached, but no answer in time: a hung server or a query too slow (another fix).
        log.warning("MongoDB did not answer in time: %s", error)
        bound = settings().MONGO_OPERATION_TIMEOUT_MS
        detail = f"MongoDB did not answer within {bound} ms, try again shortly"
        return problem_response(APIError(503, detail, code="dependency-timeout"))
    log.warning("MongoDB unavailable: %s", error)
    return problem_response(service_unavailable("MongoDB"))


async def _handle_redis_unavailable(error: Exception) -> Response:
    log.warning("Redis unavailable: %s", error)
    DEPENDENCY_UNAVAILABLE.labels("redis").inc()
    return problem_response(service_unavailable("Redis"))


async def _handle_unexpected(error: Exception) -> Response:
    # The traceback goes to the log, never to the client.
    log.exception("Unhandled error", exc_info=error)
    return problem_response(APIError(500, "An unexpected error occurred."))


async def _handle_mongo_operation_failure(error: OperationFailure) -> Response:
    if is_backend_timeout(error):
        return await _handle_mongo_unavailable(error)  # an answer too late: a 503
    # A query the database refused (e.g. one it does not support) is our bug, not the client's.
    log.error("MongoDB refused an operation: %s", error.details)
    return problem_response(APIError(500, "An unexpected error occurred."))


def init_app(app: Quart) -> None:
    app.register_error_handler(APIError, _handle_api_error)
    for domain_error in DOMAIN_PROBLEMS:
        app.register_error_handler(domain_error, _handle_domain_error)
    app.register_error_handler(RequestSchemaValidationError, _handle_schema_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    for mongo_error in (*MONGO_UNAVAILABLE, *MONGO_TOO_SLOW):
        app.register_error_handler(mongo_error, _handle_mongo_unavailable)
    for redis_error in REDIS_UNAVAILABLE:
        app.register_error_handler(redis_error, _handle_redis_unavailable)
    app.register_error_handler(OperationFailure, _handle_mongo_operation_failure)
    app.register_error_handler(Exception, _handle_unexpected)
