"""Choosing a slot: the client's time when it is free, else the nearest free ones.

Pure: the caller passes `now` and the busy intervals (meetings in the store, a staff feed).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from inboxops.models import Slot
from inboxops.responders.meetings.times import Proposal

_GRID = 30  # minutes; alternatives start on these boundaries


@dataclass(frozen=True)
class WorkingHours:
    """When we can meet: the slot finder never proposes anything outside this."""

    timezone: str = "Europe/Bucharest"
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    work_days: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays, Monday = 1
    duration: timedelta = timedelta(minutes=60)
    buffer: timedelta = timedelta(minutes=15)  # kept free before and after every busy interval
    holidays: tuple[date, ...] = ()
    search_days: int = 14

    def __post_init__(self) -> None:
        # Fail at config load rather than silently finding no slot at all.
        ZoneInfo(self.timezone)
        if self.day_start >= self.day_end:
            raise ValueError("day_start must be before day_end")
        if self.duration <= timedelta(0) or self.buffer < timedelta(0):
            raise ValueError("duration must be positive and buffer not negative")
        if not set(self.work_days) <= set(range(1, 8)):
            raise ValueError("work_days are ISO weekdays 1..7")
        if self.search_days < 1:
            raise ValueError("search_days must be at least 1")




def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _plus(start: datetime, delta: timedelta, tz: ZoneInfo) -> datetime:
    """Add elapsed time (not wall-clock time), so a slot across a DST switch lasts `delta`."""
    return (start.astimezone(UTC) + delta).astimezone(tz)


def find_slots(
    proposals: list[Proposal],
    busy: list[tuple[datetime, datetime]],
    hours: WorkingHours,
    now: datetime,
    count: int = 3,
) -> list[Slot]:
    """The client's time when it is free, else (and as alternatives) the nearest free slots.

    Client times that fall in working hours on a working, non-holiday day, after `now`, and
    clear of every busy interval by `hours.buffer` come first (from_client=True), in the
    client's order. A date-only proposal gives the first free slot of that day. The rest are
    the earliest free starts on 30-minute boundaries from the first proposal (or from now),
    within `hours.search_days`, not overlapping a slot already chosen: distinct options are
    more use to the client than 14:00, 14:30 and 15:00. Deterministic: no clock, no randomness.
    """
    _require_aware(now, "now")
    for b0, b1 in busy:
        _require_aware(b0, "busy start")
        _require_aware(b1, "busy end")
    if count <= 0:
        return []
    tz = ZoneInfo(hours.timezone)
    now = now.astimezone(tz)
    holidays = set(hours.holidays)
    slots: list[Slot] = []
    # Busy spans sorted by start, with the latest end so far: "does anything overlap [lo, hi)"
    # is then one binary search, however full the calendar is.
    spans = sorted(busy)
    starts = [b0 for b0, _ in spans]
    latest_end = list(accumulate((b1 for _, b1 in spans), max))

    def fits(start: datetime) -> bool:
        end = _plus(start, hours.duration, tz)
        day = start.date()
        if day.isoweekday() not in hours.work_days or day in holidays:
            return False
        if start.time() < hours.day_start or end.date() != day or end.time() > hours.day_end:
            return False
        if start <= now:
            return False
        lo, hi = start - hours.buffer, end + hours.buffer
        before = bisect_left(starts, hi)  # spans starting before hi
        return not (before and latest_end[before - 1] > lo)

    def overlaps_chosen(start: datetime) -> bool:
        end = _plus(start, hours.duration, tz)
        return any(s.start < end and s.end > start for s in slots)

    def add(start: datetime, from_client: bool) -> None:
        slots.append(Slot(start, _plus(start, hours.duration, tz), from_client))

    def grid(day: date, after: datetime | None) -> Iterator[datetime]:
        """Starts on the 30-minute grid inside working hours of `day`."""
        first = datetime.combine(day, hours.day_start, tzinfo=tz)
        minutes = first.hour * 60 + first.minute
        first += timedelta(minutes=(-minutes) % _GRID)
        if after is not None and after > first:
            # Round up to the grid, in local wall time.
            m = after.hour * 60 + after.minute + (1 if after.second or after.microsecond else 0)
            m += (-m) % _GRID
            first = datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=m)
        start = first
        while start.date() == day and start.time() <= hours.day_end:
            yield start
            start += timedelta(minutes=_GRID)

    anchor: datetime | None = None
    for p in proposals:
        if len(slots) >= count:
            break
        _require_aware(p.start, "proposal start")
        if p.has_time:
            start = p.start.astimezone(tz)
            if anchor is None:
                anchor = start
            if fits(start) and not overlaps_chosen(start):
                add(start, True)
        else:
            # The day the client named, in the extractor's calendar (00:00 there).
            day = p.start.date()
            if anchor is None:
                anchor = datetime.combine(day, hours.day_start, tzinfo=tz)
            chosen = next((s for s in grid(day, now) if fits(s) and not overlaps_chosen(s)), None)
            if chosen is not None:
                add(chosen, False)

    anchor = max(anchor, now) if anchor is not None else now
    for offset in range(hours.search_days):
        if len(slots) >= count:
            break
        day = anchor.date() + timedelta(days=offset)
        if day.isoweekday() not in hours.work_days or day in holidays:
            continue
        for start in grid(day, anchor if offset == 0 else None):
            if len(slots) >= count:
                break
            if fits(start) and not overlaps_chosen(start):
                add(start, False)
    return slots
