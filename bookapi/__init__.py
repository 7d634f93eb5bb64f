"""bookapi: an async book-catalog REST and websocket service.

The package imports nothing on its own, so the worker and the CLI load only what they use
(the worker never loads Quart). The app factory is `bookapi.app.create_app`.
"""
