"""Overdue complaints: one reminder each to the assistant, rate-limited, never repeated after a
restart. Real Dovecot for the mailbox, real aiosmtpd for the reminder."""

from __future__ import annotations

import email
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import cli, drafts, running_daemon, stop, wait_until
from mailfactory import client_mail

ASSISTANT = "assistant@example.test"


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


def complaint(to: str, who: str, subject: str) -> bytes:
    return client_mail(to=to, sender=f"{who.title()} <{who}@client.example>", subject=subject,
                       body="The parcel arrived broken and damaged. This is unacceptable, "
                            "I want a refund.")


def test_an_overdue_complaint_gets_one_reminder_rate_limited_across_restarts(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    config.write_text(config.read_text() + f'[sla]\ncomplaint_hours = 24\nremind = ["{ASSISTANT}"]'
                                           "\nremind_every_minutes = 60\n")
    office = imap_user.address
    imap_user.dovecot.append(office, complaint(office, "eve", "Complaint: broken parcel"))
    cli(config, "run", "--once")
    assert [d["category"] for d in drafts(config)] == ["complaint"]
    assert smtp_sink.messages == []  # within the SLA: nobody is nagged

    db = sqlite3.connect(tmp_path / "inboxops.db")

    def age(subject: str, hours: float) -> None:
        with db:
            db.execute("UPDATE messages SET received_at = ? WHERE subject = ?",
                       ((datetime.now(UTC) - timedelta(hours=hours)).isoformat(), subject))

    def reminders() -> list[EmailMessage]:
        return [parse(m["data"]) for m in smtp_sink.messages if m["rcpt_tos"] == [ASSISTANT]]

    age("Complaint: broken parcel", 25)
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(1)
    (first,) = reminders()
    assert first["Auto-Submitted"] == "auto-generated"
    assert first["Subject"].startswith("Reminder: 1 complaint(s)")
    body = first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Complaint: broken parcel" in body and "eve@client.example" in body

    cli(config, "run", "--once")  # the same complaint is never reminded twice...
    imap_user.dovecot.append(office, client_mail(to=office, subject="Opening hours?"))
    with running_daemon(config) as proc:  # ...not even by a freshly started daemon
        wait_until(lambda: any("Opening hours" in d["subject"] for d in drafts(config)))
        time.sleep(2)  # its start-up chores ran before that pass; give them a moment more
        assert stop(proc) == 0
    assert len(reminders()) == 1

    # A second complaint becomes overdue within the hour: it waits for the rate limit...
    imap_user.dovecot.append(office, complaint(office, "gil", "Complaint: wrong size"))
    cli(config, "run", "--once")
    age("Complaint: wrong size", 30)
    cli(config, "run", "--once")
    assert len(reminders()) == 1
    with db:  # ...and once the hour is over, it alone gets its reminder
        db.execute("UPDATE reminders SET at = ?",
                   ((datetime.now(UTC) - timedelta(minutes=61)).isoformat(),))
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(2)
    second = reminders()[1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Complaint: wrong size" in second and "broken parcel" not in second

    # An approved reply settles a complaint: approving it sends no reminder either.
    (pending,) = [d for d in drafts(config) if "wrong size" in d["subject"]]
    cli(config, "approve", str(pending["id"]))
    cli(config, "run", "--once")
    assert len(reminders()) == 2
