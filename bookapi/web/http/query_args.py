"""Query strings validated with the route's pydantic model.

quart-schema's own decorators build a pydantic TypeAdapter on every request; these call
the model directly (its validator is built once, with the class), which matters on the
hot read routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from quart import request
from quart_schema import document_querystring

from ..openapi.problem_schema import document_errors
from .problems import QueryValidationError

R = TypeVar("R")


def validated_query(
    model: type[BaseModel],
) -> Callable[[Callable[..., Awaitable[R]]], Callable[..., Awaitable[R]]]:
    """The route gets its query string validated as `model`, as `query_args=`; else 400."""

    def decorator(view: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> R:
            values = {
                name: given[0] if len(given) == 1 else given for name, given in request.args.lists()
            }
            try:
                parsed = model.model_validate(values)
            except ValidationError as error:
                raise QueryValidationError(error) from error
            return await view(*args, query_args=parsed, **kwargs)

        documented: Callable[..., Awaitable[R]] = document_querystring(model)(
            document_errors(400)(wrapper)
        )
        return documented

    return decorator
