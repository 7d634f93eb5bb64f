"""Per-route body size limits: uploads may be large, JSON bodies may not.

Quart fixes a request body's size limit when the request arrives, before routing, and
offers no public way to change it afterwards. So the app's limit is the largest any route
takes (MAX_IMPORT_BYTES), the body enforces a cap of its own that can be lowered, and every
route not marked `@large_body` lowers it to MAX_JSON_BYTES as soon as the route is known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from quart import Quart, current_app, request
from quart.routing import QuartRule
from quart.wrappers import Body, Request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, RequestTimeout

from settings import Config

from ..middleware.asgi_types import ROUTE, note
from ..services.app_services import settings

F = TypeVar("F", bound=Callable[..., object])
LARGE_BODY_ATTRIBUTE = "_bookapi_large_body"


class CappedBody(Body):
    """A request body with a size cap that can be lowered after routing, and an idle limit.

    The base class gets no limit of its own; this one counts every byte received (also
    while the body is streamed) and, once over the cap, drops the data and raises 413
    wherever the body is read. A body that stops arriving for `idle_seconds` (a client
    that sends a byte now and then, or none) is refused the same way with 408, so it holds
    neither the request nor its memory.
    """

    idle_seconds = 10.0  # each app sets its BODY_IDLE_TIMEOUT_SECONDS (init_app)

    def __init__(self, expected_content_length: int | None, max_content_length: int | None):
        super().__init__(expected_content_length, None)
        self.expected_length = expected_content_length
        self.limit = max_content_length
        self.received = 0
        self.refusal: HTTPException | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._check()
        self._arm_idle_timer()

    @property
    def too_large(self) -> bool:
        return isinstance(self.refusal, RequestEntityTooLarge)

    def _refuse(self, refusal: HTTPException) -> None:
        if self.refusal is None:
            self.refusal = refusal
            self.clear()
            self.set_complete()

    def _check(self) -> None:
        if self.limit is None or self.refusal is not None:
            return
        if (self.expected_length or 0) > self.limit or self.received > self.limit:
            self._refuse(RequestEntityTooLarge())

    def _arm_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # made outside a request (a test's fixture): no limit
            return
        self._idle_timer = loop.call_later(self.idle_seconds, self._refuse, RequestTimeout())

    def lower_limit(self, limit: int) -> None:
        """Refuse the body (413 on reading) if it is, or grows, larger than `limit`."""
        self.limit = limit if self.limit is None else min(self.limit, limit)
        self._check()

    def append(self, data: bytes) -> None:
        if self.refusal is not None:
            return
        self.received += len(data)
        self._check()
        if self.refusal is None:
            super().append(data)
            self._arm_idle_timer()

    def set_complete(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        super().set_complete()

    def _raise_refusal(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    async def __anext__(self) -> bytes:
        self._raise_refusal()
        try:
            chunk = await super().__anext__()
        except StopAsyncIteration:
            self._raise_refusal()  # the cap or the idle limit tripped while we waited
            raise
        self._raise_refusal()
        return chunk

    def __await__(self) -> Generator[Any, None, Any]:
        self._raise_refusal()
        data = yield from super().__await__()
        self._raise_refusal()
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


def init_app(app: Quart, settings: Config) -> None:
    # This app's idle limit on the classes Quart makes its requests and bodies from.
    idle_seconds = settings.BODY_IDLE_TIMEOUT_SECONDS

    class AppBody(CappedBody):
        pass

    class AppRequest(CappedRequest):
        body_class = AppBody

    AppBody.idle_seconds = idle_seconds
    app.request_class = AppRequest
    app.before_request(lower_body_limit)
