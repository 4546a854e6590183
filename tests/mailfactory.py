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
