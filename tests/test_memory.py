"""glibc's arenas kept in check (issue 15): freed space in the middle of a thread's arena goes
back to the system after `trim`, and the arena cap is accepted. In a child interpreter, so the
test's own allocations and threads do not blur the figures."""

from __future__ import annotations

import subprocess
import sys

from inboxops.service import memory

CHILD = r"""
import threading
from pathlib import Path
from inboxops.service import memory

def rss():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096

kept = []
def churn():
    # 60 MB of 100 KB blocks (below the mmap threshold: they live in this thread's arena);
    # every 20th stays, pinning the arena's top, so free() alone returns nothing.
    blocks = [b"x" * 100_000 for _ in range(600)]
    kept.extend(blocks[::20])
    blocks.clear()

t = threading.Thread(target=churn)
t.start()
t.join()
before = rss()
assert memory.trim()
print(before - rss())
"""


def test_trim_gives_back_the_free_pages_of_a_threads_arena() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True)
    assert int(out.stdout) > 40_000_000, out.stdout


def test_the_arena_cap_is_accepted_on_glibc() -> None:
    assert memory.bound_arenas()
