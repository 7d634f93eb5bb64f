"""Routes that take a JSON body refuse other content types with 415 before parsing."""

from __future__ import annotations

from quart import Quart, current_app, request
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

from .errors import APIError


async def require_json_content_type() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not hasattr(view, QUART_SCHEMA_REQUEST_ATTRIBUTE):
        return
    if request.mimetype != "application/json":
        raise APIError(
            415,
            "Send the body as JSON with Content-Type: application/json.",
            code="unsupported-media-type",
        )


def init_app(app: Quart) -> None:
    app.before_request(require_json_content_type)
