"""ICS-9 answers: on the store, which REPLYs and other iTIP answers count and which go to a
human; and one forged COUNTER through the whole daemon (real Dovecot and aiosmtpd)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar, Event, vCalAddress

from inboxops.intake.parse import parse_message
from inboxops.outbound.bookings import record_answer
from inboxops.store import Store

CLIENT, STAFF = "ana@client.example", "staff@example.test"
UID = "meeting-1@example.test"


def store_with_meeting(sequence: int = 1) -> tuple[Store, int]:
    store = Store(":memory:")
    pk = store.record_incoming("test", "INBOX", "1", b"Subject: x\r\n\r\nx")
    assert pk is not None
    store.conn.execute(
        'INSERT INTO meetings (message_pk, uid, sequence, start, "end", timezone, from_client,'
        " alternatives, location, summary, client_addr, client_name, staff, attendees, state,"
        " created_at) VALUES (?, ?, ?, '2030-01-08T10:00:00+02:00', '2030-01-08T11:00:00+02:00',"
        " 'Europe/Bucharest', 1, '[]', 'Office', 'Meeting', ?, 'Ana', ?, ?, 'invited', 'now')",
        (pk, UID, sequence, CLIENT, json.dumps([STAFF]),
         json.dumps({CLIENT: "NEEDS-ACTION", STAFF: "NEEDS-ACTION"})),
    )
    return store, pk


def reply(sender: str, partstat: str, sequence: int, stamp: datetime,
          attendees: tuple[str, ...] | None = None, method: str = "REPLY") -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//test//app//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", UID)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    for who in attendees or (sender,):
        address = vCalAddress(f"MAILTO:{who.upper()}")  # case and MAILTO: must not matter
        address.params["PARTSTAT"] = partstat
        event.add("attendee", address)
    cal.add_component(event)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "office@example.test"
    msg["Subject"] = "answer"
    msg.set_content(cal.to_ical(), maintype="text", subtype="calendar",
                    params={"method": method})
    return msg.as_bytes()


def status(store: Store) -> dict[str, str]:
    row = store.one("SELECT attendees FROM meetings")
    assert row is not None
    return dict(json.loads(row["attendees"]))


def answer(store: Store, pk: int, raw: bytes) -> str | None:
    return record_answer(store, pk, parse_message(raw))


T0 = datetime(2030, 1, 2, 12, tzinfo=UTC)


def test_later_dtstamp_wins_on_equal_sequence_whatever_the_arrival_order() -> None:
    store, pk = store_with_meeting()
    assert answer(store, pk, reply(CLIENT, "TENTATIVE", 1, T0 + timedelta(hours=1))) is None
    late_arrival = answer(store, pk, reply(CLIENT, "DECLINED", 1, T0))
    assert late_arrival is not None and "older" in late_arrival
    assert status(store)[CLIENT] == "TENTATIVE"
    assert answer(store, pk, reply(CLIENT, "ACCEPTED", 1, T0 + timedelta(hours=2))) is None
    assert status(store)[CLIENT] == "ACCEPTED"


def test_stale_spoofed_and_group_answers_are_not_counted() -> None:
    store, pk = store_with_meeting(sequence=2)
    assert "older version" in (answer(store, pk, reply(CLIENT, "ACCEPTED", 1, T0)) or "")
    spoof = answer(store, pk, reply(STAFF, "DECLINED", 2, T0, attendees=(CLIENT,)))
    assert spoof is not None and "not from the attendee" in spoof
    both = answer(store, pk, reply(CLIENT, "ACCEPTED", 2, T0, attendees=(CLIENT, STAFF)))
    assert both is not None
    assert status(store) == {CLIENT: "NEEDS-ACTION", STAFF: "NEEDS-ACTION"}
    assert store.one("SELECT attention FROM meetings")["attention"] is None  # type: ignore[index]


def test_declines_and_counters_put_the_meeting_back_to_the_assistant() -> None:
    store, pk = store_with_meeting()
    assert answer(store, pk, reply(STAFF, "DECLINED", 1, T0)) is None
    row = store.one("SELECT attention FROM meetings")
    assert row is not None and row["attention"] == "every staff member declined"
    store2, pk2 = store_with_meeting()
    assert answer(store2, pk2, reply(STAFF, "ACCEPTED", 1, T0)) is None
    assert answer(store2, pk2, reply(CLIENT, "DECLINED", 1, T0)) is None
    row = store2.one("SELECT attention FROM meetings")
    assert row is not None and row["attention"] == f"the client {CLIENT} declined"
    store3, pk3 = store_with_meeting()
    counter = answer(store3, pk3, reply(CLIENT, "NEEDS-ACTION", 1, T0, method="COUNTER"))
    assert counter is not None and "COUNTER" in counter
    row = store3.one("SELECT attention FROM meetings")
    assert row is not None and "(COUNTER)" in row["attention"]


def test_with_an_authserv_id_only_authenticated_answers_count() -> None:
    store, pk = store_with_meeting()
    raw = reply(CLIENT, "ACCEPTED", 1, T0)
    refused = record_answer(store, pk, parse_message(raw), ["mx.office.example"])
    assert refused is not None and "not authenticated" in refused
    assert status(store)[CLIENT] == "NEEDS-ACTION"
    vouched = (b"Authentication-Results: mx.office.example; dmarc=pass"
               b" header.from=client.example\r\n")
    assert record_answer(store, pk, parse_message(vouched + raw), ["mx.office.example"]) is None
    assert status(store)[CLIENT] == "ACCEPTED"


def test_a_meeting_back_with_the_assistant_is_in_the_digest() -> None:
    from inboxops import config
    from inboxops.service.digest import render

    store, pk = store_with_meeting()
    assert answer(store, pk, reply(CLIENT, "DECLINED", 1, T0)) is None
    _subject, text, html = render(store, config.default(), T0)
    assert "Meetings that need you: 1" in text
    assert f"the client {CLIENT} declined" in text and "inboxops meetings cancel 1" in text
    assert html is not None and f"the client {CLIENT} declined" in html


def test_listing_shows_meetings_to_come_unless_asked_for_all() -> None:
    from inboxops.outbound.bookings import listing

    store, _pk = store_with_meeting()
    (row,) = listing(store, now=T0)
    assert row["uid"] == UID and row["attendees"] == {CLIENT: "NEEDS-ACTION", STAFF: "NEEDS-ACTION"}
    later = datetime(2030, 1, 8, 9, 1, tzinfo=UTC)  # after the meeting ended (11:00 +02:00)
    assert listing(store, now=later) == []
    assert [r["uid"] for r in listing(store, now=later, everything=True)] == [UID]


def attention(store: Store) -> str | None:
    row = store.one("SELECT attention FROM meetings")
    assert row is not None
    return row["attention"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", ["COUNTER", "REFRESH", "DECLINECOUNTER"])
def test_forged_stale_and_unauthenticated_answers_of_every_method_change_nothing(
    method: str,
) -> None:
    """The checks of REPLY hold for every iTIP answer: a stranger naming the meeting's UID, an
    answer to an older SEQUENCE, an attendee speaking for another, or (with our authserv-id)
    an unauthenticated sender leave the meeting as it was, and the message for a human."""
    stranger = "mallory@elsewhere.example"
    cases = {
        "stranger": (reply(stranger, "NEEDS-ACTION", 2, T0, method=method), None),
        "stranger naming the client": (
            reply(stranger, "NEEDS-ACTION", 2, T0, attendees=(CLIENT,), method=method), None),
        "older SEQUENCE": (reply(CLIENT, "NEEDS-ACTION", 1, T0, method=method), None),
        "not vouched for": (reply(CLIENT, "NEEDS-ACTION", 2, T0, method=method),
                            ["mx.office.example"]),
    }
    for name, (raw, authserv) in cases.items():
        store, pk = store_with_meeting(sequence=2)
        why = record_answer(store, pk, parse_message(raw), authserv)
        assert why is not None and method in why, name
        assert attention(store) is None, name
        assert status(store) == {CLIENT: "NEEDS-ACTION", STAFF: "NEEDS-ACTION"}, name
        assert store.one("SELECT 1 FROM events WHERE entity = 'meeting'") is None, name


def test_a_vetted_counter_or_refresh_goes_to_the_assistant_a_declinecounter_never() -> None:
    store, pk = store_with_meeting()
    vouched = (b"Authentication-Results: mx.office.example; dmarc=pass"
               b" header.from=client.example\r\n")
    raw = vouched + reply(CLIENT, "NEEDS-ACTION", 1, T0, method="REFRESH")
    assert "REFRESH" in (record_answer(store, pk, parse_message(raw), ["mx.office.example"])
                         or "")
    assert attention(store) == f"{CLIENT} asks for the invitation again (REFRESH)"
    store2, pk2 = store_with_meeting()
    # A COUNTER may repeat the attendee list; its sender must be one of them.
    counter = reply(CLIENT, "NEEDS-ACTION", 1, T0, attendees=(CLIENT, STAFF), method="COUNTER")
    assert "COUNTER" in (answer(store2, pk2, counter) or "")
    assert "(COUNTER)" in (attention(store2) or "")
    store3, pk3 = store_with_meeting()
    decline = answer(store3, pk3, reply(CLIENT, "NEEDS-ACTION", 1, T0, method="DECLINECOUNTER"))
    assert decline is not None and "ignored" in decline and attention(store3) is None


def test_a_forged_counter_over_imap_changes_nothing_and_is_left_for_a_human(
    tmp_path: Any, imap_user: Any, smtp_sink: Any
) -> None:
    """Through the whole daemon, real Dovecot and aiosmtpd: a stranger's COUNTER naming the
    meeting's UID leaves the meeting as it was, sends nothing, and its message says why; the
    client's own COUNTER does reach the assistant."""
    from configs import imap_config
    from helpers import cli, drafts
    from mailfactory import calendar_answer, client_mail

    office = imap_user.address
    config = imap_config(tmp_path, imap_user, smtp_sink)
    imap_user.dovecot.append(office, client_mail(
        sender=f"John <{CLIENT}>", to=office, subject="Meeting",
        body="Hello, could we meet next Thursday at 11am? Thanks, John"))
    cli(config, "run", "--once")
    (draft,) = drafts(config)
    cli(config, "approve", str(draft["id"]))
    assert smtp_sink.wait_for(2)
    (meeting,) = json.loads(cli(config, "meetings", "--json"))
    stranger = "mallory@elsewhere.example"
    imap_user.dovecot.append(office, calendar_answer(
        meeting["uid"], stranger, "NEEDS-ACTION", office, method="COUNTER"))
    imap_user.dovecot.append(office, calendar_answer(
        meeting["uid"], stranger, "NEEDS-ACTION", office, attendee=CLIENT, method="COUNTER"))
    cli(config, "run", "--once")
    (after,) = json.loads(cli(config, "meetings", "--json"))
    assert after["attention"] is None and after["attendees"] == meeting["attendees"]
    forged = json.loads(cli(config, "messages", "--json"))[:2]
    assert all(m["from_addr"] == stranger for m in forged)
    assert all("COUNTER not from the attendee it names" in m["error"] for m in forged)
    assert drafts(config) == [] and len(smtp_sink.messages) == 2
    imap_user.dovecot.append(office, calendar_answer(
        meeting["uid"], CLIENT, "NEEDS-ACTION", office, method="COUNTER"))
    cli(config, "run", "--once")
    (after,) = json.loads(cli(config, "meetings", "--json"))
    assert after["attention"].startswith(f"{CLIENT} proposes")
