"""Parsing in worker processes: the second core, and a time limit on every message.

Parsing is the slow stage (the stdlib header parser is pure Python, and quadratic on some
hostile headers: PROTOCOLS.md PARSE-3, gh-136063). Every batch, one message or a backlog of
hundreds, is parsed in a pool of worker processes while the main process classifies and drafts;
a message whose parse runs past the limit is reported as a timeout (the caller quarantines it)
and the stuck worker is killed. Only a process can be cut off: a thread stuck in a parse would
keep a core busy for good, so there is no in-process shortcut for small batches.

Small batches stay fast because the workers stay warm: the daemon starts them (`warm`) at
start-up, and they come from a fork server that has already imported the parser, so even a
cold start or the fresh pool after a timeout costs tens of milliseconds, not a new interpreter.
Measured for one ordinary message on 2 vCPUs: in-process 0.5 ms, a warm worker ~1 ms; a cold
spawned pool 150-250 ms.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

from inboxops.errors import ParseError
from inboxops.intake.parse import parse_message
from inboxops.models import ParsedMessage

TIMEOUT_SECONDS = 20.0  # one message; a normal one takes a few milliseconds


def _parse(raw: bytes, parser: Callable[[bytes], ParsedMessage] = parse_message
           ) -> ParsedMessage | str:
    """In the worker: the parsed message, or the error text (exceptions may not pickle)."""
    try:
        return parser(raw)
    except Exception as e:  # noqa: BLE001 - reported to the caller, who quarantines
        return f"{type(e).__name__}: {e}"


def _ready() -> bool:
    """In the worker: nothing; running it proves the worker is up and the parser imported."""
    return True


class ParsePool:
    """A lazily started pool of parser processes. They are forked from a fork server, never
    from the daemon itself: the daemon has threads, and forking a threaded process is unsafe."""

    def __init__(
        self, workers: int | None = None, timeout: float = TIMEOUT_SECONDS,
        parser: Callable[[bytes], ParsedMessage] = parse_message,
    ) -> None:
        # One core stays with the main process, which classifies, drafts and records meanwhile
        # (measured on 2 vCPUs: 1 worker 221 msg/s, 2 workers 185, none 170).
        self.workers = workers or max(1, min(4, (os.cpu_count() or 2) - 1))
        self.timeout = timeout
        self.parser = parser  # a module-level function: workers import it by name
        self._pool: Pool | None = None
        self._lock = threading.Lock()  # `warm` may race the first `parse` (daemon threads)

    def _start(self) -> Pool:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                # Effective when this process starts its fork server, i.e. at the first pool.
                context.set_forkserver_preload([__name__, parse_message.__module__])
                self._pool = context.Pool(self.workers)
            return self._pool

    def warm(self) -> None:
        """Start the workers now, so the first message does not wait for them. Blocking for a
        few milliseconds (it starts processes); the daemon calls it from its worker pool."""
        self._start().apply_async(_ready)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
            pool.join()

    def parse(
        self, items: list[tuple[int, bytes]]
    ) -> Iterator[tuple[int, ParsedMessage | Exception]]:
        """(id, parsed message or the error) for each item, in order; a message that takes
        longer than the time limit is a ParseError, whatever the size of the batch."""
        pending = list(items)
        while pending:
            pool = self._start()
            jobs: list[tuple[int, AsyncResult[Any]]] = [
                (pk, pool.apply_async(_parse, (raw, self.parser))) for pk, raw in pending]
            for done, (pk, job) in enumerate(jobs):
                try:
                    result = job.get(self.timeout)
                except multiprocessing.TimeoutError:
                    # The worker is stuck on this message: kill the pool, report it, and go on
                    # with the rest in a fresh pool.
                    self.close()
                    yield pk, ParseError(f"parsing took longer than {self.timeout:g} s")
                    pending = pending[done + 1:]
                    break
                yield pk, (ParseError(result) if isinstance(result, str) else result)
            else:
                pending = []
