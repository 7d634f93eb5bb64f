"""Per-route body size limits: uploads may be large, JSON bodies may not.

Quart fixes a request body's size limit when the request arrives, before routing, so
the app's limit is the largest any route takes (MAX_IMPORT_BYTES) and every route not
marked `@large_body` lowers it to MAX_JSON_BYTES as soon as the route is known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from quart import Quart, current_app, request
from quart.wrappers import Request
from quart.wrappers.request import Body
from werkzeug.exceptions import RequestEntityTooLarge

F = TypeVar("F", bound=Callable[..., object])
LARGE_BODY_ATTRIBUTE = "_bookapi_large_body"


class LimitableBody(Body):
    def __init__(self, expected_content_length: int | None, max_content_length: int | None):
        super().__init__(expected_content_length, max_content_length)
        self._expected_content_length = expected_content_length

    def lower_limit(self, limit: int) -> None:
        """Refuse the body (413 on reading) if it is, or grows, larger than `limit`."""
        self._max_content_length = limit
        expected = self._expected_content_length
        if (expected is not None and expected > limit) or len(self._data) > limit:
            self._must_raise = RequestEntityTooLarge()
            self.set_complete()


class LimitableRequest(Request):
    body_class = LimitableBody


def large_body(view: F) -> F:
    """Mark a route that reads its (streamed) body itself and enforces its own limit."""
    setattr(view, LARGE_BODY_ATTRIBUTE, True)
    return view


async def lower_body_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, LARGE_BODY_ATTRIBUTE, False):
        return
    body = request.body
    if isinstance(body, LimitableBody):
        body.lower_limit(current_app.config["MAX_JSON_BYTES"])


def init_app(app: Quart) -> None:
    app.request_class = LimitableRequest
    # First, before any hook that might read the body.
    app.before_request_funcs.setdefault(None, []).insert(0, lower_body_limit)
