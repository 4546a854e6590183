"""Checks an invitation as a calendar app would read it: PROTOCOLS.md ICS-1..7, one by one."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from typing import Any

from icalendar import Calendar, Event


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


def check_invitation(raw: bytes, method: str, organizer: str, attendees: set[str],
                     html: bool = False) -> tuple[Calendar, Event]:
    """Assert ICS-1..7 on one sent message; return the parsed calendar and its event."""
    mime = parse(raw)
    # ICS-1: multipart/mixed → multipart/alternative (text/plain … text/calendar last)
    assert mime.get_content_type() == "multipart/mixed"
    alternative = mime.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in alternative.get_payload()]
    assert kinds[0] == "text/plain" and kinds[-1] == "text/calendar", kinds
    assert ("text/html" in kinds) == html, kinds
    part = alternative.get_payload()[-1]
    data = part.get_payload(decode=True)
    # ICS-7: CRLF only (no bare LF in the decoded bytes), written by icalendar
    assert b"\n" not in data.replace(b"\r\n", b"")
    cal = Calendar.from_ical(data)
    # ICS-2: METHOD equals the Content-Type method parameter
    assert part.get_param("method") == method == str(cal["METHOD"])
    (event,) = cal.events
    # ICS-3: ORGANIZER mailto: the shared mailbox, equal to From; ATTENDEEs with RSVP
    assert str(event["ORGANIZER"]).lower() == f"mailto:{organizer}"
    assert mime["From"].addresses[0].addr_spec.lower() == organizer
    people = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]]
    found: dict[str, Any] = {str(a).lower().removeprefix("mailto:"): a for a in people}
    assert set(found) == attendees
    for a in found.values():
        assert a.params["RSVP"] == "TRUE" and a.params["ROLE"] == "REQ-PARTICIPANT"
        assert a.params["PARTSTAT"] == "NEEDS-ACTION"
    for prop in ("UID", "DTSTAMP", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY"):
        assert prop in event, prop
    # ICS-4: DTSTAMP is now, in UTC
    stamp = event["DTSTAMP"].dt
    assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=10)
    # ICS-5 for a cancel
    if method == "CANCEL":
        assert str(event["STATUS"]) == "CANCELLED"
    # ICS-6: no floating times: a TZID with its VTIMEZONE
    for prop in ("DTSTART", "DTEND"):
        tzid = event[prop].params.get("TZID")
        assert tzid and event[prop].dt.tzinfo is not None
        assert any(str(tz["TZID"]) == tzid for tz in cal.walk("VTIMEZONE"))
    return cal, event
