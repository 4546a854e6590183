"""Invitations carry a VTIMEZONE other calendars read right (ICS-6): yearly RRULE rules.

Each zone's VTIMEZONE is read back by two parsers that use only the component, not their own
time zone database: icalendar's `Timezone.to_tz(lookup_tzid=False)` and vobject (which, like
ical.js, applied no summer time to the RDATE lists written before). Their UTC offsets must equal
zoneinfo's for meetings across many years, in summer and winter, and around the changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from inboxops.responders.meetings import build_request
from inboxops.responders.meetings.vtimezone import posix_rule, rrule_timezone, vtimezone

ZONES = ["Europe/Bucharest", "America/New_York", "Australia/Sydney", "Europe/Dublin",
         "Europe/London", "Asia/Dubai", "Pacific/Chatham", "UTC",
         # changes at an hour outside 0-24 h, i.e. on another weekday than the rule names
         "America/Nuuk", "Asia/Jerusalem", "America/Santiago"]


def moments(key: str) -> list[datetime]:
    """Local wall-clock times to check: mid-month in every month of several years, and the
    hours either side of each change in one year."""
    tz = ZoneInfo(key)
    out = [datetime(year, month, 15, 10, tzinfo=tz)
           for year in (2026, 2027, 2031, 2040) for month in range(1, 13)]
    hour = datetime(2027, 1, 1, tzinfo=UTC)
    while hour.year == 2027:  # find the changes in 2027, and take the wall times 3 h around
        later = hour + timedelta(hours=1)
        if later.astimezone(tz).utcoffset() != hour.astimezone(tz).utcoffset():
            out += [(hour + timedelta(hours=d)).astimezone(tz) for d in (-3, 3)]
        hour += timedelta(hours=1)
    return out


def invitation(start: datetime, key: str) -> bytes:
    return build_request(
        uid="u@example.com", sequence=0, start=start, end=start + timedelta(hours=1),
        summary="Meeting", description="", location="Office", organizer="office@example.com",
        organizer_name="Office", attendees=[("client@example.org", "Client")], timezone=key,
        now=datetime(2026, 11, 30, tzinfo=UTC),
    )


def test_bucharest_is_written_as_two_yearly_rules_and_no_date_lists() -> None:
    data = invitation(datetime(2027, 7, 1, 10, tzinfo=ZoneInfo("Europe/Bucharest")),
                      "Europe/Bucharest")
    (zone,) = Calendar.from_ical(data).walk("VTIMEZONE")
    parts = {part.name: part for part in zone.subcomponents}
    assert set(parts) == {"DAYLIGHT", "STANDARD"}
    assert b"RDATE" not in data
    daylight, standard = parts["DAYLIGHT"], parts["STANDARD"]
    assert daylight["RRULE"]["FREQ"] == ["YEARLY"] and daylight["RRULE"]["BYMONTH"] == [3]
    assert daylight["RRULE"]["BYDAY"] == ["-1SU"]
    assert standard["RRULE"]["BYMONTH"] == [10] and standard["RRULE"]["BYDAY"] == ["-1SU"]
    assert daylight["TZOFFSETFROM"].td == timedelta(hours=2)
    assert daylight["TZOFFSETTO"].td == timedelta(hours=3)
    assert daylight.decoded("DTSTART") == datetime(1970, 3, 29, 3, 0)  # last Sunday, 03:00
    assert standard.decoded("DTSTART") == datetime(1970, 10, 25, 4, 0)


@pytest.mark.parametrize("key", ZONES)
def test_icalendar_reads_the_component_like_zoneinfo(key: str) -> None:
    tz = vtimezone(key).to_tz(lookup_tzid=False)
    for moment in moments(key):
        wall = moment.replace(tzinfo=None)
        assert wall.replace(tzinfo=tz).utcoffset() == moment.utcoffset(), (key, wall)


@pytest.mark.parametrize("key", ZONES)
def test_vobject_places_every_meeting_at_the_right_instant(key: str) -> None:
    for moment in moments(key):
        (event,) = vobject.readOne(invitation(moment, key).decode()).vevent_list
        start = event.dtstart.value
        assert start.replace(tzinfo=None) == moment.replace(tzinfo=None)
        assert start.utcoffset() == moment.utcoffset(), (key, moment)


def test_a_summer_meeting_at_ten_is_seven_utc_in_every_parser() -> None:
    summer = datetime(2027, 7, 14, 10, tzinfo=ZoneInfo("Europe/Bucharest"))
    data = invitation(summer, "Europe/Bucharest")
    (event,) = vobject.readOne(data.decode()).vevent_list
    assert event.dtstart.value.astimezone(UTC) == datetime(2027, 7, 14, 7, tzinfo=UTC)


def test_a_change_on_another_weekday_is_named_by_its_days_of_the_month() -> None:
    # Jerusalem: the Friday before the last Sunday of March (4th Thursday + 26 h).
    built = rrule_timezone("Asia/Jerusalem", "IST-2IDT,M3.4.4/26,M10.5.0")
    assert built is not None
    daylight = Calendar.from_ical(built.to_ical()).walk("DAYLIGHT")[0]
    assert daylight["RRULE"]["BYDAY"] == ["FR"]
    assert daylight["RRULE"]["BYMONTHDAY"] == list(range(23, 30))


def test_rules_that_can_cross_into_another_month_fall_back_to_correct_dates() -> None:
    assert rrule_timezone("X/Y", "AAA-2BBB,M3.1.0/-1,M10.5.0") is None  # may be Feb 28/29
    assert rrule_timezone("X/Y", "AAA-2BBB,J60,M10.5.0") is None
    tz = vtimezone("Asia/Tehran").to_tz(lookup_tzid=False)
    for moment in moments("Asia/Tehran"):
        assert moment.replace(tzinfo=None).replace(tzinfo=tz).utcoffset() == moment.utcoffset()


def test_the_rule_is_read_from_the_zone_database() -> None:
    assert posix_rule("Europe/Bucharest") == "EET-2EEST,M3.5.0/3,M10.5.0/4"
    assert posix_rule("No/Such_Zone") is None
