"""VTIMEZONE written as yearly rules (RRULE), the way Outlook, Google and Thunderbird write it.

icalendar's own VTIMEZONE lists every past and future transition as RDATE dates. RFC 5545 allows
that, but ical.js and vobject then apply no summer time, and Radicale keeps only the first date of
each list: a 10:00 summer meeting lands an hour off. So the zone is written from the rule the time
zone database itself gives for the years after its table ends: the POSIX TZ string at the end of
every TZif file (RFC 8536 §3.3), e.g. "EET-2EEST,M3.5.0/3,M10.5.0/4" for Europe/Bucharest. One
STANDARD and one DAYLIGHT component, each with RRULE:FREQ=YEARLY, hold for every year the
current rules do, so for any meeting (or series) from now on (ICS-6).

A zone whose rule cannot be written this way (a "Jn" day-of-year rule; a change that can fall
in another month) falls back to icalendar's transition list up to 2100, which is still correct
for parsers that read RDATE.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

EPOCH_YEAR = 1970  # the onset year Thunderbird and Google write; any year before use would do

_NAME = r"(<[^>]+>|[A-Za-z]{3,})"
_OFFSET = r"([+-]?\d{1,3}(?::\d{2}){0,2})"
_RULE = r"M(\d{1,2})\.([1-5])\.([0-6])(?:/" + _OFFSET + r")?"
_POSIX = re.compile(rf"^{_NAME}{_OFFSET}(?:{_NAME}{_OFFSET}?,{_RULE},{_RULE})?$")


@dataclass(frozen=True)
class _Onset:
    """One yearly change: in month `month`, the `week`-th (5 = last) `weekday` (0 = Sunday), at
    `at` local time before the change, the UTC offset goes from `before` to `after`."""

    month: int
    week: int
    weekday: int
    at: timedelta
    before: timedelta
    after: timedelta
    name: str


def _duration(text: str | None, default: timedelta) -> timedelta:
    if text is None:
        return default
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])


def _name(text: str) -> str:
    return text.strip("<>")


def posix_rule(key: str) -> str | None:
    """The POSIX TZ string at the end of the zone's TZif file, or None if not found."""
    for base in zoneinfo.TZPATH:
        path = Path(base) / key
        if path.is_file():
            return _footer(path.read_bytes())
    try:  # the tzdata package, where the system has no zone files (as zoneinfo does)
        package, _, name = f"tzdata.zoneinfo.{key.replace('/', '.')}".rpartition(".")
        return _footer(importlib.resources.files(package).joinpath(name).read_bytes())
    except (ImportError, FileNotFoundError, ValueError):
        return None


def _footer(data: bytes) -> str | None:
    if not data.startswith(b"TZif") or not data.endswith(b"\n"):
        return None
    footer = data[:-1].rsplit(b"\n", 1)[-1]
    return footer.decode("ascii", "replace") or None


def _nth_weekday(year: int, onset: _Onset) -> date:
    """The day of `onset` in `year` (POSIX Mm.w.d: d counts from Sunday = 0)."""
    first = date(year, onset.month, 1)
    iso_target = onset.weekday or 7  # ISO: Monday = 1 ... Sunday = 7
    day = first + timedelta(days=(iso_target - first.isoweekday()) % 7)
    day += timedelta(weeks=onset.week - 1)
    while day.month != onset.month:  # week 5 means the last such weekday of the month
        day -= timedelta(weeks=1)
    return day


_BYDAY = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")


def _yearly(onset: _Onset) -> tuple[dict[str, object], timedelta] | None:
    """The RRULE of `onset` and the day shift of its DTSTART, or None if RRULE cannot say it.

    A change hour outside 0-24 h moves the change to another weekday (Jerusalem's "M3.4.4/26"
    is a Friday, Nuuk's "M3.5.0/-1" a Saturday): then the weekday is named with the days of the
    month it can fall on, as Outlook writes it.
    """
    shift = onset.at // timedelta(days=1)
    week = -1 if onset.week == 5 else onset.week
    if shift == 0:
        return {"freq": "yearly", "bymonth": onset.month,
                "byday": f"{week}{_BYDAY[onset.weekday]}"}, timedelta(0)
    if onset.week == 5 and onset.month == 2:
        return None  # February's last week moves with leap years
    month_days = (date(2001, onset.month % 12 + 1, 1) - timedelta(days=1)).day
    first = month_days - 6 if onset.week == 5 else 7 * (onset.week - 1) + 1
    days = [d + shift for d in range(first, first + 7)]
    if days[0] < 1 or days[-1] > month_days:
        return None  # the change can fall in the next or previous month
    return {"freq": "yearly", "bymonth": onset.month,
            "byday": _BYDAY[(onset.weekday + shift) % 7], "bymonthday": days}, \
        timedelta(days=shift)


def _component(onset: _Onset, daylight: bool) -> TimezoneStandard | TimezoneDaylight | None:
    yearly = _yearly(onset)
    if yearly is None:
        return None
    rule, shift = yearly
    part = TimezoneDaylight() if daylight else TimezoneStandard()
    day = _nth_weekday(EPOCH_YEAR, onset)
    part.add("dtstart", datetime(day.year, day.month, day.day) + onset.at)
    part.add("tzoffsetfrom", onset.before)
    part.add("tzoffsetto", onset.after)
    part.add("tzname", onset.name)
    part.add("rrule", rule)
    assert part.decoded("DTSTART").date() == day + shift
    return part


def rrule_timezone(key: str, posix: str) -> Timezone | None:
    """The VTIMEZONE of `key` from its POSIX rule, or None when the rule has no RRULE form."""
    m = _POSIX.match(posix)
    if m is None:
        return None
    std_name, std_off, dst_name, dst_off = m.group(1, 2, 3, 4)
    standard = -_duration(std_off, timedelta(0))  # POSIX offsets count west of Greenwich
    zone = Timezone()
    zone.add("tzid", key)
    if dst_name is None:  # no summer time: one standard component for all years
        part = TimezoneStandard()
        part.add("dtstart", datetime(EPOCH_YEAR, 1, 1))
        part.add("tzoffsetfrom", standard)
        part.add("tzoffsetto", standard)
        part.add("tzname", _name(std_name))
        zone.add_component(part)
        return zone
    summer = -_duration(dst_off, -(standard + timedelta(hours=1)))
    two_hours = timedelta(hours=2)
    start_m, start_w, start_d, start_at = m.group(5, 6, 7, 8)
    end_m, end_w, end_d, end_at = m.group(9, 10, 11, 12)
    to_summer = _Onset(int(start_m), int(start_w), int(start_d), _duration(start_at, two_hours),
                       standard, summer, _name(dst_name))
    to_standard = _Onset(int(end_m), int(end_w), int(end_d), _duration(end_at, two_hours),
                         summer, standard, _name(std_name))
    summer_part = _component(to_summer, daylight=True)
    standard_part = _component(to_standard, daylight=False)
    if summer_part is None or standard_part is None:
        return None
    zone.add_component(summer_part)
    zone.add_component(standard_part)
    return zone


@functools.cache
def _vtimezone_bytes(key: str) -> bytes:
    posix = posix_rule(key)
    zone = rrule_timezone(key, posix) if posix else None
    if zone is None:
        zone = Timezone.from_tzinfo(zoneinfo.ZoneInfo(key), tzid=key,
                                    last_date=date(2100, 1, 1))
    return zone.to_ical()


def vtimezone(key: str) -> Timezone:
    """The VTIMEZONE component for the IANA zone `key`, with yearly rules where possible."""
    zone = Timezone.from_ical(_vtimezone_bytes(key))
    assert isinstance(zone, Timezone)
    return zone
