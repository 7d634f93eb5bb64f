"""Routes that take a JSON body refuse other content types with 415 before parsing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from quart import Quart, current_app, request
from quart_schema import RequestSchemaValidationError, document_request

from ..openapi.problem_schema import document_errors
from .problems import APIError, unsupported_media_type

ModelT = TypeVar("ModelT", bound=BaseModel)
R = TypeVar("R")
JSON_EXPECTED = "the body as JSON with Content-Type: application/json"
# Marks a route that takes a JSON body, so a body of another type is refused with 415.
TAKES_JSON_ATTRIBUTE = "_bookapi_takes_json"


def json_body(
    model: type[BaseModel],
) -> Callable[[Callable[..., Awaitable[R]]], Callable[..., Awaitable[R]]]:
    """The route takes a JSON body validated as `model` (passed as `data=`); documents the
    refusals that come with one: invalid (400), too large (413), not JSON (415).

    Validated by the model itself: quart-schema's `validate_request` would build a pydantic
    TypeAdapter on every request.
    """

    def decorator(view: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> R:
            try:
                data = model.model_validate(await parsed_body())
            except ValidationError as error:
                raise RequestSchemaValidationError(error) from error
            return await view(*args, data=data, **kwargs)

        return takes_json(model)(wrapper)

    return decorator


def takes_json(
    model: type[BaseModel],
) -> Callable[[Callable[..., Awaitable[R]]], Callable[..., Awaitable[R]]]:
    """Mark (and document) a route that reads a JSON body of `model` itself: a body of
    another content type gets 415 before the route runs."""

    def decorator(view: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        setattr(view, TAKES_JSON_ATTRIBUTE, True)
        documented: Callable[..., Awaitable[R]] = document_request(model)(
            document_errors(400, 413, 415)(view)
        )
        return documented

    return decorator


async def parsed_body() -> Any:
    """The body parsed as JSON; 400 for anything that is not: bytes that are not UTF-8,
    truncated or malformed text, nesting beyond orjson's limit of 1024, NaN or Infinity,
    integers beyond 64 bits."""
    try:
        return orjson.loads(await request.get_data(as_text=False))
    except orjson.JSONDecodeError as error:
        raise APIError(400, f"The body is not valid JSON: {error}.", code="invalid-json") from error


async def require_json_content_type() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return  # no body to check (the most common requests: cheapest first)
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not getattr(view, TAKES_JSON_ATTRIBUTE, False):
        return
    # The body is read (and cached) here: it is capped at MAX_JSON_BYTES anyway.
    if request.mimetype != "application/json" and await request.get_data():
        raise unsupported_media_type(JSON_EXPECTED)


async def optional_json_body(model: type[ModelT]) -> ModelT:
    """The body validated as `model`, or `model`'s defaults when there is no body."""
    if not await request.get_data():
        return model()
    if request.mimetype != "application/json":
        raise unsupported_media_type(JSON_EXPECTED)
    try:
        return model.model_validate(await parsed_body())
    except ValidationError as error:
        raise RequestSchemaValidationError(error) from error


def init_app(app: Quart) -> None:
    app.before_request(require_json_content_type)
