"""Talking to systemd without systemd-python: sd_notify (SYSD-2) and a watchdog fed by progress.

The watchdog is not a free-running timer (SYSD-3): each loop that must not hang (the mailbox
fetch loop, the process-and-send loop) reports progress through `Heartbeats.beat`, and
`WATCHDOG=1` is sent only while every one of them has beaten within WATCHDOG_USEC. A loop that
hangs therefore stops the pings, and systemd restarts the service (`Restart=on-failure`).
A loop that waits for a blocking call in the worker pool (`Heartbeats.waiting`) counts as
making progress for a bounded time, longer than the call's own timeouts: a slow IMAP server or
calendar feed is not a hang, a call that outlives every timeout it has is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator

log = logging.getLogger(__name__)

# Test-only hook, documented in README "Development": while the file this variable names
# exists, the fetch loop stands still (without reporting progress), as a hung loop would.
HANG_FETCH_ENV = "INBOXOPS_TEST_HANG_FETCH"


def sd_notify(message: str) -> None:
    """Tell systemd about our state, if it is listening (no systemd-python needed)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(address)
            s.sendall(message.encode())
    except OSError as e:
        log.debug("sd_notify failed: %s", e)


def watchdog_seconds() -> float | None:
    """WatchdogSec= as systemd passes it (WATCHDOG_USEC, for our pid), or None if unset."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 1e6


class Heartbeats:
    """When each loop last made progress (monotonic). Beating is a float store: thread-safe."""

    def __init__(self, names: Iterable[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last = dict.fromkeys(names, clock())
        self._waits: dict[str, dict[object, float]] = {name: {} for name in names}

    def beat(self, name: str) -> None:
        self._last[name] = self.clock()

    @contextlib.contextmanager
    def waiting(self, name: str, patience: float) -> Iterator[None]:
        """While inside, loop `name` counts as beating, for at most `patience` seconds."""
        token = object()
        self._waits[name][token] = self.clock() + patience
        try:
            yield
        finally:
            del self._waits[name][token]
            self.beat(name)

    def stale(self, limit: float) -> list[str]:
        """The loops silent for more than `limit` seconds."""
        now = self.clock()
        silent = []
        for name, last in self._last.items():
            waits = list(self._waits[name].values())
            if waits:  # a wait on purpose beats until its patience runs out
                last = max(last, min(now, max(waits)))
            if now - last > limit:
                silent.append(name)
        return silent


async def feed_watchdog(heartbeats: Heartbeats, limit: float, stopping: asyncio.Event) -> None:
    """Send WATCHDOG=1 every limit/2 seconds while no loop has been silent for `limit`."""
    reported: set[str] = set()
    while not stopping.is_set():
        stale = heartbeats.stale(limit)
        if stale:
            if set(stale) - reported:
                log.error("watchdog: the %s loop made no progress for %.0fs; no more "
                          "WATCHDOG=1, so systemd restarts the service", " and ".join(stale),
                          limit)
            sd_notify(f"STATUS=hung: {', '.join(stale)} loop made no progress")
        else:
            if reported:
                log.warning("watchdog: every loop makes progress again")
            sd_notify("WATCHDOG=1")
        reported = set(stale)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=limit / 2)


def hang_if_asked(stop: threading.Event) -> None:
    """Test-only: stand still while $INBOXOPS_TEST_HANG_FETCH names an existing file."""
    path = os.environ.get(HANG_FETCH_ENV)
    if not path or not os.path.exists(path):
        return
    log.warning("test hook %s: the fetch loop hangs", HANG_FETCH_ENV)
    while os.path.exists(path) and not stop.is_set():
        time.sleep(0.1)
    log.warning("test hook %s: the fetch loop goes on", HANG_FETCH_ENV)
