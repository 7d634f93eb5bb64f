"""Freed heap memory handed back to the system every few seconds (glibc's `malloc_trim`).

`python -m bookapi.serve` runs Python on the C allocator (PYTHONMALLOC=malloc, see
serve.py), so Python's objects live in glibc's heap. glibc returns only the top of that
heap by itself: after 10,000 websocket listeners had closed, each API worker kept 253 MB of
pages they had used in the middle of it, and one `malloc_trim(0)` brought that to 112 MB.
A trim with little free is quick; where there is no glibc (musl, macOS) nothing runs.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

TRIM_EVERY_SECONDS = 10.0
log = logging.getLogger(__name__)


def glibc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


class HeapTrimmer:
    def __init__(self, every_seconds: float = TRIM_EVERY_SECONDS) -> None:
        self.every_seconds = every_seconds
        self.trim = glibc_malloc_trim()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.trim is not None:
            self.task = asyncio.create_task(self.run(self.trim))

    async def run(self, trim: Callable[[int], int]) -> None:
        while True:
            await asyncio.sleep(self.every_seconds)
            trim(0)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
