"""glibc's allocator, told to keep the daemon's memory flat in the mailbox's size (issue 15).

Measured on a first start over IMAP (smaps of the daemon at its peak): the Python objects
stay at ~30 MB whatever the backlog (tracemalloc), but glibc's per-thread malloc arenas (the
work pool's threads and the intake thread allocate the raw messages, pickles and SQLite pages)
grew with the count of messages passed through them, 4 arenas holding 48 MB at 100,000
messages: freed space in the middle of an arena is kept, not given back. Two remedies, both
no-ops where glibc is not the C library (musl, macOS):

- at most ARENA_MAX arenas, set before the threads start, so the threads reuse each other's
  freed space instead of each keeping its own high-water mark;
- `trim` after each sorting round (every 1,000 messages of a backlog, and each pass): the free
  pages inside every arena go back to the system (malloc_trim walks all arenas since glibc 2.8).
"""

from __future__ import annotations

import ctypes
import logging
import sys
from functools import cache
from typing import Any

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024  # glibc's default start; fixed, it no longer slides up
ARENA_MAX = 2  # the loop thread and the work pool share the main arena and one more


@cache
def _glibc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - glibc only: musl has no such symbol
    except (OSError, AttributeError):
        return None
    return libc


def bound_arenas(arenas: int = ARENA_MAX) -> bool:
    """Cap glibc's malloc arenas (call before starting threads), and map buffers of
    MMAP_THRESHOLD and more on their own, given back when freed (a batch's FETCH answer,
    a chunk's pickles): glibc's sliding threshold otherwise rises to the largest freed and
    keeps such buffers in the arenas, fragmented; False if not glibc."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas)
                and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def trim() -> bool:
    """Give the free pages of every malloc arena back to the system; False if not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)  # 1 if it gave something back, 0 if there was nothing to give
    return True
