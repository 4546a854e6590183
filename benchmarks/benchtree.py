"""The daemon's process tree, read from /proc: who is who, RSS, PSS and CPU.

The daemon runs its parse workers as child interpreters (`inboxops.intake.parseworker`); the
roles of a multiprocessing fork server and resource tracker are still told apart, to measure
older revisions. The issue's budget (<= 150 MB) covers the whole tree. RSS counts a page shared
by several processes (a fork server's preloaded modules, copied on write into each worker) once
per process, so the tree's RSS overstates what the machine gives it; PSS
(/proc/PID/smaps_rollup) splits each shared page between its sharers and adds up to the real
total. Both are printed. smaps_rollup makes the kernel walk the page tables, so PSS is sampled
less often than RSS.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import defaultdict
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
ROLES = ("daemon", "fork server", "parse workers", "resource tracker", "other")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/stat's ppid)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            children[int(fields[1])].append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def roles(pid: int) -> dict[int, str]:
    """Each process of the tree and its role, told by its command line (a worker forked by the
    fork server keeps the server's command line, so its parent tells it apart)."""
    out: dict[int, str] = {}
    servers: set[int] = set()
    for p in tree(pid):  # parents come before their children
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        fields = _stat(p)
        parent = int(fields[1]) if fields else 0
        if p == pid:
            out[p] = "daemon"
        elif parent in servers:
            out[p] = "parse workers"
        elif b"forkserver" in cmd:
            out[p] = "fork server"
            servers.add(p)
        elif b"resource_tracker" in cmd:
            out[p] = "resource tracker"
        elif b"multiprocessing" in cmd or b"parseworker" in cmd:
            out[p] = "parse workers"
        else:
            out[p] = "other"
    return out


def rss(pid: int) -> int:
    """Resident set size in bytes (0 if the process is gone)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return 0


def pss(pid: int) -> int:
    """Proportional set size in bytes, from smaps_rollup (0 if the process is gone)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_rss(pid: int) -> int:
    return sum(rss(p) for p in tree(pid))


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the live tree, reaped children included."""
    total = 0
    for p in tree(pid):
        if (fields := _stat(p)) is not None:
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def cpu_by_role(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of each live role of the tree, reaped children included:
    the daemon's reaped children are parse workers (one stopped after a backlog, or killed
    at its time limit), counted as such, not as the daemon's own time."""
    out: dict[str, float] = {}
    for p, role in roles(pid).items():
        if (fields := _stat(p)) is not None:
            own, reaped = (sum(int(x) for x in fields[i:i + 2]) / TICK for i in (11, 13))
            out[role] = out.get(role, 0.0) + own
            heir = "parse workers" if role == "daemon" else role
            out[heir] = out.get(heir, 0.0) + reaped
    return {role: sec for role, sec in out.items() if sec or role == "daemon"}


def snapshot(pid: int, with_pss: bool = True) -> dict[str, tuple[int, int, int]]:
    """Role -> (processes, RSS, PSS) now, plus "tree" for the total."""
    out: dict[str, list[int]] = {role: [0, 0, 0] for role in (*ROLES, "tree")}
    for p, role in roles(pid).items():
        r, s = rss(p), (pss(p) if with_pss else 0)
        for key in (role, "tree"):
            out[key][0] += 1
            out[key][1] += r
            out[key][2] += s
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


class TreeSampler:
    """Peak RSS of the tree and of each role every `every` s; peak PSS every `pss_every` s."""

    def __init__(self, pid: int, every: float = 0.1, pss_every: float = 1.0) -> None:
        self.pid, self.every, self.pss_every = pid, every, pss_every
        self.peak: dict[str, tuple[int, int]] = {}  # role -> (peak RSS, processes then)
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_pss = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            with_pss = now - last_pss >= self.pss_every
            if with_pss:
                last_pss = now
            for role, (n, r, s) in snapshot(self.pid, with_pss).items():
                if r > self.peak.get(role, (0, 0))[0]:
                    self.peak[role] = (r, n)
                if role == "tree":
                    self.peak_pss = max(self.peak_pss, s)
            self._stop.wait(self.every)

    def stop(self) -> dict[str, tuple[int, int]]:
        self._stop.set()
        self._thread.join()
        return self.peak
