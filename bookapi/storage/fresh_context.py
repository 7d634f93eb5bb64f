"""Connections that belong to no request: the drivers' pools open them in a context of their own.

asyncio gives every transport a copy of the context variables current where it was opened,
and runs its callbacks in that copy for as long as it stays open. A pooled connection opened
by the request that first needed one would keep that request's context alive until the pool
drops it: Quart's request or websocket with its headers and bearer token, the request id
the logs read, and through a websocket's send callable the server's own stream and buffers.
Its callbacks would run as that long-gone request, too.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

Opened = TypeVar("Opened")


async def in_fresh_context(
    opening: Coroutine[Any, Any, Opened],
    carried: Iterable[contextvars.ContextVar[Any]] = (),
) -> Opened:
    """Await `opening` in a task of its own whose context holds only the `carried` variables
    (what the driver itself reads while connecting, such as an operation's deadline).
    Cancelling the caller cancels the opening too."""
    current = contextvars.copy_context()
    fresh = contextvars.Context()
    for variable in carried:
        if variable in current:
            fresh.run(variable.set, current[variable])
    return await asyncio.create_task(opening, context=fresh)
