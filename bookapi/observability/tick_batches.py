"""Counts, observations and log lines gathered during one turn of the event loop and written
once at its end: under load one turn answers many requests, so a hot path pays a list append
instead of a shared-memory write (multiprocess metrics) or a write to stderr per request.

Nothing is held longer than the turn: the batch is flushed by a callback scheduled when it
gets its first item (and when the app stops serving), so a scrape or a tail of the log lags
the request by one turn at most. A process killed outright loses the last turn's batch.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol


class Incrementable(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class Observable(Protocol):
    def observe(self, amount: float) -> None: ...


def observe_many(histogram: Any, amounts: list[float]) -> None:
    """`histogram.observe(a)` for each of `amounts`, with one write per bucket touched and
    one for the sum. prometheus_client has no public way to observe several values at once;
    this leans on its child's `_upper_bounds`, `_buckets` and `_sum` (checked by
    tests/unit/test_library_fences.py) and falls back to `observe` if they are not there."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for amount in amounts:
            histogram.observe(amount)
        return
    counts: dict[int, int] = defaultdict(int)
    for amount in amounts:
        counts[bisect.bisect_left(bounds, amount)] += 1
    total.inc(sum(amounts))
    for index, count in counts.items():
        buckets[index].inc(count)


class TickBatch:
    """What one event-loop turn gathered; `flush` writes it. One per process."""

    def __init__(self) -> None:
        self.counts: dict[Incrementable, int] = defaultdict(int)
        self.observations: dict[Observable, list[float]] = defaultdict(list)
        self.lines: list[Any] = []
        self.line_writer: Callable[[list[Any]], None] | None = None
        self.before_flush: list[Callable[[], None]] = []
        self.turns = 0  # turns that gathered something: how busy the process has been
        self._scheduled = False

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop: write now
                self.flush()

    def count(self, counter: Incrementable) -> None:
        self.counts[counter] += 1
        self._schedule()

    def observe(self, histogram: Observable, amount: float) -> None:
        self.observations[histogram].append(amount)
        self._schedule()

    def log(self, line: Any) -> None:
        self.lines.append(line)
        self._schedule()

    def flush(self) -> None:
        self._scheduled = False
        self.turns += 1
        for hook in self.before_flush:
            hook()
        counts, self.counts = self.counts, defaultdict(int)
        observations, self.observations = self.observations, defaultdict(list)
        lines, self.lines = self.lines, []
        for counter, count in counts.items():
            counter.inc(count)
        for histogram, amounts in observations.items():
            observe_many(histogram, amounts)
        if lines and self.line_writer is not None:
            self.line_writer(lines)


TICK = TickBatch()
