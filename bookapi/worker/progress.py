"""Job progress: saved on the job in MongoDB and published on Redis pub/sub, throttled."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError

from ..domain.jobs import lifecycle
from ..domain.jobs.job_schemas import job_json
from ..domain.jobs.records import JobProgress, StoredJob
from .store import WorkerStore

# At most ~10 progress events per second per job.
MIN_INTERVAL_SECONDS = 0.1
ProgressCallback = Callable[[int, int | None], None]
log = logging.getLogger(__name__)


class ProgressReporter:
    """Records `done` of `total` for one job, at most every MIN_INTERVAL_SECONDS."""

    def __init__(
        self,
        store: WorkerStore,
        job: StoredJob,
        on_progress: ProgressCallback | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.channel = store.names.job_events_channel
        self.job = job  # as this run took it: only this run may write its progress
        self.job_id = job["_id"]
        self.on_progress = on_progress  # e.g. a terminal progress bar, called unthrottled
        # Where the job may stop early (the lease's checkpoint); called on every advance.
        self.checkpoint = checkpoint
        self.total: int | None = None
        self._last_sent = 0.0

    def publish(self, event: dict[str, object]) -> None:
        # Live events are best effort: the job record in MongoDB is the truth, and
        # listeners re-read it, so a Redis hiccup must not fail the job.
        try:
            self.store.redis.publish(
                self.channel, json.dumps({"job_id": str(self.job_id), **event})
            )
        except RedisError as error:
            log.warning("could not publish progress of job %s: %s", self.job_id, error)

    def start(self, total: int | None) -> None:
        self.total = total
        self.advance(0, force=True)

    def advance(self, done: int, force: bool = False) -> None:
        if self.checkpoint is not None:
            self.checkpoint()
        if self.on_progress is not None:
            self.on_progress(done, self.total)
        now = time.monotonic()
        if not force and now - self._last_sent < MIN_INTERVAL_SECONDS:
            return
        self._last_sent = now
        progress: JobProgress = {"done": done, "total": self.total}
        lifecycle.record_progress(self.store.jobs, self.job, progress)
        self.publish({"type": "progress", "state": "running", **progress})

    def finished(self, job: StoredJob | None) -> None:
        """Tell listeners the job ended, with the ended job, so that none of them has to
        read it from MongoDB (a thousand listeners would read it a thousand times)."""
        self.publish({"type": "finished", "job": job_json(job)} if job else {"type": "finished"})
