"""APScheduler jobs: the periodic chores (digest, reminders).

The scheduler only triggers work; what the work does and whether it already happened is decided
by state in the store, so a misfire, a restart or a double trigger is harmless. The digest is not
a cron job: a chore every CHORE_SECONDS asks `digest_slot` whether a digest time passed within
the grace period, and the store says whether that day's digest was already queued. So a daemon
that was down at 08:00 sends it when it comes back (within the grace), and never twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from inboxops.config import Config

log = logging.getLogger(__name__)
CHORE_SECONDS = 30.0


def build_scheduler(
    cfg: Config,
    *,
    digest: Callable[[], Awaitable[None]],
) -> AsyncIOScheduler:
    """A scheduler with the chores job (digest, reminders); it runs once at start-up too."""
    tz = ZoneInfo(cfg.meetings.timezone)
    scheduler = AsyncIOScheduler(timezone=tz)
    scheduler.add_job(
        digest, IntervalTrigger(seconds=CHORE_SECONDS), id="chores", coalesce=True,
        max_instances=1, next_run_time=datetime.now(tz),
    )
    return scheduler


def last_digest_time(cfg: Config, now: datetime) -> datetime:
    """The most recent local digest time at or before `now` (today's, or else yesterday's)."""
    tz = ZoneInfo(cfg.meetings.timezone)
    local = now.astimezone(tz)
    hour, minute = (int(x) for x in cfg.digest.time.split(":"))
    for back in (0, 1):
        day = local.date() - timedelta(days=back)
        at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if at <= local:
            return at
    raise AssertionError("yesterday's digest time is always in the past")


def digest_slot(cfg: Config, now: datetime) -> date | None:
    """The local day whose digest is due now, or None: a digest time passed less than
    `grace_hours` ago. Keyed by that day, so a late digest after midnight is still the
    previous day's, and a restart never makes a second one."""
    if not cfg.digest.enabled:
        return None
    at = last_digest_time(cfg, now)
    if now - at > timedelta(hours=cfg.digest.grace_hours):
        return None
    return at.date()


def digest_due(cfg: Config, now: datetime) -> bool:
    """Is a digest due now (today's time passed, within the grace)?"""
    return digest_slot(cfg, now) is not None


def next_digest_time(cfg: Config, now: datetime) -> datetime | None:
    """When the next digest is due (local time), for status displays; None when disabled."""
    if not cfg.digest.enabled:
        return None
    at = last_digest_time(cfg, now)
    day = at.date() + timedelta(days=1)  # the same wall-clock time the next day, across DST
    return datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=at.tzinfo)
