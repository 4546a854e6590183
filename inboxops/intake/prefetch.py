"""Read the next batch while this one is recorded: intake's fetching and recording overlap.

Recording a backlog batch waits on the parse workers most of the time, and fetching one waits
on the server: one after the other, the worker sat idle during every FETCH and the server
during every parse (a first start used two thirds of the machine's two cores, issue 15). A
`Prefetch` runs the producing generator (the FETCHes) in a thread of its own, one batch ahead:
while the intake thread records batch n, batch n+1 is read.

The producer is the only user of the IMAP connection while the walk is under way, and the
consumer only writes the store, so they share nothing but the hand-over. At most one batch
waits (plus the one being read and the one being recorded: three bounded batches, never the
backlog). The producer's errors reach the consumer in order, where the walk would have met
them; a consumer that stops early (an error, a stop) makes the producer stop after the FETCH
under way, and waits for it, so the connection is idle again when the walk returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()
_HAND_OVER_WAIT = 0.2  # seconds between two looks at `done` while the consumer is busy


class Prefetch(Generic[T]):
    """`with Prefetch(make) as items:` iterates `make()`, produced one item ahead in a thread."""

    def __init__(self, make: Callable[[], Iterator[T]]) -> None:
        self._make = make
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="intake-prefetch",
                                        daemon=True)

    def __enter__(self) -> Iterator[T]:
        self._thread.start()
        return self._items()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def _items(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item  # type: ignore[misc]

    def _produce(self) -> None:
        try:
            for item in self._make():
                if not self._hand_over(item):
                    return
        except BaseException as e:  # noqa: BLE001 - the consumer raises it, where it belongs
            self._hand_over(_Raised(e))
            return
        self._hand_over(_END)

    def _hand_over(self, item: object) -> bool:
        """Put `item` for the consumer; False if the consumer has gone."""
        while not self._done.is_set():
            try:
                self._queue.put(item, timeout=_HAND_OVER_WAIT)
            except queue.Full:
                continue
            return True
        return False


class _Raised:
    """An error of the producer's, carried to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
