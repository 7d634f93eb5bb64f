"""bookapi: an async book-catalog REST and websocket service.

The folders name the process that loads them: `web/` runs only in the API process, `worker/`
only in the Celery worker, `cli/` in the command-line tools; `domain/`, `storage/` and
`observability/` are shared by all of them. The package imports nothing on its own, so each
process loads only what it uses. The app factory is `bookapi.web.app.create_app`.
"""
