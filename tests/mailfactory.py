"""Builds client messages for tests: invented text only, real MIME via the email package."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid


def client_mail(
    *,
    sender: str = "Ana Popescu <ana@client.example>",
    to: str = "office@example.test",
    subject: str = "Question about prices",
    body: str = "Hello, could you please send me your price list? Thank you.",
    date: datetime | None = None,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """One ordinary text/plain message as a mail client would send it."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date) if date else format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = message_id or make_msgid(domain="client.example")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def calendar_answer(
    uid: str, sender: str, partstat: str, to: str, attendee: str | None = None,
    sequence: int = 0, method: str = "REPLY",
) -> bytes:
    """An iTIP REPLY (or COUNTER) as a calendar app sends it when its user answers."""
    from datetime import UTC

    from icalendar import Calendar, Event, vCalAddress

    cal = Calendar()
    cal.add("prodid", "-//test//calendar app//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime.now(UTC))
    event.add("sequence", sequence)
    who = vCalAddress(f"mailto:{attendee or sender}")
    who.params["PARTSTAT"] = partstat
    event.add("attendee", who)
    cal.add_component(event)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = f"{partstat.title()}: meeting"
    msg["Message-ID"] = make_msgid(domain="calendar.example")
    msg.set_content(cal.to_ical(), maintype="text", subtype="calendar",
                    params={"method": method})
    return msg.as_bytes()
