"""Staff busy times from an iCalendar feed (a file or an https URL), for the slot finder.

The feed is whatever the staff's calendar publishes (Nextcloud, Google "secret address in iCal
format", Outlook "publish calendar"): VEVENTs, possibly recurring, and VFREEBUSY periods.
Recurrences are expanded with recurring-ical-events (icalendar alone does not expand RRULE).
A configured feed that cannot be read is an error, not "no busy times": proposing a slot on
top of a meeting we could not see is worse than asking the assistant.
"""

from __future__ import annotations

import logging
import urllib.request
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from inboxops.errors import InboxopsError

log = logging.getLogger(__name__)

MAX_FEED = 10_000_000  # bytes; a year of a busy office is far below this
TIMEOUT = 15  # seconds for an https feed

Span = tuple[datetime, datetime]


def read_feed(source: str, timeout: float = TIMEOUT) -> bytes:
    """The feed's bytes from a path or an https:// URL; InboxopsError saying what failed."""
    try:
        if source.startswith("https://"):
            request = urllib.request.Request(source, headers={"User-Agent": "inboxops"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                data: bytes = response.read(MAX_FEED + 1)
        else:
            data = Path(source).expanduser().read_bytes()[: MAX_FEED + 1]
    except (OSError, ValueError) as e:
        # The URL may carry a secret token (Google's private address): name only its host.
        where = source.split("/")[2] if source.startswith("https://") else source
        raise InboxopsError(f"[meetings] busy_calendar: cannot read {where}: {e}") from None
    if len(data) > MAX_FEED:
        raise InboxopsError(f"[meetings] busy_calendar: feed over {MAX_FEED} bytes")
    return data


def busy_spans(data: bytes, start: datetime, end: datetime, timezone: str) -> list[Span]:
    """Busy intervals overlapping [start, end): events not cancelled and not transparent
    (RFC 5545 §3.8.2.7 TRANSP, §3.8.1.11 STATUS), and FREEBUSY periods other than FREE.
    All-day events block the whole day in `timezone`; floating times are read in it too."""
    import recurring_ical_events  # only when a feed is configured: keeps daemon start-up short
    from icalendar import Calendar

    tz = ZoneInfo(timezone)
    try:
        cal = Calendar.from_ical(data)
        events = recurring_ical_events.of(cal).between(start, end)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        # What icalendar and recurring-ical-events raise on malformed input (their own errors,
        # InvalidCalendar among them, are ValueErrors).
        raise InboxopsError(
            f"[meetings] busy_calendar: not a readable iCalendar feed ({err})"
        ) from None
    spans: list[Span] = []
    for ev in events:
        if str(ev.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        s = ev.get("DTSTART")
        if s is None:
            continue
        stop = ev.get("DTEND")
        first = _aware(s.dt, tz)
        if stop is not None:
            last = _aware(stop.dt, tz)
        elif ev.get("DURATION") is not None:
            last = first + ev["DURATION"].dt
        else:  # RFC 5545 §3.6.1: a date lasts one day, a date-time is an instant
            last = first + (timedelta(days=1) if not isinstance(s.dt, datetime) else timedelta())
        spans.append((first, last))
    for fb in cal.walk("VFREEBUSY"):
        periods = fb.get("FREEBUSY", [])
        for prop in periods if isinstance(periods, list) else [periods]:
            if str(prop.params.get("FBTYPE", "BUSY")).upper() == "FREE":
                continue
            for period in getattr(prop, "dts", None) or [prop]:
                p0, p1 = period.dt
                first = _aware(p0, tz)
                last = first + p1 if isinstance(p1, timedelta) else _aware(p1, tz)
                if first < end and last > start:
                    spans.append((first, last))
    return sorted(spans)


def _aware(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def feed_busy(source: str, timezone: str, now: datetime, days: int) -> list[Span]:
    """Busy spans from the configured feed for the slot finder's window (now .. now+days)."""
    if not source:
        return []
    start = now.astimezone(UTC)
    spans = busy_spans(read_feed(source), start, start + timedelta(days=days + 1), timezone)
    log.debug("busy_calendar: %d busy spans", len(spans))
    return spans
