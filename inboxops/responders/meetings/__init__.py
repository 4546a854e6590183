"""Meetings: read proposed times, choose free slots, write and read iTIP invitations.

Everything in this package is pure: values in, values out, no clock and no I/O (the caller
passes `now` and the busy intervals). One module per step:

* `times` (with `vocab` and `scan`): proposed starts from en/ro client text.
* `slots`: the client's time when free, else the nearest free slots in working hours.
* `itip`: REQUEST/CANCEL built and REPLY read with icalendar (RFC 5545/5546).
"""

from __future__ import annotations

from inboxops.responders.meetings.itip import (
    PRODID,
    CalendarInfo,
    build_request,
    new_uid,
    parse_calendar,
)
from inboxops.responders.meetings.slots import WorkingHours, find_slots
from inboxops.responders.meetings.times import MAX_PROPOSALS, MAX_TEXT, Proposal, extract_times

__all__ = [
    "MAX_PROPOSALS",
    "MAX_TEXT",
    "PRODID",
    "CalendarInfo",
    "Proposal",
    "WorkingHours",
    "build_request",
    "extract_times",
    "find_slots",
    "new_uid",
    "parse_calendar",
]
