"""Parsing in worker processes: the second core, and a time limit on every message.

Parsing is the slow stage (the stdlib header parser is pure Python, and quadratic on some
hostile headers: PROTOCOLS.md PARSE-3, gh-136063). Every batch, one message or a backlog of
hundreds, is parsed in a pool of worker processes while the main process records and sorts
meanwhile; a message whose parse runs past the limit is reported as a timeout (the caller
quarantines it) and the stuck worker is killed. Only a process can be cut off: a thread stuck in
a parse would keep a core busy for good, so there is no in-process shortcut for small batches.

The work function is the caller's (`parser`, a module-level function the workers import by
name): the daemon's does the parse and the classification together, both pure CPU, so the
main process keeps only I/O. A backlog goes to the workers in chunks (CHUNK messages, at most
CHUNK_BYTES), one task each: per-message tasks cost the main process about as much as the
parse saved. A chunk that runs past the limit is taken again one message at a time, so the
message that hangs is found and the others in its chunk are parsed all the same.

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
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.pool import Pool
from typing import Any, Generic, TypeVar

from inboxops.errors import ParseError
from inboxops.intake.parse import parse_message

T = TypeVar("T")
TIMEOUT_SECONDS = 20.0  # one message; a normal one takes a few milliseconds
CHUNK = 32  # messages in one task of a backlog
CHUNK_BYTES = 1 << 20  # and at most this many bytes: a chunk stays far inside the limit


def _parse(raws: Sequence[bytes], parser: Callable[[bytes], Any]) -> list[Any]:
    """In the worker: each result, or the error text (exceptions may not pickle)."""
    out: list[Any] = []
    for raw in raws:
        try:
            out.append(parser(raw))
        except Exception as e:  # noqa: BLE001 - reported to the caller, who quarantines
            out.append(_Failed(f"{type(e).__name__}: {e}"))
    return out


class _Failed(str):
    """An error text from a worker (a plain str could be a parser's result)."""


def _ready() -> bool:
    """In the worker: nothing; running it proves the worker is up and the parser imported."""
    return True


class ParsePool(Generic[T]):
    """A lazily started pool of parser processes. They are forked from a fork server, never
    from the daemon itself: the daemon has threads, and forking a threaded process is unsafe.
    `initializer(*initargs)` runs once in each worker (say, to build what the parser needs)."""

    def __init__(
        self, workers: int | None = None, timeout: float = TIMEOUT_SECONDS,
        parser: Callable[[bytes], T] = parse_message,  # type: ignore[assignment]
        initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
    ) -> None:
        # One core stays with the main process, which fetches, records and sorts meanwhile.
        self.workers = workers or max(1, min(4, (os.cpu_count() or 2) - 1))
        self.timeout = timeout
        self.parser = parser  # a module-level function: workers import it by name
        self.initializer, self.initargs = initializer, initargs
        self._pool: Pool | None = None
        self._lock = threading.Lock()  # `warm` may race the first `parse` (daemon threads)

    def _start(self) -> Pool:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                # Effective when this process starts its fork server, i.e. at the first pool.
                context.set_forkserver_preload(
                    [__name__, parse_message.__module__, self.parser.__module__])
                self._pool = context.Pool(self.workers, self.initializer, self.initargs)
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

    def parse(self, items: list[tuple[int, bytes]]) -> Iterator[tuple[int, T | Exception]]:
        """(id, result or the error) for each item, in order; a message that takes longer
        than the time limit is a ParseError, whatever the size of the batch."""
        pending = list(items)
        while pending:
            pool = self._start()
            jobs = [(chunk, pool.apply_async(_parse, ([raw for _, raw in chunk], self.parser)))
                    for chunk in _chunks(pending)]
            for done, (chunk, job) in enumerate(jobs):
                try:
                    results: list[Any] = job.get(self.timeout * (1 if len(chunk) == 1 else 2))
                except multiprocessing.TimeoutError:
                    # A worker is stuck: kill the pool and go on in a fresh one. Alone, the
                    # message is the culprit; in a chunk, each is tried again on its own.
                    self.close()
                    rest = [item for later, _ in jobs[done + 1:] for item in later]
                    if len(chunk) == 1:
                        yield chunk[0][0], ParseError(
                            f"parsing took longer than {self.timeout:g} s")
                        pending = rest
                    else:
                        yield from self._one_by_one(chunk)
                        pending = rest
                    break
                for (pk, _), result in zip(chunk, results, strict=True):
                    yield pk, (ParseError(result) if isinstance(result, _Failed) else result)
            else:
                pending = []

    def _one_by_one(self, chunk: list[tuple[int, bytes]]) -> Iterator[tuple[int, T | Exception]]:
        for item in chunk:
            yield from self.parse([item])


def _chunks(items: list[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    size = 0
    for item in items:
        if chunk and (len(chunk) >= CHUNK or size + len(item[1]) > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += len(item[1])
    if chunk:
        yield chunk
