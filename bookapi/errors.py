"""One error type and the one place that renders every error as RFC 9457 problem details."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, OperationFailure
from quart import Quart, Response, current_app, json
from quart_schema import RequestSchemaValidationError
from quart_schema.validation import QuerystringValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

# A dependency that cannot be reached: the request may succeed later, so 503.
MONGO_UNAVAILABLE = (ConnectionFailure,)
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


class APIError(Exception):
    """An error with an HTTP status that the client should see as problem details."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.code = code
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.extensions = extensions


def problem_body(error: APIError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:bookapi:problem:{error.code}" if error.code else "about:blank",
        "title": error.title,
        "status": error.status,
    }
    if error.detail:
        body["detail"] = error.detail
    body.update(error.extensions)
    return body


def problem_response(error: APIError) -> Response:
    response = Response(
        json.dumps(problem_body(error)), status=error.status, content_type=PROBLEM_CONTENT_TYPE
    )
    if error.status == 503 and "Retry-After" not in error.headers:
        response.headers["Retry-After"] = str(current_app.config["RETRY_AFTER_SECONDS"])
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


def service_unavailable(dependency: str) -> APIError:
    return APIError(
        503, f"{dependency} is unavailable, try again shortly", code="dependency-unavailable"
    )


async def _handle_api_error(error: APIError) -> Response:
    return problem_response(error)


async def _handle_schema_error(error: RequestSchemaValidationError) -> Response:
    location = "query" if isinstance(error, QuerystringValidationError) else "body"
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
    log.warning("MongoDB unavailable: %s", error)
    return problem_response(service_unavailable("MongoDB"))


async def _handle_redis_unavailable(error: Exception) -> Response:
    log.warning("Redis unavailable: %s", error)
    return problem_response(service_unavailable("Redis"))


async def _handle_unexpected(error: Exception) -> Response:
    # The traceback goes to the log, never to the client.
    log.exception("Unhandled error", exc_info=error)
    return problem_response(APIError(500, "An unexpected error occurred."))


async def _handle_mongo_operation_failure(error: OperationFailure) -> Response:
    # A query the database refused (e.g. one it does not support) is our bug, not the client's.
    log.error("MongoDB refused an operation: %s", error.details)
    return problem_response(APIError(500, "An unexpected error occurred."))


def init_app(app: Quart) -> None:
    app.register_error_handler(APIError, _handle_api_error)
    app.register_error_handler(RequestSchemaValidationError, _handle_schema_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    for mongo_error in MONGO_UNAVAILABLE:
        app.register_error_handler(mongo_error, _handle_mongo_unavailable)
    for redis_error in REDIS_UNAVAILABLE:
        app.register_error_handler(redis_error, _handle_redis_unavailable)
    app.register_error_handler(OperationFailure, _handle_mongo_operation_failure)
    app.register_error_handler(Exception, _handle_unexpected)
