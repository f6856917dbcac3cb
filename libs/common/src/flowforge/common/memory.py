"""Giving freed memory back to the system after a large piece of work.

A service that parsed or typed a large file keeps what its allocators cached: glibc's arenas
(Python objects), pyarrow's mimalloc pool, DuckDB's own allocator. The pages are free for the
process, yet still resident, so a machine running every service holds each one's peak at
once. After a handler that ran long (a large batch), `release` hands the first two back;
DuckDB returns its own in the background (`DUCKDB_CONFIG`). Polars' allocator decays freed
pages on its own within a few seconds and offers no call to hurry it."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# A handler that ran this long worked on a large batch: worth a release (it costs a few ms).
AFTER_SECONDS = 1.0

_libc: list = []

# DuckDB keeps the memory a large query freed (its own jemalloc) until the database closes: a
# count of 5M distinct keys left ~175 MiB resident for good in a kept database. With jemalloc's
# background threads it is returned within ~2 s, at no measurable cost to the query. The
# setting is process-wide; every database a service opens passes it (the first one sets it).
DUCKDB_CONFIG = {"allocator_background_threads": True}


def release() -> None:
    """Return the allocators' free memory to the system (best effort, never raises)."""
    pa = sys.modules.get("pyarrow")  # a service that never loaded it has no pool to free
    if pa is not None:
        try:
            pa.default_memory_pool().release_unused()
        except Exception:  # noqa: BLE001 - a pool without it
            pass
    try:
        if not _libc:
            _libc.append(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"))
        _libc[0].malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
