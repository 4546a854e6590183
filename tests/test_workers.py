"""The daemon's worker pool: jobs run off the loop, each thread on its own store connection,
errors reach the awaiter, and a stop never waits for a call that hangs."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from inboxops.service.workers import Workers
from inboxops.store import Store


def test_jobs_run_in_the_pool_on_the_store_of_their_own_thread(tmp_path: Path) -> None:
    Store(tmp_path / "db.sqlite").close()  # migrated at start, as the daemon does
    workers = Workers(tmp_path / "db.sqlite", size=2)
    seen: list[tuple[str, int]] = []
    started = threading.Barrier(2, timeout=10)

    def job(store: Store) -> str:
        started.wait()  # two jobs at once: they must be on two threads
        seen.append((threading.current_thread().name, id(store)))
        store.query("SELECT count(*) FROM messages")  # would raise on another thread's store
        return threading.current_thread().name

    async def scenario() -> list[str]:
        loop_thread = threading.current_thread().name
        names = await asyncio.gather(workers.run(job), workers.run(job))
        assert loop_thread not in names
        await workers.shutdown(grace=5)
        return list(names)

    names = asyncio.run(scenario())
    assert len(set(names)) == 2 and all(n.startswith("inboxops-io-") for n in names)
    assert len({store for _, store in seen}) == 2  # one connection per thread


def test_a_job_error_reaches_the_awaiter_and_the_pool_goes_on(tmp_path: Path) -> None:
    workers = Workers(tmp_path / "db.sqlite", size=1)

    def broken(store: Store) -> None:
        raise ValueError("a bug in one job")

    async def scenario() -> int:
        with pytest.raises(ValueError, match="a bug in one job"):
            await workers.run(broken)
        value = await workers.run(lambda store: 42)
        await workers.shutdown(grace=5)
        return value

    assert asyncio.run(scenario()) == 42


def test_a_stop_leaves_a_hanging_call_behind_instead_of_waiting_for_it(tmp_path: Path) -> None:
    workers = Workers(tmp_path / "db.sqlite", size=1)
    release = threading.Event()
    hanging = threading.Event()

    def hang(store: Store) -> None:
        hanging.set()
        release.wait(60)  # an IMAP command waiting out its read timeout

    async def scenario() -> tuple[int, float]:
        job = asyncio.ensure_future(workers.run(hang))
        await asyncio.to_thread(hanging.wait, 10)
        job.cancel()  # the stop cancels the await; the call itself cannot be interrupted
        started = time.monotonic()
        busy = await workers.shutdown(grace=0.3)
        return busy, time.monotonic() - started

    try:
        busy, took = asyncio.run(scenario())
        assert busy == 1 and took < 2
        with pytest.raises(RuntimeError):
            workers.submit(lambda store: None)  # shut down: no new work
    finally:
        release.set()
