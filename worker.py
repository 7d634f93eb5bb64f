"""The Celery worker entry point: `celery -A worker worker`."""

from __future__ import annotations

from bookapi.celery_app import create_celery
from bookapi.jobs.tasks import register_tasks
from settings import load_settings

app = create_celery(load_settings())
register_tasks(app)
