"""Intake's read-ahead (`intake.prefetch`): order kept, one batch ahead at most, errors where
the walk meets them, and an early end stops the producer before the caller goes on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from inboxops.intake.prefetch import Prefetch


def test_items_come_in_order_and_the_producer_runs_one_ahead() -> None:
    made: list[int] = []

    def make() -> Iterator[int]:
        for i in range(6):
            made.append(i)
            yield i

    seen = []
    with Prefetch(make) as items:
        for item in items:
            time.sleep(0.05)  # the consumer is slow: the producer waits for it
            # produced: the one in hand, one waiting, and at most one being handed over
            assert len(made) <= item + 3
            seen.append(item)
    assert seen == list(range(6))


def test_the_next_item_is_read_while_this_one_is_worked_on() -> None:
    started = threading.Event()

    def make() -> Iterator[int]:
        yield 1
        started.set()  # only a read-ahead gets here while the consumer still holds item 1
        yield 2

    with Prefetch(make) as items:
        first = next(items)
        assert started.wait(2), "the second item was not read ahead"
        assert [first, *items] == [1, 2]


def test_a_producer_error_is_raised_after_the_items_before_it() -> None:
    def make() -> Iterator[int]:
        yield 1
        raise OSError("connection reset")

    seen = []
    with pytest.raises(OSError, match="connection reset"), Prefetch(make) as items:
        for item in items:
            seen.append(item)
    assert seen == [1]


def test_leaving_early_stops_the_producer_before_the_caller_goes_on() -> None:
    busy = threading.Event()
    in_use = threading.Lock()  # the connection: only one user at a time
    produced = []

    def make() -> Iterator[int]:
        for i in range(1000):
            with in_use:  # a FETCH under way
                busy.set()
                time.sleep(0.01)
            produced.append(i)
            yield i

    with pytest.raises(RuntimeError), Prefetch(make) as items:
        for _ in items:
            busy.wait(2)
            raise RuntimeError("the store is full")
    # the producer has stopped: the connection is free for the caller at once, for good
    assert in_use.acquire(blocking=False)
    count = len(produced)
    time.sleep(0.1)
    assert len(produced) == count < 5
