"""iTIP objects (RFC 5546) written and read with icalendar 7, never by hand (ICS-3..8)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from inboxops.responders.meetings.slots import _require_aware

# icalendar (with vtimezone, which uses it) is imported by the two functions below: ~10 MB and
# ~100 modules a daemon needs only once a meeting is drafted or an iTIP mail arrives (issue 15).

PRODID = "-//inboxops//inboxops//EN"


@dataclass(frozen=True)
class CalendarInfo:
    """The few fields of a received ics that RSVP tracking needs (PROTOCOLS ICS-9)."""

    method: str | None
    uid: str | None
    sequence: int
    dtstamp: datetime | None
    start: datetime | date | None
    end: datetime | date | None
    # (bare lower-case address, PARTSTAT upper-case; NEEDS-ACTION when absent, RFC 5545 §3.2.12)
    attendees: list[tuple[str, str]] = field(default_factory=list)



def new_uid(domain: str) -> str:
    """A fresh, unguessable UID (RFC 5545 §3.8.4.7); store it, never regenerate it (ICS-4)."""
    return f"{uuid.uuid4().hex}@{domain}"


def _bare(address: str) -> str:
    address = address.strip()
    return address[7:] if address.lower().startswith("mailto:") else address


def build_request(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location: str,
    organizer: str,
    organizer_name: str,
    attendees: list[tuple[str, str]],
    timezone: str,
    method: str = "REQUEST",
    now: datetime | None = None,
) -> bytes:
    """One iTIP VCALENDAR (RFC 5546 §3.2.2 REQUEST, §3.2.5 CANCEL) as CRLF bytes.

    Times carry TZID=`timezone` plus its VTIMEZONE (ICS-6); ORGANIZER is a mailto: URI so
    clients show RSVP buttons and replies come back to the shared mailbox (ICS-3).
    `attendees` are (email, display name). `now` fixes DTSTAMP for tests; default: the clock.
    """
    from icalendar import Calendar, Event, vCalAddress
    from icalendar.enums import PARTSTAT, ROLE, STATUS

    from inboxops.responders.meetings.vtimezone import vtimezone

    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        raise ValueError("end must be after start")
    if sequence < 0:
        raise ValueError("sequence must not be negative")
    method = method.upper()
    tz = ZoneInfo(timezone)
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    people = [
        vCalAddress.new(
            _bare(email),
            cn=name or None,
            role=ROLE.REQ_PARTICIPANT,
            partstat=PARTSTAT.NEEDS_ACTION,
            rsvp=True,
        )
        for email, name in attendees
    ]
    event = Event.new(
        uid=uid,
        sequence=sequence,
        stamp=stamp,
        start=start.astimezone(tz),
        end=end.astimezone(tz),
        summary=summary,
        description=description,
        location=location,
        organizer=vCalAddress.new(_bare(organizer), cn=organizer_name or None),
        attendees=people,
        status=STATUS.CANCELLED if method == "CANCEL" else STATUS.CONFIRMED,
    )
    # ICS-6: the zone as yearly rules, which every calendar reads (see vtimezone.py).
    cal = Calendar.new(method=method, prodid=PRODID, subcomponents=[vtimezone(timezone), event])
    # Calendar.new adds a random RFC 7986 calendar UID; iTIP does not use it and it would make
    # the same invitation differ byte for byte between builds.
    cal.pop("UID", None)
    return cal.to_ical()


def parse_calendar(data: bytes) -> CalendarInfo | None:
    """Method, UID, SEQUENCE, DTSTAMP, times and attendee answers of the first VEVENT.

    None when the bytes are not a calendar with an event: replies come from outside, and a
    malformed one must go to a human, not crash the daemon.
    """
    from icalendar import Calendar

    try:
        cal = Calendar.from_ical(data)
        events = cal.events
        if not events:
            return None
        ev = events[0]
        method = cal.get("METHOD")
        stamp = ev.get("DTSTAMP")
        dtstamp = stamp.dt if stamp is not None else None
        people = [
            (_bare(str(a)).lower(), str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper())
            for a in ev.attendees
        ]
        uid = ev.get("UID")
        return CalendarInfo(
            method=str(method).upper() if method is not None else None,
            uid=str(uid) if uid is not None else None,
            sequence=int(ev.sequence or 0),
            dtstamp=dtstamp if isinstance(dtstamp, datetime) else None,
            start=ev.get("DTSTART").dt if ev.get("DTSTART") is not None else None,
            end=ev.get("DTEND").dt if ev.get("DTEND") is not None else None,
            attendees=people,
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        # What icalendar raises on malformed input (UnicodeDecodeError is a ValueError).
        return None
