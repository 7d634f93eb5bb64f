"""Concurrent reads of one key share one load, but never one that began before the reader's
moment; a failed load fails all its sharers, a cancelled one leaves them to load again."""

from __future__ import annotations

import asyncio
import time

import pytest

from bookapi.web.services.shared_reads import SharedReads


async def test_readers_share_one_load_begun_after_their_moment() -> None:
    reads: SharedReads[int] = SharedReads()
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return loads

    since = time.monotonic()
    results = await asyncio.gather(*(reads.read("job", since, load) for _ in range(100)))
    assert loads == 1 and set(results) == {1}


async def test_a_load_begun_before_the_readers_moment_is_not_shared() -> None:
    reads: SharedReads[str] = SharedReads()
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(0.1)
        return "before"

    async def fresh() -> str:
        return "after"

    early = asyncio.create_task(reads.read("job", time.monotonic(), slow))
    await started.wait()
    late = await reads.read("job", time.monotonic(), fresh)  # subscribed after it began
    assert late == "after" and await early == "before"


async def test_a_failure_reaches_every_sharer_and_a_cancellation_none() -> None:
    reads: SharedReads[int] = SharedReads()

    async def broken() -> int:
        await asyncio.sleep(0.02)
        raise LookupError("gone")

    since = time.monotonic()
    outcomes = await asyncio.gather(
        *(reads.read("job", since, broken) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(outcome, LookupError) for outcome in outcomes)

    async def hangs() -> int:
        await asyncio.sleep(10)
        return 0

    async def quick() -> int:
        return 7

    since = time.monotonic()
    first = asyncio.create_task(reads.read("job", since, hangs))
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(reads.read("job", since, quick))
    await asyncio.sleep(0.01)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await waiter == 7, "the sharer loads for itself once the shared load is cancelled"
