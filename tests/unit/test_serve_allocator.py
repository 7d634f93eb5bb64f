"""Granian's allocator is told to hand freed memory back, unless the operator said otherwise."""

from __future__ import annotations

from bookapi.serve import JEMALLOC_RETURNS_MEMORY, JEMALLOC_SETTING, return_freed_memory


def test_granian_returns_freed_memory_by_default() -> None:
    environ: dict[str, str] = {}
    return_freed_memory(environ)
    assert environ[JEMALLOC_SETTING] == JEMALLOC_RETURNS_MEMORY
    assert "muzzy_decay_ms:0" in environ[JEMALLOC_SETTING]


def test_an_operators_allocator_setting_is_kept() -> None:
    environ = {JEMALLOC_SETTING: "narenas:2"}
    return_freed_memory(environ)
    assert environ[JEMALLOC_SETTING] == "narenas:2"
