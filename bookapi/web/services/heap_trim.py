"""Freed heap memory handed back to the system every few seconds (glibc's `malloc_trim`).

`python -m bookapi.serve` runs Python on the C allocator (PYTHONMALLOC=malloc, see
serve.py), so Python's objects live in glibc's heap. glibc returns only the top of that
heap by itself: after 10,000 websocket listeners had closed, each API worker kept 253 MB of
pages they had used in the middle of it, and one `malloc_trim(0)` brought that to 112 MB.
A trim with little free is quick; where there is no glibc (musl, macOS) nothing runs.

Before a trim, a process gone quiet (it served nothing and made no young collection since
the last trim) also runs a full collection. The collector's thresholds
(app_services.GC_THRESHOLDS) are set for throughput: an older generation is collected only
after many younger ones, so the cycles that a wave of listeners leaves in the older
generations sit there once the load stops, as nothing allocates any more. A minute after
10,000 listeners closed, one collection and a trim gave a worker 24 MB back. When quiet,
the collection is quick: it scans only what is not frozen (a few thousand objects once the
connections are gone).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
from collections.abc import Callable

TRIM_EVERY_SECONDS = 10.0
# Young objects allocated (net) since the last young collection past which a quiet process
# is worth a collection even with nothing in the older generations.
YOUNG_GARBAGE_WORTH_COLLECTING = 1000


def glibc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


def young_collections() -> int:
    return int(gc.get_stats()[0]["collections"])


class IdleCollection:
    """Says when a full collection is due: since the last question the process has had no
    activity (`activity` counts it: the turns that served something) and no young
    collection, and there is something to collect. A busy process is left to the
    thresholds: there a full collection would scan every open connection's objects (under
    load that frees and allocates as much, no young collection may run for a long time)."""

    def __init__(self, activity: Callable[[], int] = lambda: 0) -> None:
        self.activity = activity
        self.seen = (young_collections(), activity())

    def due(self) -> bool:
        seen, self.seen = self.seen, (young_collections(), self.activity())
        if seen != self.seen:
            return False  # busy
        young, young_collected, middle_collected = gc.get_count()
        return bool(young_collected or middle_collected or young > YOUNG_GARBAGE_WORTH_COLLECTING)


class HeapTrimmer:
    def __init__(
        self, every_seconds: float = TRIM_EVERY_SECONDS, activity: Callable[[], int] = lambda: 0
    ) -> None:
        self.every_seconds = every_seconds
        self.trim = glibc_malloc_trim()
        self.idle_collection = IdleCollection(activity)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.trim is not None:
            self.task = asyncio.create_task(self.run(self.trim))

    async def run(self, trim: Callable[[int], int]) -> None:
        while True:
            await asyncio.sleep(self.every_seconds)
            self.tick(trim)

    def tick(self, trim: Callable[[int], int]) -> None:
        if self.idle_collection.due():
            gc.collect()
        trim(0)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
