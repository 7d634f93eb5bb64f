"""The Celery worker process: tasks, runner, importer, exporter, progress, sync store."""
