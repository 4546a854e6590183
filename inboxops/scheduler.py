"""APScheduler jobs: the daily digest (cron, config's time and timezone) and periodic chores.

The scheduler only triggers work; what the work does and whether it already happened is decided
by state in the store, so a misfire, a restart or a double trigger is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config

log = logging.getLogger(__name__)


def build_scheduler(
    cfg: Config,
    *,
    digest: Callable[[], Awaitable[None]],
    poll: Callable[[], Awaitable[None]] | None,
    poll_seconds: float,
) -> AsyncIOScheduler:
    """A scheduler with the digest job and, for sources without push, the poll job."""
    tz = ZoneInfo(cfg.meetings.timezone)
    scheduler = AsyncIOScheduler(timezone=tz)
    if cfg.digest.enabled:
        hour, minute = (int(x) for x in cfg.digest.time.split(":"))
        scheduler.add_job(
            digest, CronTrigger(hour=hour, minute=minute, timezone=tz), id="digest",
            misfire_grace_time=6 * 3600, coalesce=True, max_instances=1,
        )
    if poll is not None:
        scheduler.add_job(
            poll, IntervalTrigger(seconds=poll_seconds), id="poll", coalesce=True,
            max_instances=1, next_run_time=datetime.now(tz),
        )
    return scheduler


def digest_due(cfg: Config, now: datetime) -> bool:
    """Has today's digest time passed? (On start-up, a missed digest is sent late, once.)"""
    local = now.astimezone(ZoneInfo(cfg.meetings.timezone))
    hour, minute = (int(x) for x in cfg.digest.time.split(":"))
    return cfg.digest.enabled and (local.hour, local.minute) >= (hour, minute)
