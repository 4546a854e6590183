"""Parsing a backlog in worker processes: the second core, and a time limit per message.

Parsing is the slow stage (the stdlib header parser is pure Python, and quadratic on some
hostile headers: PROTOCOLS.md PARSE-3, gh-136063). A batch of messages is parsed in a pool of
worker processes while the main process classifies and drafts; a message whose parse runs past
the limit is reported as a timeout (the caller quarantines it) and the stuck worker is killed.
Small batches, the usual case for new mail, are parsed in-process: starting workers would cost
more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

from inboxops.errors import ParseError
from inboxops.intake.parse import parse_message
from inboxops.models import ParsedMessage

MIN_BATCH = 16          # below this, parse in-process
TIMEOUT_SECONDS = 20.0  # one message; a normal one takes a few milliseconds


def _parse(raw: bytes, parser: Callable[[bytes], ParsedMessage] = parse_message
           ) -> ParsedMessage | str:
    """In the worker: the parsed message, or the error text (exceptions may not pickle)."""
    try:
        return parser(raw)
    except Exception as e:  # noqa: BLE001 - reported to the caller, who quarantines
        return f"{type(e).__name__}: {e}"


class ParsePool:
    """A lazily started pool of parser processes (spawned: the daemon has threads)."""

    def __init__(
        self, workers: int | None = None, timeout: float = TIMEOUT_SECONDS,
        parser: Callable[[bytes], ParsedMessage] = parse_message, min_batch: int = MIN_BATCH,
    ) -> None:
        # One core stays with the main process, which classifies, drafts and records meanwhile
        # (measured on 2 vCPUs: 1 worker 221 msg/s, 2 workers 185, none 170).
        self.workers = workers or max(1, min(4, (os.cpu_count() or 2) - 1))
        self.timeout = timeout
        self.parser = parser  # a module-level function: workers import it by name
        self.min_batch = min_batch
        self._pool: Pool | None = None

    def _start(self) -> Pool:
        if self._pool is None:
            self._pool = multiprocessing.get_context("spawn").Pool(self.workers)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def parse(
        self, items: list[tuple[int, bytes]]
    ) -> Iterator[tuple[int, ParsedMessage | Exception]]:
        """(id, parsed message or the error) for each item, in order."""
        if len(items) < self.min_batch:
            for pk, raw in items:
                try:
                    yield pk, self.parser(raw)
                except Exception as e:  # noqa: BLE001
                    yield pk, e
            return
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
