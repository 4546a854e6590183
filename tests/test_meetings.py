"""Unit tests for responders.meetings: time extraction, slot finding, iCalendar build and parse.

All sentences here are written for these tests. The reference moment is Thursday 2026-11-26
10:00 in Europe/Bucharest, the base of the PARSE-8 table in PROTOCOLS.md.
"""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Timezone

from inboxops.responders.meetings import (
    PRODID,
    Proposal,
    WorkingHours,
    build_request,
    extract_times,
    find_slots,
    new_uid,
    parse_calendar,
)

TZ_NAME = "Europe/Bucharest"
TZ = ZoneInfo(TZ_NAME)
REF = datetime(2026, 11, 26, 10, 0, tzinfo=TZ)  # a Thursday


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


def starts(text: str, lang: str, reference: datetime = REF, **kw: str) -> list[tuple[str, bool]]:
    """Proposals as ("YYYY-MM-DD HH:MM", has_time) pairs, easy to read in a failure."""
    found = extract_times(text, reference, lang, TZ_NAME, **kw)  # type: ignore[arg-type]
    return [(p.start.strftime("%Y-%m-%d %H:%M"), p.has_time) for p in found]


# --------------------------------------------------------------------------------------------
# extract_times: the PARSE-8 table (PROTOCOLS.md) as a regression suite


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("next Tuesday at 3pm", "en", [("2026-12-01 15:00", True)]),
        ("marți ora 14:00", "ro", [("2026-12-01 14:00", True)]),
        # dateparser alone: 2026-11-14 00:00 (the 14 read as a day, in the past)
        ("marți la ora 14", "ro", [("2026-12-01 14:00", True)]),
        # dateparser alone: None
        ("pe 3 decembrie la 14:30", "ro", [("2026-12-03 14:30", True)]),
        # dateparser with en: 3 February
        ("02/03/2027", "ro", [("2027-03-02 00:00", False)]),
    ],
)
def test_parse8_table(text: str, lang: str, expected: list[tuple[str, bool]]) -> None:
    assert starts(text, lang) == expected


def test_search_dates_pitfalls_we_and_may_are_not_dates() -> None:
    assert starts("We will send the offer and we may call you later.", "en") == []
    assert starts("Mai avem nevoie de 2 documente, vă rog.", "ro") == []
    assert starts("Mai 2 zile și terminăm.", "ro") == []


def test_may_is_a_month_next_to_a_day() -> None:
    assert starts("Could we meet on May 5 at 10am?", "en") == [("2027-05-05 10:00", True)]
    assert starts("Vă propun 5 mai la ora 11.", "ro") == [("2027-05-05 11:00", True)]


def test_numeric_date_order_follows_language_and_override() -> None:
    assert starts("02/03/2027", "en") == [("2027-02-03 00:00", False)]
    assert starts("02/03/2027", "en", date_order="DMY") == [("2027-03-02 00:00", False)]
    assert starts("12/03", "ro") == [("2027-03-12 00:00", False)]
    assert starts("1/25/27", "en") == [("2027-01-25 00:00", False)]  # month-first is obvious
    assert starts("Ne vedem pe 10.12.2026 la ora 13:00?", "ro") == [("2026-12-10 13:00", True)]


def test_numbers_that_are_not_dates() -> None:
    assert starts("Support is available 24/7, just call.", "en") == []
    assert starts("Am plătit factura nr. 12/03 ieri.", "ro") == []
    assert starts("It takes 1/2 hour to set up.", "en") == []


# --------------------------------------------------------------------------------------------
# extract_times: Romanian spelling


def test_cedilla_and_comma_below_read_the_same() -> None:
    comma = starts("marți la ora 14", "ro")
    assert comma == [("2026-12-01 14:00", True)]
    assert starts("marţi la ora 14", "ro") == comma  # U+0163, as ISO-8859-2 mail decodes
    assert starts("MARŢI LA ORA 14", "ro") == comma
    # pre-1993 spelling (î for â) and no diacritics at all read the same
    saturday = [("2026-11-28 10:00", True)]
    assert starts("sâmbătă la ora 10", "ro") == saturday
    assert starts("sîmbătă la ora 10", "ro") == saturday
    assert starts("sambata la ora 10", "ro") == saturday


def test_text_without_diacritics() -> None:
    assert starts("marti la ora 14", "ro") == [("2026-12-01 14:00", True)]
    assert starts("maine la 10", "ro") == [("2026-11-27 10:00", True)]
    assert starts("maine dimineata", "ro") == [("2026-11-27 09:00", True)]
    assert starts("joi la 10:30", "ro") == [("2026-12-03 10:30", True)]


def test_romanian_luni_as_months_is_not_monday() -> None:
    assert starts("Lucrăm la proiect de 3 luni.", "ro") == []
    assert starts("Luni la ora 11 vă convine?", "ro") == [("2026-11-30 11:00", True)]


# --------------------------------------------------------------------------------------------
# extract_times: phrases


def test_alternatives_share_the_time() -> None:
    assert starts("Tuesday or Wednesday at 3pm", "en") == [
        ("2026-12-01 15:00", True),
        ("2026-12-02 15:00", True),
    ]
    assert starts("Putem marți sau miercuri, la ora 10?", "ro") == [
        ("2026-12-01 10:00", True),
        ("2026-12-02 10:00", True),
    ]


def test_each_day_keeps_its_own_time() -> None:
    assert starts("Would Monday at 10 or Tuesday at 2 suit you?", "en") == [
        ("2026-11-30 10:00", True),
        ("2026-12-01 14:00", True),
    ]


def test_tomorrow_and_parts_of_day() -> None:
    assert starts("tomorrow at 10am", "en") == [("2026-11-27 10:00", True)]
    assert starts("mâine dimineață", "ro") == [("2026-11-27 09:00", True)]
    assert starts("mâine după-amiază", "ro") == [("2026-11-27 14:00", True)]
    assert starts("Could we talk tomorrow afternoon?", "en") == [("2026-11-27 14:00", True)]
    # "at 4" in the afternoon is 16:00; a stated hour beats the part of day
    assert starts("tomorrow afternoon around 4", "en") == [("2026-11-27 16:00", True)]
    assert starts("tonight at 8", "en") == [("2026-11-26 20:00", True)]
    assert starts("mâine dimineață la 7", "ro") == [("2026-11-27 07:00", True)]


def test_a_time_alone_is_its_next_occurrence() -> None:
    assert starts("Can we talk at 11:30?", "en") == [("2026-11-26 11:30", True)]
    assert starts("Vă pot suna la ora 9?", "ro") == [("2026-11-27 09:00", True)]


def test_recurrence_is_not_a_proposal() -> None:
    assert starts("Our team meets every Monday at 10.", "en") == []
    assert starts("We have stand-ups on Mondays at 9:30.", "en") == []


def test_explicit_dates_and_time_forms() -> None:
    assert starts("3 December at 14:30", "en") == [("2026-12-03 14:30", True)]
    assert starts("How about December 1st at 2pm?", "en") == [("2026-12-01 14:00", True)]
    assert starts("Vineri 4 decembrie, ora 9.30", "ro") == [("2026-12-04 09:30", True)]
    # an explicit date wins over the weekday and the relative word next to it
    assert starts("tomorrow, Friday 27 November at 11:00", "en") == [("2026-11-27 11:00", True)]


def test_time_ranges_give_the_start() -> None:
    assert starts("Wednesday 2 December from 1:00 - 3:00 PM", "en") == [("2026-12-02 13:00", True)]
    assert starts("Miercuri de la 14:00 la 15:30", "ro") == [("2026-12-02 14:00", True)]
    assert starts("joi, 3 decembrie, între orele 10 și 12", "ro") == [("2026-12-03 10:00", True)]


def test_next_week_is_its_monday_date_only() -> None:
    assert starts("Can we meet next week?", "en") == [("2026-11-30 00:00", False)]
    assert starts("Tuesday next week at 11", "en") == [("2026-12-01 11:00", True)]
    assert starts("săptămâna viitoare, joi la 12", "ro") == [("2026-12-03 12:00", True)]


def test_offsets_in_days_weeks_months() -> None:
    assert starts("Could we meet in two weeks?", "en") == [("2026-12-10 00:00", False)]
    assert starts("peste 3 zile la ora 14", "ro") == [("2026-11-29 14:00", True)]
    assert starts("peste două săptămâni", "ro") == [("2026-12-10 00:00", False)]
    assert starts("in 1 month", "en") == [("2026-12-26 00:00", False)]


def test_a_day_without_a_time_is_date_only() -> None:
    assert starts("Maybe Tuesday?", "en") == [("2026-12-01 00:00", False)]


def test_bare_day_beside_concrete_times_is_context() -> None:
    # A date line or a day mentioned in passing is not a second proposal.
    text = "Thursday, 26 November 2026\n\nCould we meet on Friday at 11?"
    assert starts(text, "en") == [("2026-11-27 11:00", True)]


def test_text_without_a_time_gives_nothing() -> None:
    assert starts("Thank you for the quick answer, we will read the offer.", "en") == []
    assert starts("Mulțumesc, aștept oferta și revin cu un răspuns.", "ro") == []
    assert starts("", "en") == []


def test_never_in_the_past_of_the_reference() -> None:
    assert starts("today at 9", "en") == []  # the reference is 10:00
    assert starts("today at 11", "en") == [("2026-11-26 11:00", True)]
    assert starts("The call last Tuesday at 3 went well.", "en") == []
    # a fully explicit date is read as written, even in the past (find_slots refuses it)
    assert starts("We met on 3 March 2025 at 10.", "en") == [("2025-03-03 10:00", True)]
    # a day-month without a year is the next one to come
    assert starts("1 November at 10", "en") == [("2027-11-01 10:00", True)]
    for p in extract_times("Monday, Tuesday or Wednesday at 10", REF, "en", TZ_NAME):
        assert p.start >= REF


def test_refused_days_and_replaced_times_are_left_out() -> None:
    assert starts("I can't do Monday at 10, but Tuesday at 11 works.", "en") == [
        ("2026-12-01 11:00", True)
    ]
    assert starts("Luni nu pot, dar marți la ora 11 da.", "ro") == [("2026-12-01 11:00", True)]
    assert starts("The call is moved from Monday at 10 to Wednesday at 11.", "en") == [
        ("2026-12-02 11:00", True)
    ]


def test_duplicates_removed_order_kept() -> None:
    assert starts("Friday at 3pm? To confirm: Friday at 3pm, or else Monday at 9.", "en") == [
        ("2026-11-27 15:00", True),
        ("2026-11-30 09:00", True),
    ]


def test_result_is_aware_in_the_requested_timezone() -> None:
    # 22:30 UTC is already Friday 00:30 in Bucharest, so "tomorrow" is Saturday.
    late = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)
    (p,) = extract_times("tomorrow at 10", late, "en", TZ_NAME)
    assert p.start == at(2026, 11, 28, 10)
    assert p.start.tzinfo == TZ
    assert p.start.utcoffset() == timedelta(hours=2)


def test_fast_enough_for_every_message() -> None:
    text = (
        "Bună ziua,\n\nVă mulțumim pentru ofertă. Am putea discuta marți sau miercuri la ora "
        "15? Dacă nu, pe 3 decembrie dimineață. Suntem 5 persoane.\n\nCu stimă,\nAna\n"
        "Tel: 0721 123 456\n"
    ) * 3
    extract_times(text, REF, "ro", TZ_NAME)  # warm-up: dateparser and regex caches
    runs = 20
    t0 = clock.perf_counter()
    for _ in range(runs):
        extract_times(text, REF, "ro", TZ_NAME)
    assert (clock.perf_counter() - t0) / runs < 0.05


# --------------------------------------------------------------------------------------------
# find_slots

HOURS = WorkingHours(timezone=TZ_NAME)
NOW = REF


def test_free_client_proposal_is_used_first() -> None:
    slots = find_slots([Proposal(at(2026, 12, 1, 14), True)], [], HOURS, NOW)
    assert slots[0].from_client is True
    assert (slots[0].start, slots[0].end) == (at(2026, 12, 1, 14), at(2026, 12, 1, 15))
    assert len(slots) == 3
    assert all(not s.from_client for s in slots[1:])
    assert all(s.start >= slots[0].start for s in slots[1:])


def test_busy_proposal_gives_nearest_alternatives_with_buffer() -> None:
    busy = [(at(2026, 12, 1, 13), at(2026, 12, 1, 15))]
    slots = find_slots([Proposal(at(2026, 12, 1, 14), True)], busy, HOURS, NOW)
    assert not any(s.from_client for s in slots)
    # 15:00 and 15:15 are inside the 15-minute buffer; the 30-minute grid gives 15:30.
    assert [s.start for s in slots] == [
        at(2026, 12, 1, 15, 30),
        at(2026, 12, 2, 9),
        at(2026, 12, 2, 10),
    ]


def test_buffer_edges() -> None:
    proposal = [Proposal(at(2026, 12, 1, 14), True)]
    just_clear = [(at(2026, 12, 1, 12), at(2026, 12, 1, 13, 45))]
    too_close = [(at(2026, 12, 1, 12), at(2026, 12, 1, 13, 50))]
    after_close = [(at(2026, 12, 1, 15, 10), at(2026, 12, 1, 16))]
    assert find_slots(proposal, just_clear, HOURS, NOW)[0].from_client is True
    assert find_slots(proposal, too_close, HOURS, NOW)[0].from_client is False
    assert find_slots(proposal, after_close, HOURS, NOW)[0].from_client is False


def test_weekend_is_skipped() -> None:
    saturday = Proposal(at(2026, 11, 28, 11), True)
    slots = find_slots([saturday], [], HOURS, NOW)
    assert not any(s.from_client for s in slots)
    assert slots[0].start == at(2026, 11, 30, 9)  # Monday
    assert all(s.start.isoweekday() <= 5 for s in slots)


def test_holiday_is_skipped() -> None:
    hours = WorkingHours(timezone=TZ_NAME, holidays=(date(2026, 12, 1),))
    slots = find_slots([Proposal(at(2026, 12, 1, 10), True)], [], hours, NOW)
    assert not any(s.from_client for s in slots)
    assert all(s.start.date() != date(2026, 12, 1) for s in slots)
    assert slots[0].start == at(2026, 12, 2, 9)


def test_outside_hours_gives_alternatives() -> None:
    evening = find_slots([Proposal(at(2026, 12, 1, 18), True)], [], HOURS, NOW)
    assert not any(s.from_client for s in evening)
    assert evening[0].start == at(2026, 12, 2, 9)
    # starts inside hours but would end after 17:00
    late = find_slots([Proposal(at(2026, 12, 1, 16, 30), True)], [], HOURS, NOW)
    assert late[0].from_client is False
    assert all(s.end.time() <= time(17) for s in late)


def test_date_only_proposal_takes_the_first_free_slot_that_day() -> None:
    busy = [(at(2026, 12, 1, 9), at(2026, 12, 1, 12))]
    slots = find_slots([Proposal(at(2026, 12, 1), False)], busy, HOURS, NOW)
    assert slots[0].start == at(2026, 12, 1, 12, 30)
    assert slots[0].from_client is False


def test_past_proposal_is_not_used() -> None:
    slots = find_slots([Proposal(at(2026, 11, 26, 9), True)], [], HOURS, NOW)
    assert not any(s.from_client for s in slots)
    assert all(s.start > NOW for s in slots)


def test_without_proposals_start_from_now_rounded_up() -> None:
    now = at(2026, 11, 26, 10, 10)
    slots = find_slots([], [], HOURS, now)
    assert [s.start for s in slots] == [
        at(2026, 11, 26, 10, 30),
        at(2026, 11, 26, 11, 30),
        at(2026, 11, 26, 12, 30),
    ]
    after_hours = find_slots([], [], HOURS, at(2026, 11, 27, 16, 10))  # Friday late
    assert after_hours[0].start == at(2026, 11, 30, 9)


def test_every_client_alternative_that_fits_is_kept() -> None:
    proposals = [Proposal(at(2026, 12, 1, 15), True), Proposal(at(2026, 12, 2, 15), True)]
    slots = find_slots(proposals, [], HOURS, NOW)
    assert [(s.start, s.from_client) for s in slots[:2]] == [
        (at(2026, 12, 1, 15), True),
        (at(2026, 12, 2, 15), True),
    ]


def test_search_window_and_count() -> None:
    all_busy = [(at(2026, 11, 26), at(2026, 12, 31))]
    assert find_slots([], all_busy, HOURS, NOW) == []
    assert len(find_slots([], [], HOURS, NOW, count=5)) == 5
    assert find_slots([], [], HOURS, NOW, count=0) == []


def test_deterministic_and_rejects_naive_now() -> None:
    args = ([Proposal(at(2026, 12, 1, 14), True)], [(at(2026, 12, 1, 10), at(2026, 12, 1, 11))])
    assert find_slots(*args, HOURS, NOW) == find_slots(*args, HOURS, NOW)
    with pytest.raises(ValueError):
        find_slots([], [], HOURS, datetime(2026, 11, 26, 10))


def test_working_hours_validation() -> None:
    with pytest.raises(ValueError):
        WorkingHours(day_start=time(17), day_end=time(9))
    with pytest.raises(ValueError):
        WorkingHours(work_days=(0, 1))


# --------------------------------------------------------------------------------------------
# build_request / parse_calendar

STAMP = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def request(**overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "uid": "0123abcd@example.ro",
        "sequence": 0,
        "start": at(2026, 12, 1, 14),
        "end": at(2026, 12, 1, 15),
        "summary": "Întâlnire ofertă",
        "description": "Discutăm oferta; aducem mostre, cataloage.\nA doua linie.",
        "location": "Str. Exemplu 1, București",
        "organizer": "office@example.ro",
        "organizer_name": "Biroul Ștefan",
        "attendees": [("Client@Example.com", "Ana Pop"), ("staff@example.ro", "Ion Țăranu")],
        "timezone": TZ_NAME,
        "now": STAMP,
    }
    kwargs.update(overrides)
    return build_request(**kwargs)  # type: ignore[arg-type]


def test_request_round_trip() -> None:
    cal = Calendar.from_ical(request())
    assert cal["METHOD"] == "REQUEST"
    assert cal["PRODID"] == PRODID
    assert cal["VERSION"] == "2.0"
    (ev,) = cal.events
    assert ev["UID"] == "0123abcd@example.ro"
    assert ev.sequence == 0
    assert ev["STATUS"] == "CONFIRMED"
    assert ev.DTSTAMP == STAMP
    assert ev["SUMMARY"] == "Întâlnire ofertă"
    assert ev["DESCRIPTION"] == "Discutăm oferta; aducem mostre, cataloage.\nA doua linie."
    assert ev["LOCATION"] == "Str. Exemplu 1, București"


def test_organizer_and_attendees() -> None:
    (ev,) = Calendar.from_ical(request(organizer="mailto:office@example.ro")).events
    organizer = ev["ORGANIZER"]
    assert str(organizer) == "mailto:office@example.ro"  # ICS-3: mailto:, not doubled
    assert organizer.params["CN"] == "Biroul Ștefan"
    attendees = ev.attendees
    assert [a.email.lower() for a in attendees] == ["client@example.com", "staff@example.ro"]
    for a, name in zip(attendees, ["Ana Pop", "Ion Țăranu"], strict=True):
        assert str(a).startswith("mailto:")
        assert a.params["CN"] == name
        assert a.params["RSVP"] == "TRUE"
        assert a.params["PARTSTAT"] == "NEEDS-ACTION"
        assert a.params["ROLE"] == "REQ-PARTICIPANT"


def test_tzid_and_vtimezone_present() -> None:
    data = request()
    assert b"DTSTART;TZID=Europe/Bucharest:20261201T140000" in data
    cal = Calendar.from_ical(data)
    (ev,) = cal.events
    assert ev["DTSTART"].params["TZID"] == TZ_NAME
    assert ev["DTEND"].params["TZID"] == TZ_NAME
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == [TZ_NAME]


def test_crlf_only() -> None:
    data = request(description="line one\nline two\r\nline three " + "x" * 200)
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")


def test_dst_offset_after_march_switch() -> None:
    # Romania moves to EEST (+03:00) on 2027-03-28.
    data = request(start=at(2027, 3, 30, 10), end=at(2027, 3, 30, 11))
    cal = Calendar.from_ical(data)
    (ev,) = cal.events
    start = ev.start
    assert isinstance(start, datetime)
    assert start.utcoffset() == timedelta(hours=3)
    assert start.astimezone(UTC) == datetime(2027, 3, 30, 7, 0, tzinfo=UTC)
    # The VTIMEZONE itself (what clients without tz data use) says the same.
    (component,) = cal.walk("VTIMEZONE")
    assert isinstance(component, Timezone)
    vtz = component.to_tz(lookup_tzid=False)
    assert datetime(2027, 3, 30, 10, tzinfo=vtz).utcoffset() == timedelta(hours=3)
    assert datetime(2027, 3, 26, 10, tzinfo=vtz).utcoffset() == timedelta(hours=2)


def test_start_in_another_zone_is_written_in_the_meeting_zone() -> None:
    data = request(start=datetime(2026, 12, 1, 12, tzinfo=UTC), end=at(2026, 12, 1, 15))
    assert b"DTSTART;TZID=Europe/Bucharest:20261201T140000" in data


def test_cancel() -> None:
    cal = Calendar.from_ical(request(method="CANCEL", sequence=1))
    (ev,) = cal.events
    assert cal["METHOD"] == "CANCEL"
    assert ev["STATUS"] == "CANCELLED"
    assert ev.sequence == 1
    assert ev["UID"] == "0123abcd@example.ro"


def test_request_rejects_bad_times() -> None:
    with pytest.raises(ValueError):
        request(end=at(2026, 12, 1, 13))
    with pytest.raises(ValueError):
        request(start=datetime(2026, 12, 1, 14))


def test_parse_calendar_round_trip() -> None:
    info = parse_calendar(request(sequence=2))
    assert info is not None
    assert info.method == "REQUEST"
    assert info.uid == "0123abcd@example.ro"
    assert info.sequence == 2
    assert info.dtstamp == STAMP
    assert info.start == at(2026, 12, 1, 14)
    assert info.end == at(2026, 12, 1, 15)
    assert info.attendees == [
        ("client@example.com", "NEEDS-ACTION"),
        ("staff@example.ro", "NEEDS-ACTION"),
    ]


# A REPLY as a client sends it: upper-case MAILTO, lower-case PARTSTAT, UTC times.
REPLY = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Client//EN\r\nMETHOD:REPLY\r\n"
    b"BEGIN:VEVENT\r\nUID:0123abcd@example.ro\r\nSEQUENCE:1\r\nDTSTAMP:20261127T090000Z\r\n"
    b"DTSTART:20261201T120000Z\r\nDTEND:20261201T130000Z\r\n"
    b"ORGANIZER:mailto:office@example.ro\r\n"
    b"ATTENDEE;PARTSTAT=accepted;CN=Ana Pop:MAILTO:Client@Example.COM\r\n"
    b"END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_parse_calendar_reply() -> None:
    info = parse_calendar(REPLY)
    assert info is not None
    assert info.method == "REPLY"
    assert info.sequence == 1
    assert info.dtstamp == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert info.attendees == [("client@example.com", "ACCEPTED")]


@pytest.mark.parametrize(
    "data",
    [b"", b"not a calendar", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", b"\xff\xfe"],
)
def test_parse_calendar_unparseable(data: bytes) -> None:
    assert parse_calendar(data) is None


def test_new_uid() -> None:
    uids = {new_uid("example.ro") for _ in range(1000)}
    assert len(uids) == 1000
    assert all(u.endswith("@example.ro") and len(u) > 30 for u in uids)
