"""Building outgoing mail, byte for byte (pure; REPLY-1..11, ICS-1/2/7, LOOP-1).

A message is serialized once; those exact bytes are stored in the outbox, sent, and appended to
Sent. Every header value that came from a client or a template is checked for characters that
could end a header line or the header block (Python 3.11 alone does not stop all of them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from inboxops.errors import InboxopsError


class UnsafeHeader(InboxopsError):
    """A header value built from client data or a template holds a line-breaking character."""


# C0 controls except TAB, DEL, NEL, LINE/PARAGRAPH SEPARATOR (REPLY-10).
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
# RFC 5256 base subject: re/fw/fwd with optional [n] or [blob] then ":", plus localized forms.
_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:re|fwd?|aw|wg|sv|vs|antw|odp|rif|r|răspuns|raspuns)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*:\s*",
    re.IGNORECASE,
)
_FWD_SUFFIX = re.compile(r"\s*\(fwd\)\s*$", re.IGNORECASE)
MAX_REFERENCES = 20


def safe_header(value: str, what: str) -> str:
    """Return `value` if it cannot inject headers; raise UnsafeHeader naming `what` otherwise."""
    if _UNSAFE.search(value):
        raise UnsafeHeader(f"{what} contains a line-breaking or control character")
    return value


def reply_subject(subject: str) -> str:
    """Exactly one "Re: " in front of the base subject, however many prefixes it had (REPLY-3)."""
    base = " ".join(subject.split())
    while True:
        stripped = _FWD_SUFFIX.sub("", _PREFIX.sub("", base, count=1))
        if stripped == base:
            break
        base = stripped
    return f"Re: {base}" if base else "Re:"


def thread_headers(
    parent_id: str | None, parent_refs: Sequence[str], parent_in_reply_to: str | None
) -> tuple[str | None, str | None]:
    """(In-Reply-To, References) for a reply to the parent (REPLY-1, REPLY-2)."""
    if not parent_id or not _MSGID.fullmatch(parent_id):
        return None, None
    refs = [r for r in parent_refs if _MSGID.fullmatch(r)]
    if not refs and parent_in_reply_to and _MSGID.fullmatch(parent_in_reply_to):
        refs = [parent_in_reply_to]
    refs.append(parent_id)
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1):]
    return parent_id, " ".join(refs)


def new_message_id(domain: str) -> str:
    """A fresh Message-ID in our domain; never getfqdn() (REPLY-5)."""
    return make_msgid(domain=domain)


def address(addr: str, name: str = "") -> Address:
    """An Address, with the display name checked and encoded by the email package (REPLY-8)."""
    safe_header(name, "display name")
    safe_header(addr, "address")
    try:  # addr_spec keeps a quoted local part ("a b"@x) quoted exactly once
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError) as e:
        raise UnsafeHeader(f"not a usable address: {addr!r} ({e})") from None


def build_message(
    *,
    sender: Address,
    to: Sequence[Address],
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str,
    in_reply_to: str | None = None,
    references: str | None = None,
    calendar: bytes | None = None,
    calendar_method: str = "REQUEST",
    auto_submitted: str | None = None,
    date: datetime | None = None,
    extra_headers: dict[str, str] | None = None,
    cc: Sequence[Address] = (),
) -> bytes:
    """Serialize one outgoing message (policy.SMTP, CRLF, 7-bit clean via quoted-printable)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = list(to)
    if cc:
        msg["Cc"] = list(cc)
    msg["Subject"] = safe_header(subject, "subject")
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = safe_header(message_id, "Message-ID")
    if in_reply_to:
        msg["In-Reply-To"] = safe_header(in_reply_to, "In-Reply-To")
    if references:
        msg["References"] = safe_header(references, "References")
    if auto_submitted:
        # RFC 3834 §5: only mail sent without a human's approval carries this (LOOP-1).
        msg["Auto-Submitted"] = auto_submitted
        if auto_submitted == "auto-replied":
            msg["Precedence"] = "bulk"
            msg["X-Auto-Response-Suppress"] = "All"
    for name, value in (extra_headers or {}).items():
        msg[name] = safe_header(value, name)
    msg["MIME-Version"] = "1.0"
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if calendar is not None:
        # ICS-1/2/7: bytes with base64 keep the CRLF line ends; METHOD repeated as a parameter.
        msg.add_alternative(
            calendar, maintype="text", subtype="calendar", cte="base64",
            params={"method": calendar_method, "charset": "UTF-8"},
        )
        msg.add_attachment(
            calendar, maintype="application", subtype="ics", filename="invite.ics",
        )
    return msg.as_bytes(policy=SMTP)
