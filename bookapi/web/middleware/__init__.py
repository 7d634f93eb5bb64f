"""ASGI middleware around the Quart app (API process): the request log, cached reads, gzip."""
