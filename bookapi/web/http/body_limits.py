"""Per-route body size limits: uploads may be large, JSON bodies may not.

Quart fixes a request body's size limit when the request arrives, before routing, and
offers no public way to change it afterwards. So the app's limit is the largest any route
takes (MAX_IMPORT_BYTES), the body enforces a cap of its own that can be lowered, and every
route not marked `@large_body` lowers it to MAX_JSON_BYTES as soon as the route is known.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

from quart import Quart, current_app, request
from quart.routing import QuartRule
from quart.wrappers import Body, Request
from werkzeug.exceptions import RequestEntityTooLarge

from ..middleware.asgi_types import ROUTE, note
from ..services.app_services import settings

F = TypeVar("F", bound=Callable[..., object])
LARGE_BODY_ATTRIBUTE = "_bookapi_large_body"


class CappedBody(Body):
    """A request body with a size cap that can be lowered after routing.

    The base class gets no limit of its own; this one counts every byte received (also
    while the body is streamed) and, once over the cap, drops the data and raises 413
    wherever the body is read.
    """

    def __init__(self, expected_content_length: int | None, max_content_length: int | None):
        super().__init__(expected_content_length, None)
        self.expected_length = expected_content_length
        self.limit = max_content_length
        self.received = 0
        self.too_large = False
        self._check()

    def _check(self) -> None:
        if self.limit is None or self.too_large:
            return
        if (self.expected_length or 0) > self.limit or self.received > self.limit:
            self.too_large = True
            self.clear()
            self.set_complete()

    def lower_limit(self, limit: int) -> None:
        """Refuse the body (413 on reading) if it is, or grows, larger than `limit`."""
        self.limit = limit if self.limit is None else min(self.limit, limit)
        self._check()

    def append(self, data: bytes) -> None:
        if self.too_large:
            return
        self.received += len(data)
        self._check()
        if not self.too_large:
            super().append(data)

    async def __anext__(self) -> bytes:
        if self.too_large:
            raise RequestEntityTooLarge()
        try:
            chunk = await super().__anext__()
        except StopAsyncIteration:
            if self.too_large:  # the cap tripped while we waited for more data
                raise RequestEntityTooLarge() from None
            raise
        if self.too_large:
            raise RequestEntityTooLarge()
        return chunk

    def __await__(self) -> Generator[Any, None, Any]:
        if self.too_large:
            raise RequestEntityTooLarge()
        data = yield from super().__await__()
        if self.too_large:
            raise RequestEntityTooLarge()
        return data


class CappedRequest(Request):
    """Quart's request with the capped body; it also notes the route template it matched
    on the ASGI scope, for the request log around the app (web/middleware)."""

    body_class = CappedBody
    _url_rule: QuartRule | None = None

    @property
    def url_rule(self) -> QuartRule | None:
        return self._url_rule

    @url_rule.setter
    def url_rule(self, rule: QuartRule | None) -> None:
        self._url_rule = rule
        if rule is not None:
            note(self.scope, ROUTE, rule.rule)


def large_body(view: F) -> F:
    """Mark a route that reads its (streamed) body itself and enforces its own limit."""
    setattr(view, LARGE_BODY_ATTRIBUTE, True)
    return view


async def lower_body_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, LARGE_BODY_ATTRIBUTE, False):
        return
    body = request.body
    if isinstance(body, CappedBody):
        body.lower_limit(settings().MAX_JSON_BYTES)


def init_app(app: Quart) -> None:
    app.request_class = CappedRequest
    app.before_request(lower_body_limit)
