"""Choosing a slot: working hours across the daylight-saving switches, staff busy times from an
iCalendar feed, staff routing and the place. All texts are written for these tests."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from configs import maildir_config
from helpers import invoke

from inboxops.config import ConfigError, MeetingRoute, MeetingsConfig, load
from inboxops.errors import InboxopsError
from inboxops.responders.busy import busy_spans, feed_busy, read_feed
from inboxops.responders.meeting import choose_place, route_staff
from inboxops.responders.meetings import Proposal, WorkingHours, find_slots
from inboxops.responders.meetings.place import requested_place

TZ_NAME = "Europe/Bucharest"
TZ = ZoneInfo(TZ_NAME)
HOURS = WorkingHours(timezone=TZ_NAME, holidays=(date(2027, 3, 31),))
# Romania switches on the last Sunday of March (+02:00 → +03:00) and of October (back).
SWITCHES = (date(2027, 3, 28), date(2027, 10, 31))


def local(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=TZ)


def assert_good(slots: list, busy: list[tuple[datetime, datetime]], now: datetime,
                hours: WorkingHours = HOURS) -> None:
    """Never outside working hours, never in the past, never on top of a busy interval."""
    for s in slots:
        start, end = s.start.astimezone(TZ), s.end.astimezone(TZ)
        assert start.isoweekday() in hours.work_days and start.date() not in hours.holidays
        assert hours.day_start <= start.time() and end.time() <= hours.day_end
        assert start.date() == end.date()
        assert end - start == hours.duration  # elapsed time, also on a switch day
        assert s.start > now
        for b0, b1 in busy:
            assert end + hours.buffer <= b0 or start - hours.buffer >= b1, (s, b0, b1)


@pytest.mark.parametrize("switch", SWITCHES, ids=["march", "october"])
def test_daylight_saving_week_keeps_every_rule(switch: date) -> None:
    rng = random.Random(switch.toordinal())  # reproducible
    week = [switch + timedelta(days=k) for k in range(-6, 8)]
    for _ in range(300):
        now = local(rng.choice(week), rng.randrange(0, 24), rng.choice((0, 10, 30, 59)))
        busy = []
        for _ in range(rng.randrange(0, 12)):
            b0 = local(rng.choice(week), rng.randrange(7, 19), rng.choice((0, 15, 30, 45)))
            busy.append((b0, b0 + timedelta(minutes=rng.choice((30, 60, 90, 180)))))
        proposals = [
            Proposal(local(rng.choice(week), rng.randrange(6, 21), rng.choice((0, 30))),
                     rng.random() < 0.8)
            for _ in range(rng.randrange(0, 4))
        ]
        slots = find_slots(proposals, busy, HOURS, now, count=3)
        assert_good(slots, busy, now)
        starts = sorted(s.start for s in slots)
        assert all(a.end <= b.start or b.end <= a.start
                   for i, a in enumerate(slots) for b in slots[i + 1:])
        assert len(starts) == len(set(starts))


def test_switch_night_offsets_are_right() -> None:
    # Monday after the March switch: 10:00 is +03:00; the Friday before it is +02:00.
    monday = find_slots([Proposal(local(date(2027, 3, 29), 10), True)], [],
                        HOURS, local(date(2027, 3, 26), 12))
    assert monday[0].from_client and monday[0].start.utcoffset() == timedelta(hours=3)
    assert monday[0].start.astimezone(UTC).hour == 7
    # A client on UTC asking for 07:00 UTC on the Monday after the October switch: 09:00 local.
    ask = datetime(2027, 11, 1, 7, 0, tzinfo=UTC)
    (first, *_) = find_slots([Proposal(ask, True)], [], HOURS, local(date(2027, 10, 29), 12))
    assert first.from_client and first.start.astimezone(TZ).hour == 9
    # 06:00 UTC the same day is 08:00 local: outside hours, so not the client's time
    early = find_slots([Proposal(ask - timedelta(hours=1), True)], [], HOURS,
                       local(date(2027, 10, 29), 12))
    assert not early[0].from_client and early[0].start.astimezone(TZ).time() >= time(9)


FEED = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//staff calendar//EN\r
BEGIN:VEVENT\r
UID:standup@test\r
DTSTAMP:20270301T000000Z\r
DTSTART;TZID=Europe/Bucharest:20270329T090000\r
DTEND;TZID=Europe/Bucharest:20270329T100000\r
RRULE:FREQ=DAILY;COUNT=5\r
SUMMARY:Standup\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:off@test\r
DTSTAMP:20270301T000000Z\r
DTSTART;VALUE=DATE:20270401\r
SUMMARY:Day off\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:free@test\r
DTSTAMP:20270301T000000Z\r
DTSTART:20270330T120000Z\r
DTEND:20270330T130000Z\r
TRANSP:TRANSPARENT\r
SUMMARY:Reminder, not busy\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cancelled@test\r
DTSTAMP:20270301T000000Z\r
DTSTART:20270330T080000Z\r
DTEND:20270330T090000Z\r
STATUS:CANCELLED\r
END:VEVENT\r
BEGIN:VFREEBUSY\r
UID:fb@test\r
DTSTAMP:20270301T000000Z\r
FREEBUSY;FBTYPE=BUSY:20270330T110000Z/PT2H\r
END:VFREEBUSY\r
END:VCALENDAR\r
"""


def test_feed_busy_times_expand_recurrences_and_skip_free_ones(tmp_path: Path) -> None:
    now = local(date(2027, 3, 26), 12)
    spans = busy_spans(FEED.encode(), now, now + timedelta(days=14), TZ_NAME)
    assert spans == [
        *[(local(date(2027, 3, 29 + k), 9), local(date(2027, 3, 29 + k), 10)) for k in range(2)],
        (datetime(2027, 3, 30, 11, tzinfo=UTC), datetime(2027, 3, 30, 13, tzinfo=UTC)),
        (local(date(2027, 3, 31), 9), local(date(2027, 3, 31), 10)),
        (local(date(2027, 4, 1), 0), local(date(2027, 4, 2), 0)),
        (local(date(2027, 4, 1), 9), local(date(2027, 4, 1), 10)),
        (local(date(2027, 4, 2), 9), local(date(2027, 4, 2), 10)),
    ]
    path = tmp_path / "staff.ics"
    path.write_text(FEED, encoding="utf-8")
    busy = feed_busy(str(path), TZ_NAME, now, 14)
    assert busy == spans
    # The client's 09:00 on Monday is taken by the standup; the whole of 1 April is off.
    slots = find_slots([Proposal(local(date(2027, 3, 29), 9), True),
                        Proposal(local(date(2027, 4, 1), 0), False)], busy, HOURS, now)
    assert not any(s.from_client for s in slots)
    assert_good(slots, busy, now)


def test_an_unreadable_feed_is_an_error_not_an_empty_calendar(tmp_path: Path) -> None:
    with pytest.raises(InboxopsError, match="busy_calendar: cannot read"):
        read_feed(str(tmp_path / "missing.ics"))
    bad = tmp_path / "bad.ics"
    bad.write_text("this is not a calendar")
    with pytest.raises(InboxopsError, match="not a readable iCalendar feed"):
        feed_busy(str(bad), TZ_NAME, datetime.now(UTC), 14)
    assert feed_busy("", TZ_NAME, datetime.now(UTC), 14) == []


ROUTED = MeetingsConfig(
    staff=["office@example.com"],
    routes=[
        MeetingRoute(staff=["sales@example.com"], keywords=["ofertă", "price list"]),
        MeetingRoute(staff=["key@example.com", "boss@example.com"], domains=["big.example"]),
    ],
    video_link="https://meet.example.com/office",
    location="Office, Str. Test 1",
)


def test_staff_routing_by_keyword_then_domain_in_config_order() -> None:
    assert route_staff(ROUTED, "Aș dori o ofertă pentru birou", "a@x.ro") == ["sales@example.com"]
    assert route_staff(ROUTED, "oferta (fără diacritice)", "a@x.ro") == ["sales@example.com"]
    assert route_staff(ROUTED, "Send the price\nlist, please", "a@x.ro") == ["sales@example.com"]
    assert route_staff(ROUTED, "Hello", "ceo@mail.big.example") == [
        "key@example.com", "boss@example.com"]
    assert route_staff(ROUTED, "an offer, please", "ceo@big.example") == [
        "key@example.com", "boss@example.com"]
    assert route_staff(ROUTED, "prices and listings", "a@notbig.example") == [
        "office@example.com"]


def test_route_config_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[meetings.routes]]\nstaff = ["sales@example.com"]\n')
    with pytest.raises(ConfigError, match=r"\[meetings\] routes.0: .*keywords or domains"):
        load(path)
    path.write_text('[[meetings.routes]]\nstaff = ["nobody"]\nkeywords = ["x"]\n')
    with pytest.raises(ConfigError, match=r"\[meetings\] routes.0.staff: 'nobody' is not"):
        load(path)


def test_place_from_the_clients_words() -> None:
    assert choose_place(ROUTED, "Can we meet on Tuesday at 3?", "en") == "Office, Str. Test 1"
    assert choose_place(ROUTED, "Could we do it as a video call?", "en") == ROUTED.video_link
    assert choose_place(ROUTED, "Putem vorbi online joi?", "ro") == ROUTED.video_link
    assert choose_place(ROUTED, "Let us meet at your office on Monday.", "en") == ROUTED.location
    assert choose_place(
        ROUTED, "Please come to us at 12 Oak Street on Monday at 2pm.", "en") == "12 Oak Street"
    assert choose_place(
        ROUTED, "Vă așteptăm la sediul nostru din Cluj, Str. Lungă nr. 5, marți la 14.", "ro"
    ) == "Cluj, Str. Lungă nr. 5"
    assert choose_place(ROUTED, "Meet at our office at 3pm?", "en") == "at the client's office"
    no_link = MeetingsConfig(location="Office")
    assert choose_place(no_link, "a Zoom call? on Zoom please", "en") == "Office"
    assert requested_place("Address: Str. Semnătură 1 (our signature)") is None


def test_check_reads_the_busy_calendar(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    feed = tmp_path / "staff.ics"
    config.write_text(config.read_text().replace(
        "[meetings]\n", f'[meetings]\nbusy_calendar = "{feed}"\n', 1))
    missing = invoke(config, "check")
    assert missing.exit_code == 1 and "busy calendar: FAILED: [meetings] busy_calendar" in \
        missing.output
    soon = datetime.now(UTC) + timedelta(days=1)
    feed.write_text(FEED.replace("20270330T110000Z", f"{soon:%Y%m%dT%H%M%SZ}"))
    ok = invoke(config, "check")
    assert ok.exit_code == 0, ok.output
    assert "busy calendar: ok: 1 busy interval(s) in the next 14 days" in ok.output
