"""A running job's lease: its heartbeat on the job record, and the reasons to stop early.

While a job runs, a thread stamps `heartbeat_at` on its record every
JOB_HEARTBEAT_SECONDS, on the condition that the record still carries this run's
`run_id`. The reaper (reaper.py) treats a job whose heartbeat is older than
JOB_STALE_SECONDS as abandoned and takes it away; a run that finds its `run_id` gone
stops at its next checkpoint instead of racing the run that replaced it.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from types import TracebackType
from typing import Literal

from pymongo.errors import PyMongoError

from ..domain.jobs import lifecycle
from ..domain.jobs.records import StoredJob
from .store import WorkerStore

log = logging.getLogger(__name__)
StopReason = Literal["shutdown", "lost"]


class JobInterruptedError(Exception):
    """Raised at a progress checkpoint: the worker is stopping, or the job was taken away."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason: StopReason = reason


class ShutdownFlag:
    """Set by the worker's main process when it is asked to stop; read by the processes
    that run jobs. Shared memory made before the pool forks, so a prefork child sees the
    parent's write; a plain byte, so setting it from a signal handler takes no lock."""

    def __init__(self) -> None:
        self._value = multiprocessing.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)


class Lease:
    """Keeps the heartbeat of one run of a job going, in a thread, while the run lasts."""

    def __init__(self, store: WorkerStore, job: StoredJob, shutdown: ShutdownFlag | None) -> None:
        self.store = store
        self.job = job
        self.job_id = job["_id"]
        self.shutdown = shutdown
        self.interval = store.settings.JOB_HEARTBEAT_SECONDS
        self._lost = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._beat_until_stopped, name=f"heartbeat-{self.job_id}", daemon=True
        )

    def beat(self) -> bool:
        """Stamp the heartbeat; False if this run no longer holds the job."""
        return lifecycle.beat(self.store.jobs, self.job)

    def _beat_until_stopped(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                if not self.beat():
                    log.warning("job %s was taken away from this run; stopping", self.job_id)
                    self._lost.set()
                    return
            except PyMongoError as error:
                # The run itself will hit the outage and retry; the reaper covers the rest.
                log.warning("heartbeat of job %s failed: %s", self.job_id, error)

    def checkpoint(self) -> None:
        """Called between rows: stop here if the job is no longer ours or we must shut down."""
        if self._lost.is_set():
            raise JobInterruptedError("lost")
        if self.shutdown is not None and self.shutdown.is_set():
            raise JobInterruptedError("shutdown")

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._thread.join(timeout=self.interval + 5)
