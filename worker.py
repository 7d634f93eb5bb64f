"""The Celery worker entry point: `celery -A worker worker` (and `celery -A worker beat`)."""

from __future__ import annotations

from bookapi.observability.logs import configure_logging
from bookapi.storage.broker import create_celery
from bookapi.worker import tasks
from bookapi.worker.context import WorkerContext, set_worker_context
from bookapi.worker.lease import ShutdownFlag
from bookapi.worker.signals import connect_worker_signals
from settings import load_settings

settings = load_settings()
# Configured now, so even what the worker says before it starts (a warning about running
# as root) is in our format; a signal receiver keeps Celery from replacing it.
configure_logging(settings)
app = create_celery(settings)
set_worker_context(WorkerContext(settings, app, ShutdownFlag()))
connect_worker_signals()
# Importing bookapi.worker.tasks registered these with every Celery app, this one included.
TASKS = (tasks.import_books, tasks.export_books, tasks.maintain_jobs_task)
