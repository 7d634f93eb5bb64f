"""The allocators are told to hand freed memory back, unless the operator said otherwise;
Python starts again only when its allocator is not chosen yet."""

from __future__ import annotations

import ctypes

from bookapi.serve import (
    JEMALLOC_RETURNS_MEMORY,
    JEMALLOC_SETTING,
    PYTHON_ALLOCATOR,
    PYTHON_ALLOCATOR_SETTING,
    return_freed_memory,
)
from bookapi.web.services.heap_trim import glibc_malloc_trim


def test_the_allocators_return_freed_memory_by_default() -> None:
    environ: dict[str, str] = {}
    assert return_freed_memory(environ), "Python must start again to take its allocator"
    assert environ[JEMALLOC_SETTING] == JEMALLOC_RETURNS_MEMORY
    assert "muzzy_decay_ms:0" in environ[JEMALLOC_SETTING]
    assert environ[PYTHON_ALLOCATOR_SETTING] == PYTHON_ALLOCATOR
    assert not return_freed_memory(environ), "once started with it, never again"


def test_an_operators_allocator_settings_are_kept() -> None:
    environ = {JEMALLOC_SETTING: "narenas:2", PYTHON_ALLOCATOR_SETTING: "pymalloc"}
    assert not return_freed_memory(environ)
    assert environ == {JEMALLOC_SETTING: "narenas:2", PYTHON_ALLOCATOR_SETTING: "pymalloc"}


def test_glibc_trim_is_found_here() -> None:
    trim = glibc_malloc_trim()
    assert trim is not None, "this machine runs glibc"
    block = ctypes.create_string_buffer(64 * 1024 * 1024)
    del block
    assert trim(0) in (0, 1)
