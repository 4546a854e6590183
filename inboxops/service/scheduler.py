"""APScheduler, the one timekeeper: every timed job of the daemon is a job here.

- `chores` every CHORE_SECONDS: the digest once due, and reminders about late complaints;
- `pass` every few seconds: wake the work loop for what other processes (the CLI) queued;
- `folders` every FOLDER_SECONDS: look for mail moved between category folders;
- `alive` every ALIVE_SECONDS: the "alive" note `inboxops status` reads;
- `outbox-retry`, once, when the earliest retry of a failed send falls due (`wake_at`).

Jobs are coroutines, run on the daemon's loop, so each must only wake the work loop or hand
its blocking part to the worker pool (the concurrency rule in `inboxops.service.daemon`).
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
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from inboxops.config import Config

log = logging.getLogger(__name__)
CHORE_SECONDS = 30.0
FOLDER_SECONDS = 60.0  # one look a minute is plenty for a human moving mail
ALIVE_SECONDS = 30.0  # how fresh `inboxops status` sees the daemon's sign of life

Job = Callable[[], Awaitable[None]]


def build_scheduler(
    cfg: Config,
    *,
    digest: Job,
    wake: Job | None = None,
    pass_seconds: float = 5.0,
    folders: Job | None = None,
    alive: Job | None = None,
) -> AsyncIOScheduler:
    """A scheduler with the daemon's periodic jobs; chores, folders and alive also run at
    start-up (a digest missed while down goes out, moved mail is looked at at once)."""
    tz = ZoneInfo(cfg.meetings.timezone)
    scheduler = AsyncIOScheduler(timezone=tz)
    now = datetime.now(tz)
    _every(scheduler, "chores", digest, CHORE_SECONDS, first=now)
    if wake is not None:
        _every(scheduler, "pass", wake, pass_seconds)
    if folders is not None:
        _every(scheduler, "folders", folders, FOLDER_SECONDS, first=now)
    if alive is not None:
        _every(scheduler, "alive", alive, ALIVE_SECONDS, first=now)
    return scheduler


def _every(
    scheduler: AsyncIOScheduler, name: str, job: Job, seconds: float,
    first: datetime | None = None,
) -> None:
    # Late runs are run, not dropped with a warning (misfire_grace_time=None), and runs piled
    # up behind a slow one become one (coalesce): each job is idempotent. (next_run_time=None
    # would add the job paused: leave it out to start after one interval.)
    start = {} if first is None else {"next_run_time": first}
    scheduler.add_job(job, IntervalTrigger(seconds=seconds), id=name, coalesce=True,
                      max_instances=1, misfire_grace_time=None, **start)


def wake_at(scheduler: AsyncIOScheduler, when: datetime, wake: Job) -> None:
    """Wake the work loop at `when`, when a send's retry falls due. Replaces the previous
    one: only the earliest retry matters, and each pass schedules the next."""
    scheduler.add_job(wake, DateTrigger(run_date=when), id="outbox-retry",
                      replace_existing=True, misfire_grace_time=None)


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
