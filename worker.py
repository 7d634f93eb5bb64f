"""The Celery worker entry point: `celery -A worker worker`."""

from __future__ import annotations

from bookapi.storage.broker import create_celery
from bookapi.worker.tasks import register_tasks
from settings import load_settings

settings = load_settings()
app = create_celery(settings)
register_tasks(app, settings)
