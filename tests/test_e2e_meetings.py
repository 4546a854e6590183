"""Meetings end to end with a real Dovecot and aiosmtpd: request → draft → approve → invitations
(ICS-1..7) → answers (ICS-9) → reschedule and cancel (ICS-4/5), all through the CLI.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from configs import STAFF, imap_config
from helpers import cli, drafts, invoke
from itip_checks import check_invitation, parse
from mailfactory import calendar_answer, client_mail

TZ = ZoneInfo("Europe/Bucharest")
CLIENT = "john@client.example"


def answer(uid: str, sender: str, partstat: str, to: str, sequence: int,
           attendee: str | None = None, method: str = "REPLY") -> bytes:
    return calendar_answer(uid, sender, partstat, to, attendee, sequence, method)


def next_weekday(after: datetime, iso: int) -> datetime:
    """The first day after `after` (never the same day) with ISO weekday `iso`."""
    return after + timedelta(days=(iso - after.isoweekday()) % 7 or 7)


def meeting_list(config: Path) -> list[dict[str, Any]]:
    return json.loads(cli(config, "meetings", "--json"))


def test_english_request_invitation_answers_reschedule_and_cancel(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    dovecot, office = imap_user.dovecot, imap_user.address
    config = imap_config(tmp_path, imap_user, smtp_sink)
    now = datetime.now(TZ)
    dovecot.append(office, client_mail(
        sender=f"John Miles <{CLIENT}>", to=office, subject="Meeting about the contract",
        body="Hello,\n\nCould we meet next Tuesday at 3pm to go through the contract?\n\nJohn",
        date=now,
    ))
    cli(config, "run", "--once")

    (draft,) = drafts(config)
    expected = next_weekday(now, 2).replace(hour=15, minute=0, second=0, microsecond=0)
    assert draft["category"] == "meeting" and draft["language"] == "en"
    assert f"{expected:%A}, {expected.day} {expected:%B %Y} at 15:00" in draft["body"]
    assert smtp_sink.messages == []

    cli(config, "approve", str(draft["id"]))
    assert smtp_sink.wait_for(2)
    by_rcpt = {tuple(m["rcpt_tos"]): m["data"] for m in smtp_sink.messages}
    assert set(by_rcpt) == {(CLIENT,), (STAFF,)}
    uids = set()
    for raw in by_rcpt.values():
        _cal, event = check_invitation(raw, "REQUEST", office, {CLIENT, STAFF},
                                       html=True)
        assert event.start == expected and event.end == expected + timedelta(hours=1)
        assert int(event["SEQUENCE"]) == 0
        uids.add(str(event["UID"]))
    (uid,) = uids  # one meeting, one UID for everybody
    (meeting,) = meeting_list(config)
    assert meeting["uid"] == uid and meeting["state"] == "invited"

    # The client accepts, the (only) staff member declines, a stranger forges a decline.
    dovecot.append(office, answer(uid, CLIENT, "ACCEPTED", office, 0))
    dovecot.append(office, answer(uid, STAFF, "DECLINED", office, 0))
    dovecot.append(office, answer(uid, "mallory@evil.example", "DECLINED", office, 0,
                                  attendee=CLIENT))
    # an attendee may answer only for themselves
    dovecot.append(office, answer(uid, STAFF, "DECLINED", office, 0, attendee=CLIENT))
    cli(config, "run", "--once")
    (meeting,) = meeting_list(config)
    assert meeting["attendees"] == {CLIENT: "ACCEPTED", STAFF: "DECLINED"}
    assert meeting["attention"] == "every staff member declined"
    assert "needs the assistant: every staff member declined" in cli(config, "meetings")
    assert drafts(config) == [] and len(smtp_sink.messages) == 2  # answers are never answered

    # Rescheduling: outside working hours is refused, naming free slots; a good time is sent.
    day = next_weekday(expected, 3)
    late = invoke(config, "meetings", "reschedule", str(meeting["id"]), f"{day:%Y-%m-%d} 22:00")
    assert late.exit_code == 1 and "free:" in late.output
    assert len(smtp_sink.messages) == 2
    cli(config, "meetings", "reschedule", str(meeting["id"]), f"{day:%Y-%m-%d} 10:00")
    assert smtp_sink.wait_for(4)
    moved = datetime(day.year, day.month, day.day, 10, 0, tzinfo=TZ)
    for m in smtp_sink.messages[2:]:
        _cal, event = check_invitation(m["data"], "REQUEST", office, {CLIENT, STAFF}, html=True)
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
        assert event.start == moved
    client_update = next(m for m in smtp_sink.messages[2:] if m["rcpt_tos"] == [CLIENT])
    assert "Now: " in parse(client_update["data"]).get_body(("plain",)).get_content()
    (meeting,) = meeting_list(config)
    assert meeting["sequence"] == 1 and meeting["attention"] is None
    assert set(meeting["attendees"].values()) == {"NEEDS-ACTION"}  # asked again

    # An answer to the old version is stale; one to the new version counts.
    dovecot.append(office, answer(uid, CLIENT, "DECLINED", office, 0))
    dovecot.append(office, answer(uid, STAFF, "ACCEPTED", office, 1))
    cli(config, "run", "--once")
    (meeting,) = meeting_list(config)
    assert meeting["attendees"] == {CLIENT: "NEEDS-ACTION", STAFF: "ACCEPTED"}

    cli(config, "meetings", "cancel", str(meeting["id"]))
    assert smtp_sink.wait_for(6)
    for m in smtp_sink.messages[4:]:
        _cal, event = check_invitation(m["data"], "CANCEL", office, {CLIENT, STAFF}, html=True)
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2
    assert meeting_list(config) == []
    again = invoke(config, "meetings", "cancel", str(meeting["id"]))
    assert again.exit_code == 1 and "cancelled, not invited" in again.output
    assert len(smtp_sink.messages) == 6


def test_client_decline_and_counter_go_back_to_the_assistant(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    dovecot, office = imap_user.dovecot, imap_user.address
    config = imap_config(tmp_path, imap_user, smtp_sink)
    dovecot.append(office, client_mail(
        sender=f"John Miles <{CLIENT}>", to=office, subject="Meeting",
        body="Hello, can we meet on Thursday at 11am? Thanks, John", date=datetime.now(TZ),
    ))
    cli(config, "run", "--once")
    (draft,) = drafts(config)
    cli(config, "approve", str(draft["id"]))
    assert smtp_sink.wait_for(2)
    (meeting,) = meeting_list(config)
    dovecot.append(office, answer(meeting["uid"], CLIENT, "DECLINED", office, 0))
    cli(config, "run", "--once")
    (meeting,) = meeting_list(config)
    assert meeting["attention"] == f"the client {CLIENT} declined"
    dovecot.append(office, answer(meeting["uid"], STAFF, "NEEDS-ACTION", office, 0,
                                  method="COUNTER"))
    cli(config, "run", "--once")
    (meeting,) = meeting_list(config)
    assert meeting["attention"].startswith(f"{STAFF} proposes")
    assert drafts(config) == [] and len(smtp_sink.messages) == 2
    # The morning digest tells the assistant, with the commands that settle it.
    text = cli(config, "digest", "--html", str(tmp_path / "digest.html"))
    assert "Meetings that need you: 1" in text and "proposes" in text
    assert f"inboxops meetings cancel {meeting['id']}" in text
    assert "Meetings that need you" in (tmp_path / "digest.html").read_text()


def test_routed_staff_feed_busy_time_and_the_clients_place(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    dovecot, office = imap_user.dovecot, imap_user.address
    config = imap_config(tmp_path, imap_user, smtp_sink)
    now = datetime.now(TZ)
    thursday = next_weekday(now, 4).replace(hour=11, minute=0, second=0, microsecond=0)
    busy_until = thursday + timedelta(hours=1)
    feed = tmp_path / "staff.ics"
    feed.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//staff//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:busy@test\r\nDTSTAMP:20260101T000000Z\r\n"
        + f"DTSTART:{thursday.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n".encode()
        + f"DTEND:{busy_until.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n".encode()
        + b"SUMMARY:Audit\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    text = config.read_text()
    text = text.replace("[meetings]\n", f'[meetings]\nbusy_calendar = "{feed}"\n', 1)
    text += '[[meetings.routes]]\nstaff = ["sales@example.test"]\ndomains = ["big.example"]\n'
    config.write_text(text)
    dovecot.append(office, client_mail(
        sender="Mara Ionescu <mara@big.example>", to=office, subject="Întâlnire",
        body="Bună ziua,\n\nPutem să ne vedem joi la ora 11, la sediul nostru din Cluj?\n\nMara",
        date=now,
    ))
    cli(config, "run", "--once")

    (draft,) = drafts(config)
    assert draft["language"] == "ro"
    assert "ora 11:00" not in draft["body"].split("Dacă nu")[0]  # 11:00 is taken: not proposed
    assert "Locul: Cluj" in draft["body"]
    cli(config, "approve", str(draft["id"]))
    assert smtp_sink.wait_for(2)
    rcpts = sorted(tuple(m["rcpt_tos"]) for m in smtp_sink.messages)
    assert rcpts == [("mara@big.example",), ("sales@example.test",)]
    for m in smtp_sink.messages:
        _cal, event = check_invitation(m["data"], "REQUEST", office,
                                       {"mara@big.example", "sales@example.test"},
                                       html=True)
        assert str(event["LOCATION"]) == "Cluj"
        start, end = event.start, event.end
        assert end <= thursday or start >= busy_until + timedelta(minutes=15)
    # Moving it onto the staff's busy time is refused; the error names free slots instead.
    (meeting,) = meeting_list(config)
    onto = invoke(config, "meetings", "reschedule", str(meeting["id"]),
                  f"{thursday:%Y-%m-%d %H:%M}")
    assert onto.exit_code == 1 and "free:" in onto.output
    assert len(smtp_sink.messages) == 2
