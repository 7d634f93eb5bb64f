"""The ASGI entry point hypercorn serves: `hypercorn bookapi.asgi:app`."""

from __future__ import annotations

from typing import Any

from .observability.tracing import start_tracing, trace_asgi
from .web.app import create_app

app: Any = create_app()
if start_tracing("bookapi-api"):
    app = trace_asgi(app)  # every request and websocket a server span
