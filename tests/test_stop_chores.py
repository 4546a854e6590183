"""A stop while a scheduler job waits on the pool (issue 15 found it in CI: a start cut short
at once left a traceback in the log)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from configs import maildir_config

from inboxops import config
from inboxops.service.daemon import Daemon


def test_a_chore_cut_short_by_the_stop_ends_quietly(tmp_path: Path) -> None:
    """A scheduler job waiting on the pool when the service stops is cancelled: that is the
    stop, not a failed job (APScheduler logs a cancelled job with a traceback)."""
    cfg = config.load(maildir_config(tmp_path))
    daemon = Daemon(cfg)
    release = threading.Event()
    daemon._chores = lambda store: release.wait(10)  # type: ignore[method-assign]

    async def stop_during_the_chore() -> asyncio.Future[None]:
        task = asyncio.ensure_future(daemon.digest())
        await asyncio.sleep(0.2)
        daemon.request_stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        release.set()
        await daemon.workers.shutdown(1.0)
        return task

    try:
        task = asyncio.run(stop_during_the_chore())
    finally:
        daemon.pipeline.close()
        daemon.store.close()
    assert not task.cancelled() and task.exception() is None
