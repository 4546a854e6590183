"""Parsing in worker processes: the second core, and a time limit on every message.

Parsing is the slow stage (the stdlib header parser is pure Python, and quadratic on some
hostile headers: PROTOCOLS.md PARSE-3, gh-136063). Every batch, one message or a backlog of
thousands, is parsed in worker processes while the main process fetches, records and sorts; a
message whose parse runs past the limit is reported as a timeout (the caller quarantines it)
and the stuck worker is killed. Only a process can be cut off: a thread stuck in a parse would
keep a core busy for good, so there is no in-process shortcut for small batches.

The work function is the caller's (`parser`, a module-level function the workers import by
name): the daemon's parses and classifies together, both pure CPU. A backlog goes out in
chunks (CHUNK messages, at most CHUNK_BYTES), one request each: per-message requests cost the
main process about as much as the parse saved. A chunk that runs past the limit is taken again
one message at a time, so the message that hangs is found and the others are parsed all the
same. A worker that dies (killed, out of memory) counts as a timeout of what it held.

The workers are plain child interpreters (`python -m inboxops.intake.parseworker`) talking
pickles over a pipe pair, not a multiprocessing Pool: the Pool needs a fork server (the daemon
has threads, so it cannot fork itself) and a resource tracker, two extra interpreters that
weighed 45 MB of the 150 MB the whole process tree may use (issue 15). A worker starts in
~0.2 s; the daemon starts them at start-up (`warm`), so the first message does not wait.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Generic, TypeVar

from inboxops.errors import ParseError
from inboxops.intake.parse import parse_message

T = TypeVar("T")
TIMEOUT_SECONDS = 20.0  # one message; a normal one takes a few milliseconds
CHUNK = 32  # messages in one request of a backlog
CHUNK_BYTES = 1 << 19  # and at most this many bytes: a chunk stays far inside the limit
MAX_WORKERS = 2
DEPTH = 2  # chunks sent to a worker ahead of its answers
PIPE_BYTES = 1 << 20
_HOME = str(Path(__file__).resolve().parents[2])  # the folder this inboxops package is in


class Failed(str):
    """An error text from a worker (a plain str could be a parser's result)."""


def _name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _widen(fd: int) -> None:
    """A pipe that holds a whole chunk (Linux allows 1 MiB without privileges): a sender,
    the daemon or a busy worker, then writes and goes on instead of waiting for the reader
    (measured: both sides spent a quarter of their time blocked on the 64 KiB default)."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


# glibc (ignored elsewhere), for a worker's memory to stay flat however long the backlog:
# one arena (its two threads reuse each other's freed space), and buffers of 128 KiB and
# more (a chunk's pickles) mapped and given back when freed, where glibc's own sliding
# threshold soon kept them in the heap, fragmented (measured: +3 MB a worker at 100,000).
_WORKER_MALLOC = {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}


class _Worker:
    """One child interpreter with its two pipe ends."""

    def __init__(self, setup: bytes) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        for fd in (to_child_w, from_child_w):
            _widen(fd)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inboxops.intake.parseworker", str(to_child_r),
             str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, close_fds=True,
            env={**os.environ, **_WORKER_MALLOC, "PYTHONPATH": os.pathsep.join(
                filter(None, [_HOME, os.environ.get("PYTHONPATH")]))})  # this inboxops first
        os.close(to_child_r)
        os.close(from_child_w)
        self.send_conn = Connection(to_child_w, readable=False)
        self.recv_conn = Connection(from_child_r, writable=False)
        self.send_conn.send_bytes(setup)
        # Chunks sent and not answered yet, oldest first, with their index in the batch: the
        # worker reads the next while it parses one (DEPTH), so it never waits for us.
        self.jobs: deque[tuple[int, list[tuple[int, bytes]]]] = deque()
        self.deadline = 0.0  # by when the oldest must be answered

    def kill(self) -> None:
        for conn in (self.send_conn, self.recv_conn):
            conn.close()
        self.proc.kill()
        self.proc.wait()


class ParsePool(Generic[T]):
    """Worker processes started on first use. `initializer(*initargs)` runs once in each
    worker (say, to build what the parser needs); both are imported there by name."""

    def __init__(
        self, workers: int | None = None, timeout: float = TIMEOUT_SECONDS,
        parser: Callable[[bytes], T] = parse_message,  # type: ignore[assignment]
        initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
    ) -> None:
        # Two at most: a backlog keeps two cores busy between them and the main process
        # (whose work mostly waits on them and on the server), one more than the other
        # processes could feed; each costs ~35 MB, and the tree's memory stays bounded.
        self.workers = workers or max(1, min(MAX_WORKERS, os.cpu_count() or 1))
        self.timeout = timeout
        self._setup = pickle.dumps({
            "path": sys.path, "parser": _name(parser),
            "initializer": _name(initializer) if initializer else None, "initargs": initargs,
        })
        self._idle: list[_Worker] = []
        self._started = 0  # workers alive, idle or taken: never more than `workers`
        self._closed = False
        # Several threads parse at once (the daemon's intake and its work loop): one that
        # finds every worker taken waits for one, so the tree's memory stays bounded.
        self._free = threading.Condition()

    def _take(self, count: int) -> list[_Worker]:
        """Up to `count` workers (at least one: waits while all are taken)."""
        with self._free:
            while not self._idle and self._started >= self.workers:
                self._free.wait()
            while len(self._idle) < count and self._started < self.workers:
                self._idle.append(_Worker(self._setup))
                self._started += 1
            taken, self._idle = self._idle[:count], self._idle[count:]
            return taken

    def _give_back(self, workers: list[_Worker]) -> None:
        if self._closed:  # a parse that was under way when the pool closed
            for worker in workers:
                self._retire(worker)
            return
        with self._free:
            self._idle.extend(workers)
            self._free.notify_all()

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._free:
            self._started -= 1
            self._free.notify_all()

    def warm(self) -> None:
        """Start a worker now, so the first message does not wait for one (blocking for a few
        milliseconds: it starts a process; the daemon calls it from its worker pool). The
        others start when a batch has work for them: new mail one message at a time never
        needs them, a backlog does."""
        self._give_back(self._take(1))

    def shrink(self, keep: int = 1) -> None:
        """Stop the idle workers beyond `keep`: once a backlog is worked off, new mail needs
        one, and each other costs ~35 MB while the daemon waits for mail. A worker a parse
        holds stays; the next backlog starts them again."""
        with self._free:
            extra, self._idle = self._idle[keep:], self._idle[:keep]
        for worker in extra:
            self._retire(worker)

    def close(self) -> None:
        """Stop the idle workers now, and those a parse holds when it ends."""
        with self._free:
            self._closed = True
            workers, self._idle = self._idle, []
        for worker in workers:
            self._retire(worker)

    def parse(self, items: list[tuple[int, bytes]], parser: Callable[[bytes], T] | None = None
              ) -> Iterator[tuple[int, T | Exception]]:
        """(id, result or the error) for each item, in order; a message that takes longer
        than the time limit is a ParseError, whatever the size of the batch. `parser` is
        another work function for this batch than the pool's (module-level, imported by name
        in the workers): the daemon's backlog intake asks for a leaner result than drafting."""
        if not items:
            return
        work = _name(parser) if parser is not None else None
        chunks = deque(enumerate(_chunks(items)))
        done: dict[int, list[tuple[int, T | Exception]]] = {}
        next_out, total = 0, len(chunks)
        workers = self._take(min(self.workers, total))
        try:
            while next_out < total:
                for worker in workers:
                    while len(worker.jobs) < DEPTH and chunks:
                        self._send(worker, work, *chunks.popleft())
                busy = {w.recv_conn: w for w in workers if w.jobs}
                if busy:
                    deadline = min(w.deadline for w in busy.values())
                    for conn in wait(list(busy), max(0.0, deadline - time.monotonic())):
                        self._receive(busy[conn], done)  # type: ignore[index]
                for i, worker in enumerate(workers):
                    if worker.jobs and worker.deadline <= time.monotonic():
                        workers[i] = self._replace(worker, done, chunks, parser)
                while next_out in done:
                    yield from done.pop(next_out)
                    next_out += 1
        finally:
            self._give_back([w for w in workers if not w.jobs])
            for worker in workers:
                if worker.jobs:  # the caller stopped early: its answers are unwanted
                    self._retire(worker)

    def _limit(self, chunk: list[tuple[int, bytes]]) -> float:
        return self.timeout * (1 if len(chunk) == 1 else 2)

    def _send(self, worker: _Worker, work: str | None, index: int,
              chunk: list[tuple[int, bytes]]) -> None:
        if not worker.jobs:
            worker.deadline = time.monotonic() + self._limit(chunk)
        worker.jobs.append((index, chunk))
        try:
            worker.send_conn.send_bytes(pickle.dumps((work, [raw for _, raw in chunk])))
        except OSError:  # it died: what it holds counts as stuck at once
            worker.deadline = 0.0

    def _receive(self, worker: _Worker, done: dict[int, list[tuple[int, T | Exception]]]
                 ) -> None:
        try:
            results: list[Any] = pickle.loads(worker.recv_conn.recv_bytes())
        except (EOFError, OSError):
            worker.deadline = 0.0  # died: handled as a timeout
            return
        index, chunk = worker.jobs.popleft()
        done[index] = [(pk, ParseError(r) if isinstance(r, Failed) else r)
                       for (pk, _), r in zip(chunk, results, strict=True)]
        if worker.jobs:  # the next one's time starts now
            worker.deadline = time.monotonic() + self._limit(worker.jobs[0][1])

    def _replace(
        self, worker: _Worker, done: dict[int, list[tuple[int, T | Exception]]],
        chunks: deque[tuple[int, list[tuple[int, bytes]]]],
        parser: Callable[[bytes], T] | None,
    ) -> _Worker:
        """The worker is stuck (or dead): kill it. Alone, the oldest chunk's message is the
        culprit; in a chunk, each message is tried again on its own (in this same call). The
        chunks it held besides go back to the queue."""
        index, chunk = worker.jobs.popleft()
        chunks.extendleft(reversed(worker.jobs))
        worker.jobs.clear()
        self._retire(worker)
        if len(chunk) == 1:
            done[index] = [(chunk[0][0], ParseError(
                f"parsing took longer than {self.timeout:g} s (or its worker died)"))]
        else:
            done[index] = list(self._one_by_one(chunk, parser))
        return self._take(1)[0]

    def _one_by_one(self, chunk: Sequence[tuple[int, bytes]],
                    parser: Callable[[bytes], T] | None) -> Iterator[tuple[int, T | Exception]]:
        for item in chunk:
            yield from self.parse([item], parser)


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
