"""A process gone quiet collects the cycles its load left in the older generations; a busy
one leaves collecting to the collector's thresholds."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bookapi.observability.tick_batches import TICK
from bookapi.web.services.heap_trim import HeapTrimmer, IdleCollection


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def collector_off() -> Iterator[None]:
    """Only this test's own collections run (an automatic one would collect the cycle)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def cycle_in_an_older_generation() -> weakref.ref[Cycle]:
    """A cycle that survived a young collection while in use, then became garbage."""
    cycle = Cycle()
    gc.collect(0)
    return weakref.ref(cycle)


@pytest.mark.usefixtures("collector_off")
def test_garbage_that_outlived_the_load_is_collected_once_the_process_is_quiet() -> None:
    trims: list[int] = []

    def trim(pad: int) -> int:
        trims.append(pad)
        return 1

    trimmer = HeapTrimmer()
    trimmer.idle_collection = IdleCollection()
    garbage = cycle_in_an_older_generation()
    trimmer.tick(trim)  # a young collection ran since the last tick: busy
    assert garbage() is not None and trims == [0]
    trimmer.tick(trim)  # none since: quiet, and the older generation holds garbage
    assert garbage() is None and trims == [0, 0]


@pytest.mark.usefixtures("collector_off")
def test_a_busy_process_is_not_collected_in_full() -> None:
    idle = IdleCollection()
    garbage = cycle_in_an_older_generation()
    for _ in range(3):
        gc.collect(0)  # young collections keep running: there is load
        assert not idle.due()
    assert garbage() is not None
    assert idle.due(), "quiet now, with garbage waiting in an older generation"
    gc.collect()
    assert not idle.due(), "nothing left to collect"


@pytest.mark.usefixtures("collector_off")
def test_a_process_that_served_something_is_not_quiet() -> None:
    served = [0]
    idle = IdleCollection(activity=lambda: served[0])
    cycle_in_an_older_generation()
    idle.due()  # the young collection that made the garbage old
    served[0] += 1  # a turn of the event loop answered a request: no young collection ran
    assert not idle.due()
    assert idle.due(), "nothing served since"


def test_the_app_counts_its_busy_turns_for_the_trimmer() -> None:
    before = TICK.turns
    TICK.flush()
    assert TICK.turns == before + 1
