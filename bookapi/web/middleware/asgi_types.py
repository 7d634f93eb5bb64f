"""The ASGI shapes the middleware passes along (plain dicts and callables, as the spec has)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

# What the app notes about a request on its scope for the request log: the route template
# it matched and the caller its guard let in. The scope is the one dict every layer sees.
ROUTE = "bookapi.route"
CALLER = "bookapi.caller"
# A read the edge tried and that failed, for the route to raise instead of reading again.
EDGE_FAILURE = "bookapi.edge_failure"


def note(scope: object, key: str, value: str) -> None:
    """Note `value` under `key` on a scope that Quart types as its own TypedDict."""
    cast(dict[str, object], scope)[key] = value


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the request header `name` (lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            found: bytes = value
            return found
    return None
