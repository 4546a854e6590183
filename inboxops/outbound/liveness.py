"""Who holds a lease: this process's identity, and whether a recorded holder is still alive.

A send is leased for ten minutes so that two processes (the daemon and a CLI `approve`) never
both recover the same live send. After a kill -9 the holder is gone, and waiting out the lease
would delay a client's reply by ten minutes for nothing. The identity is host, pid and the
process's start time (a pid can be reused; a pid with the same start time cannot).
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # Field 2 (comm) is in parentheses and may contain spaces: split after its closing one.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None  # field 22 overall: starttime


@cache
def identity() -> str:
    """This process, as recorded on the rows it leases."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


def is_gone(owner: str | None) -> bool:
    """True only when the holder is certainly dead: same host, and its pid no longer runs (or
    runs a different process). Anything unsure (another host, no /proc) counts as alive."""
    if not owner:
        return False
    try:
        host, pid_text, start = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or start == "?" or owner == identity():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's: check the start time below
    current = _start_ticks(pid)
    return current is not None and current != start
