"""The one bounded pool of threads for blocking I/O, each thread with its own store connection.

The daemon's loop never blocks (see `inboxops.service.daemon`): an IMAP command, an HTTP fetch or
a batch of SQLite work is a job `fn(store)` handed to `Workers.run`, which the loop awaits. The
job gets the store connection of the thread that runs it, because sqlite3 connections cannot
cross threads; the thread opens it on its first job and closes it when it ends.

Why not `concurrent.futures.ThreadPoolExecutor`: its threads are joined when the interpreter
exits, so one IMAP command waiting out its 60 s read timeout would hold a SIGTERM exit for a
minute, where the service promises one within 10 s. These threads are daemon threads: a stop
waits `shutdown(grace)` for running jobs, then leaves the rest behind. That is safe because
every job's effect is a state change in the store, made idempotently in one transaction: a job
cut off by the exit is rolled back and done again after the restart, as after kill -9.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from inboxops.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

SIZE = 3  # IMAP sort/filing, the draft sync and intake processing can overlap; more only waits

_Job = tuple[Callable[[Store], Any], "concurrent.futures.Future[Any]"]


class Workers:
    """`size` threads taking jobs in order; `await workers.run(fn)` gives fn(own store)."""

    def __init__(self, store_path: str | Path, size: int = SIZE, name: str = "io") -> None:
        self.store_path = store_path
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"inboxops-{name}-{i}", daemon=True)
            for i in range(size)
        ]
        self._started = self._closed = False
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[Store], T]) -> concurrent.futures.Future[T]:
        """Queue `fn` for a worker thread; the future holds its result or its exception."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool was shut down")
            if not self._started:
                for thread in self._threads:
                    thread.start()
                self._started = True
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((fn, future))
        return future

    async def run(self, fn: Callable[[Store], T]) -> T:
        """Run `fn(store)` in a worker thread and await it. Cancelling the await drops a job
        not yet started; a started one finishes (or is abandoned at exit) on its own."""
        return await asyncio.wrap_future(self.submit(fn))

    async def shutdown(self, grace: float) -> int:
        """Let the threads finish the queued jobs (within `grace` seconds) and end; return how
        many are still busy and left behind (they end with the process). Never blocks the
        loop: it looks every few milliseconds instead of joining."""
        with self._lock:
            self._closed = True
        if not self._started:
            return 0
        for _ in self._threads:
            self._jobs.put(None)  # after the queued jobs: those still run, within the grace
        deadline = time.monotonic() + grace
        while any(t.is_alive() for t in self._threads) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        busy = sum(thread.is_alive() for thread in self._threads)
        if busy:
            log.warning("stopping: %d blocking call(s) still running were left behind", busy)
        return busy

    def _serve(self) -> None:
        store: Store | None = None
        try:
            while (job := self._jobs.get()) is not None:
                fn, future = job
                if not future.set_running_or_notify_cancel():
                    continue  # its awaiter went away before it started
                try:
                    if store is None:
                        store = Store(self.store_path, migrate=False)  # migrated at start
                    result = fn(store)
                except BaseException as e:  # noqa: BLE001 - handed to the awaiter, not lost
                    future.set_exception(e)
                else:
                    future.set_result(result)
        finally:
            if store is not None:
                store.close()
