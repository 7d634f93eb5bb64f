"""Entries cached together do not expire together (a burst of misses at one moment)."""

from __future__ import annotations

import time

from bookapi.web.services.book_cache import TTL_JITTER, BookCache, RenderedBook


def test_entries_kept_together_expire_over_the_last_fifth_of_the_ttl() -> None:
    cache = BookCache(max_entries=1000, ttl_seconds=60)
    cache.trusted = True
    start = time.monotonic()
    entries = [RenderedBook(b"{}", f'"{n}"') for n in range(500)]
    for number, entry in enumerate(entries):
        assert cache._put(cache.entries, str(number), entry, cache.generation)
    lifetimes = [entry.expires - start for entry in entries]
    assert min(lifetimes) >= 60 * (1 - TTL_JITTER) - 1
    assert max(lifetimes) <= 60 + 1, "never beyond the TTL: the bound on staleness holds"
    assert max(lifetimes) - min(lifetimes) > 60 * TTL_JITTER / 2, "spread, not one moment"
