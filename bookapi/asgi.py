"""The ASGI entry point hypercorn serves: `hypercorn bookapi.asgi:app`."""

from __future__ import annotations

from .app import create_app

app = create_app()
