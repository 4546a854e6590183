"""End to end against a real Dovecot (IMAP, STARTTLS with a verified certificate) and a real
aiosmtpd server: fetch → sort → draft → approve (CLI) → send → Sent, meetings, digest, restarts.
"""

from __future__ import annotations

import email
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from configs import MANAGER, STAFF, imap_config
from helpers import Crash, cli, crash, drafts
from icalendar import Calendar
from itip_checks import check_invitation
from mailfactory import calendar_answer, client_mail


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


def test_inquiry_is_sorted_drafted_approved_sent_threaded_and_filed(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    dovecot = imap_user.dovecot
    config = imap_config(tmp_path, imap_user, smtp_sink)
    original = client_mail(
        to=imap_user.address, subject="RE: Fwd: Question about order 44127",
        body="Hello, could you please tell me the price of order 44127? Thanks.",
        headers={"References": "<older@client.example>"},
    )
    parent_id = parse(original)["Message-ID"]
    dovecot.append(imap_user.address, original)

    cli(config, "run", "--once")

    pending = drafts(config)
    assert len(pending) == 1
    draft = pending[0]
    assert draft["category"] == "inquiry" and draft["language"] == "en"
    assert draft["message_id"] == parent_id
    assert draft["to"] == "ana@client.example"
    assert draft["subject"] == "Re: Question about order 44127"
    assert "Dear Ana Popescu" in draft["body"] and "44127" in draft["body"]
    assert "> Hello, could you please tell me the price" in draft["body"]
    assert smtp_sink.messages == []  # nothing leaves before approval

    (_uid, flags, _), = dovecot.fetch_all(imap_user.address, "INBOX")
    assert "$Inquiry" in flags and "\\Seen" not in flags

    cli(config, "approve", str(draft["id"]))

    assert smtp_sink.wait_for(1)
    sent = smtp_sink.messages[0]
    assert sent["rcpt_tos"] == ["ana@client.example"]
    assert sent["mail_from"] == imap_user.address
    reply = parse(sent["data"])
    assert reply["In-Reply-To"] == parent_id
    assert reply["References"].split() == ["<older@client.example>", parent_id]
    assert reply["Subject"] == "Re: Question about order 44127"
    assert "Auto-Submitted" not in reply
    sent_copies = dovecot.fetch_all(imap_user.address, "Sent")
    assert len(sent_copies) == 1
    assert sent_copies[0][2].replace(b"\r\n", b"\n") == sent["data"].replace(b"\r\n", b"\n")
    (_, flags, _), = dovecot.fetch_all(imap_user.address, "INBOX")
    assert "\\Answered" in flags and "\\Seen" not in flags
    assert drafts(config) == []


def test_romanian_meeting_request_becomes_invitation_to_client_and_staff(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink, mailbox={"sort": "folder"})
    sent_at = datetime.now(UTC)
    imap_user.dovecot.append(imap_user.address, client_mail(
        sender="Ștefan Țărănescu <stefan@client.example>", to=imap_user.address,
        subject="Programare întâlnire",
        body="Bună ziua,\n\nAș dori o întâlnire cu dumneavoastră pentru a discuta oferta. "
             "Vă convine marți la ora 14?\n\nMulțumesc,\nȘtefan",
        date=sent_at,
    ))

    cli(config, "run", "--once")

    (draft,) = drafts(config)
    assert draft["category"] == "meeting" and draft["language"] == "ro"
    assert "Bună ziua, Ștefan Țărănescu" in draft["body"]
    assert "marți" in draft["body"] and "ora 14:00" in draft["body"]
    assert "InboxOps/Meeting" in imap_user.dovecot.folders(imap_user.address)
    assert imap_user.dovecot.fetch_all(imap_user.address, "INBOX") == []

    cli(config, "approve", str(draft["id"]))
    assert smtp_sink.wait_for(2)
    by_rcpt = {tuple(m["rcpt_tos"]): m for m in smtp_sink.messages}
    assert set(by_rcpt) == {("stefan@client.example",), (STAFF,)}
    for message in by_rcpt.values():
        # client and staff alike: text, HTML and the calendar part (ICS-1)
        check_invitation(message["data"], "REQUEST", imap_user.address,
                         {"stefan@client.example", STAFF}, html=True)
        mime = parse(message["data"])
        (part,) = [p for p in mime.walk() if p.get_content_type() == "text/calendar"]
        assert part.get_param("method") == "REQUEST"
        cal = Calendar.from_ical(part.get_payload(decode=True))
        assert str(cal["METHOD"]) == "REQUEST"
        (event,) = cal.events
        start = event.start
        assert start.weekday() == 1 and (start.hour, start.minute) == (14, 0)
        assert start > sent_at
        assert str(event["ORGANIZER"]).lower() == f"mailto:{imap_user.address}"
        attendees = {str(a).lower().removeprefix("mailto:"): a for a in event["ATTENDEE"]}
        assert set(attendees) == {"stefan@client.example", STAFF}
        assert all(a.params["RSVP"] == "TRUE" for a in attendees.values())
        assert cal.walk("VTIMEZONE")
    meetings = json.loads(cli(config, "meetings", "--json"))
    assert [m["state"] for m in meetings] == ["invited"]
    (_, flags, _), = imap_user.dovecot.fetch_all(imap_user.address, "InboxOps/Meeting")
    assert "\\Answered" in flags and "\\Seen" not in flags

    # The client accepts in their calendar; a stranger's forged answer is not counted.
    invitation = parse(by_rcpt[("stefan@client.example",)]["data"])
    ics = next(p for p in invitation.walk() if p.get_content_type() == "text/calendar")
    uid = str(Calendar.from_ical(ics.get_payload(decode=True)).events[0]["UID"])
    imap_user.dovecot.append(imap_user.address, calendar_answer(
        uid, "stefan@client.example", "ACCEPTED", imap_user.address))
    imap_user.dovecot.append(imap_user.address, calendar_answer(
        uid, "mallory@evil.example", "DECLINED", imap_user.address,
        attendee="stefan@client.example"))
    cli(config, "run", "--once")
    (meeting,) = json.loads(cli(config, "meetings", "--json"))
    assert meeting["attendees"] == {"stefan@client.example": "ACCEPTED", STAFF: "NEEDS-ACTION"}
    assert drafts(config) == []  # answers are never answered
    assert len(smtp_sink.messages) == 2


def test_digest_reaches_the_manager_once_a_day(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    from inboxops import config as config_module
    from inboxops.service.digest import queue_digest
    from inboxops.store import Store

    config = imap_config(tmp_path, imap_user, smtp_sink)
    imap_user.dovecot.append(imap_user.address, client_mail(to=imap_user.address))
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Complaint: broken delivery",
        body="The parcel arrived broken and damaged. This is unacceptable, I want a refund.",
    ))
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="hm", body="ok"))  # nothing to go on: for a human
    cli(config, "run", "--once")

    cli(config, "digest", "--send-now")
    assert smtp_sink.wait_for(1)
    digest = smtp_sink.messages[0]
    assert digest["rcpt_tos"] == [MANAGER]
    mime = parse(digest["data"])
    assert mime["Auto-Submitted"] == "auto-generated"
    text = mime.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "3 message(s) came in" in text
    assert "Drafts waiting for approval, oldest first: 2" in text
    assert "Messages for you to sort (the classifier was unsure): 1" in text

    cfg = config_module.load(config)
    now = datetime.now(UTC)
    day = now.date()
    assert queue_digest(Store(cfg.store.path), cfg, now, day=day) is not None
    # A restart (a new connection) the same day does not queue a second one.
    assert queue_digest(Store(cfg.store.path), cfg, now + timedelta(minutes=1), day=day) is None


def expire_leases(db: sqlite3.Connection) -> None:
    """Let the ten-minute send lease of a crashed process run out."""
    with db:
        db.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00+00:00' "
                   "WHERE state = 'sending'")


def test_restart_takes_no_message_twice(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inboxops.store import Store

    dovecot = imap_user.dovecot
    config = imap_config(tmp_path, imap_user, smtp_sink)
    for i in range(3):
        dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=f"Question {i}", body=f"Do you have item {i} in stock?",
        ))
    # Killed after recording the messages, before the last UID was saved (the batch and the
    # UID commit together, so the whole batch is fetched again and must not double).
    monkeypatch.setattr(Store, "set_mailbox_state", crash)
    with pytest.raises(Crash):
        cli(config, "run", "--once")
    monkeypatch.undo()
    cli(config, "run", "--once")
    dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Question 3", body="Do you have item 3 in stock?"))
    cli(config, "run", "--once")
    cli(config, "run", "--once")
    pending = drafts(config)
    assert sorted(d["subject"] for d in pending) == [f"Re: Question {i}" for i in range(4)]
    db = sqlite3.connect(tmp_path / "inboxops.db")
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 4

    # UIDVALIDITY changes (the server rebuilt its index): UIDs restart, mail must not double.
    with db:
        db.execute("UPDATE mailbox_state SET uidvalidity = uidvalidity + 1000")
    cli(config, "run", "--once")
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 4
    assert len(drafts(config)) == 4


def test_restart_sends_no_reply_twice(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inboxops.outbound.outbox import Outbox, SmtpTransport

    dovecot = imap_user.dovecot
    config = imap_config(tmp_path, imap_user, smtp_sink)
    for i in range(2):
        dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=f"Question {i}", body=f"Do you have item {i} in stock?",
        ))
    cli(config, "run", "--once")
    first, second = drafts(config)
    db = sqlite3.connect(tmp_path / "inboxops.db")

    # 1. Killed after the SMTP server accepted the reply, before the state was saved.
    cli(config, "approve", "--no-send", str(first["id"]))
    monkeypatch.setattr(Outbox, "_mark_sent", crash)
    with pytest.raises(Crash):
        cli(config, "run", "--once")
    monkeypatch.undo()
    assert len(smtp_sink.messages) == 1
    cli(config, "run", "--once")  # restarted at once: the lease still holds, nothing is sent
    assert len(smtp_sink.messages) == 1
    expire_leases(db)
    cli(config, "run", "--once")  # the "." had gone out: unknown, neither resent nor sent
    assert [r[0] for r in db.execute("SELECT state FROM outbox")] == ["unknown"]
    assert "is unknown" in cli(config, "digest")  # the assistant is told
    cli(config, "outbox", "resolve", "1", "--sent")  # they checked: it arrived

    # 2. Killed after claiming the reply, before anything reached the server.
    cli(config, "approve", "--no-send", str(second["id"]))
    monkeypatch.setattr(SmtpTransport, "send", crash)
    with pytest.raises(Crash):
        cli(config, "run", "--once")
    monkeypatch.undo()
    expire_leases(db)
    cli(config, "run", "--once")  # the "." never went out: provably unsent, so sent now
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(2)
    assert len(smtp_sink.messages) == 2  # each reply exactly once
    assert smtp_sink.messages[0]["data"] != smtp_sink.messages[1]["data"]
    states = [r[0] for r in db.execute("SELECT state FROM outbox ORDER BY id")]
    assert states == ["sent", "sent"]
    assert len(dovecot.fetch_all(imap_user.address, "Sent")) == 2  # and one copy each in Sent
    assert drafts(config) == []



def test_moving_mail_between_category_folders_teaches_the_classifier(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    from inboxops import config as config_module

    config = imap_config(tmp_path, imap_user, smtp_sink, mailbox={"sort": "folder"})
    first = client_mail(to=imap_user.address, subject="Courtyard gate card",
                        body="Hello, the barrier card for the courtyard gate stopped opening it.")
    imap_user.dovecot.append(imap_user.address, first)
    cli(config, "run", "--once")
    (message,) = json.loads(cli(config, "messages", "--json"))
    assert message["category"] != "complaint"
    unsure = message["confidence"] < config_module.default().classify.review_below
    source = f"InboxOps/{'Review' if unsure else message['category'].title()}"

    # The assistant drags the message to InboxOps/Complaint in their mail client.
    with imap_user.client() as client:
        client.select_folder(source)
        if not client.folder_exists("InboxOps/Complaint"):
            client.create_folder("InboxOps/Complaint")
        client.move(client.search("ALL"), "InboxOps/Complaint")
    cli(config, "run", "--once")

    (message,) = json.loads(cli(config, "messages", "--json"))
    assert message["category"] == "complaint"
    (draft,) = drafts(config)
    assert draft["category"] == "complaint"
    db = sqlite3.connect(tmp_path / "inboxops.db")
    (detail,) = db.execute("SELECT detail FROM events WHERE event = 'reclassified'").fetchone()
    assert json.loads(detail)["origin"] == "folder"
    # The next similar message is sorted as a complaint straight away.
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Gate card again",
        body="Hi, my courtyard gate barrier card stopped opening the gate again."))
    cli(config, "run", "--once")
    rows = {r["subject"]: r for r in json.loads(cli(config, "messages", "--json"))}
    assert rows["Gate card again"]["category"] == "complaint"

    # A correction from the CLI is not undone by the folder the message still sits in.
    cli(config, "reclassify", str(rows["Gate card again"]["id"]), "inquiry")
    cli(config, "run", "--once")
    rows = {r["subject"]: r for r in json.loads(cli(config, "messages", "--json"))}
    assert rows["Gate card again"]["category"] == "inquiry"


def test_smtp_451_is_retried_and_550_is_shown_not_retried(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    for i in range(2):
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=f"Price question {i}", body="How much is it?"))
    cli(config, "run", "--once")
    first, second = sorted(drafts(config), key=lambda d: d["subject"])
    db = sqlite3.connect(tmp_path / "inboxops.db")

    smtp_sink.refuse_next.append("451 4.3.0 Try again later")
    cli(config, "approve", str(first["id"]))
    assert smtp_sink.messages == []
    (row,) = db.execute("SELECT state, attempts, next_attempt_at FROM outbox").fetchall()
    assert row[0] == "queued" and row[1] == 1 and row[2] is not None
    cli(config, "run", "--once")  # not due yet: the backoff holds
    assert smtp_sink.messages == []
    with db:
        db.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00+00:00'")
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(1)
    assert db.execute("SELECT state, attempts FROM outbox").fetchone() == ("sent", 2)

    smtp_sink.refuse_next.append("550 5.7.1 Recipient not accepted")
    cli(config, "approve", str(second["id"]))
    cli(config, "run", "--once")
    assert len(smtp_sink.messages) == 1  # never retried
    (failed,) = drafts(config)
    assert failed["id"] == second["id"] and failed["state"] == "failed"
    assert "550" in failed["error"]
    assert "FAILED: SMTP 550" in cli(config, "drafts")
    assert "is failed: SMTP 550" in cli(config, "digest")


def test_header_injection_through_subject_name_and_ids_adds_no_header(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    hostile = (
        b"From: =?utf-8?q?Ana=0D=0ABcc:_evil@attacker.example?= <ana@client.example>\r\n"
        b"To: " + imap_user.address.encode() + b"\r\n"
        b"Subject: =?utf-8?q?Price_question=0ABcc:_evil@attacker.example?=\r\n"
        b"Message-ID: <id1@client.example>\r\n"
        b"References: <ok@client.example> =?utf-8?q?=0ABcc:_x@attacker.example?=\r\n"
        b"Date: Thu, 26 Nov 2026 10:00:00 +0200\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Hello, how much does it cost?\r\n"
    )
    imap_user.dovecot.append(imap_user.address, hostile)
    cli(config, "run", "--once")
    (draft,) = drafts(config)
    cli(config, "approve", str(draft["id"]))
    assert smtp_sink.wait_for(1)
    sent = smtp_sink.messages[0]
    assert sent["rcpt_tos"] == ["ana@client.example"]
    head = sent["data"].split(b"\r\n\r\n", 1)[0]
    names = [line.split(b":", 1)[0] for line in head.split(b"\r\n") if line[:1] not in b" \t"]
    assert sorted(names) == sorted([b"From", b"To", b"Subject", b"Date", b"Message-ID",
                                    b"In-Reply-To", b"References", b"MIME-Version",
                                    b"Content-Type"])
    reply = parse(sent["data"])
    assert "Bcc" not in reply and reply["Subject"].startswith("Re: Price question")
    assert reply["References"].split() == ["<ok@client.example>", "<id1@client.example>"]
