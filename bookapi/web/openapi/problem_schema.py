"""The RFC 9457 problem-details body, for the OpenAPI document, and a decorator that
documents a route's error statuses with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from quart import Quart
from quart_schema import document_response

F = TypeVar("F", bound=Callable[..., object])


class FieldError(BaseModel):
    loc: list[str]
    msg: str


class Problem(BaseModel):
    """An error: `type`, `title`, `status`, `detail`, and `errors` for invalid input."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


def document_errors(*statuses: int) -> Callable[[F], F]:
    """Document that the route may answer each of `statuses` with a problem."""

    def decorator(view: F) -> F:
        for status in statuses:
            view = document_response(Problem, status)(view)
        return view

    return decorator


def document_dependency_outages(app: Quart, path_prefix: str) -> None:
    """Every route under `path_prefix` may answer 503 while MongoDB, Redis or the broker
    is down: say so once for all of them."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(path_prefix) and rule.endpoint in app.view_functions:
            document_response(Problem, 503)(app.view_functions[rule.endpoint])
