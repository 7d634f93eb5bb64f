"""Headers every response carries."""

from __future__ import annotations

from quart import Quart
from quart.typing import ResponseTypes


async def add_security_headers(response: ResponseTypes) -> ResponseTypes:
    # A browser must never guess another type than the one we send (a JSON body as HTML, say).
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def init_app(app: Quart) -> None:
    app.after_request(add_security_headers)
