"""Reading a draft as the assistant left it in their mail client (pure: bytes in, values out).

A mail client re-saves a draft as a message of its own making: the text may be format=flowed
(RFC 3676), or HTML only; Subject, To and Cc may be edited; our id header or the threading
headers may be gone. This module turns such a copy into what approval needs, and refuses,
with a reason a person can act on, any header that could inject another one (REPLY-10) or an
address that is not one (PARSE-5). Nothing here guesses: a doubtful copy is refused, not fixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import errors as email_errors
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import default

from inboxops.errors import InboxopsError
from inboxops.responders.compose import UnsafeHeader, address, safe_header
from inboxops.text import html_to_text

MAX_COPY_BYTES = 5_000_000  # a reply with a large attachment is not a draft of ours
_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
_FALLBACK_CHARSETS = ("utf-8", "windows-1250", "iso-8859-2", "latin-1")


class UnusableCopy(InboxopsError):
    """An edited copy that cannot be sent as it stands; the message says what to change."""


@dataclass(frozen=True)
class EditedCopy:
    """One copy as the assistant left it. None for Subject/To: the header is absent, so the
    draft's own value stands; an edit is only ever taken from a header that is there."""

    text: str
    html: str | None = None  # the assistant's HTML, only when the copy had no text part
    subject: str | None = None
    to: tuple[Address, ...] | None = None
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()

    def recipients(self, to: tuple[str, ...]) -> frozenset[str]:
        """Everyone it goes to, lower-case; `to` stands when the copy has no To header."""
        mine = tuple(a.addr_spec for a in self.to) if self.to is not None else to
        return frozenset(a.lower() for a in (*mine, *(a.addr_spec for a in self.cc + self.bcc)))


@dataclass(frozen=True)
class CopyKeys:
    """What a copy says about which draft it is, read leniently: only used to find the draft."""

    token: str | None  # the id header's value
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    to: frozenset[str]  # lower-case addresses
    sender: str = ""  # the From address, lower-case


def copy_keys(raw: bytes, token_header: str) -> CopyKeys:
    """The id header, threading headers, subject and recipients of a copy; never raises."""
    msg = message_from_bytes(raw[:MAX_COPY_BYTES], policy=default)
    assert isinstance(msg, EmailMessage)
    to: set[str] = set()
    try:
        for header in msg.get_all("To") or []:
            to.update(a.addr_spec.lower() for a in getattr(header, "addresses", ()) if a.domain)
        senders = [a.addr_spec.lower() for a in getattr(msg["From"], "addresses", ())]
        subject = " ".join(str(msg.get("Subject", "")).split())
        token, in_reply_to = _one(msg, token_header), _first_id(_one(msg, "In-Reply-To"))
        references = tuple(_MSGID.findall(_one(msg, "References") or ""))
    except (email_errors.MessageError, ValueError, IndexError):  # a header beyond repair
        return CopyKeys(None, None, (), "", frozenset())
    return CopyKeys(token, in_reply_to, references, subject, frozenset(to),
                    senders[0] if len(senders) == 1 else "")


def read_copy(raw: bytes) -> EditedCopy:
    """The edit in one copy; raises UnusableCopy naming the header or part at fault."""
    if len(raw) > MAX_COPY_BYTES:
        raise UnusableCopy(f"copy is {len(raw)} bytes, more than {MAX_COPY_BYTES}")
    msg = message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    text, html = _body(msg)
    return EditedCopy(
        text=text, html=html, subject=_subject(msg), to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc") or (), bcc=_addresses(msg, "Bcc") or (),
    )


def same_text(a: str, b: str) -> bool:
    """Equal as a reader sees them: line ends and trailing blanks do not count."""
    return _norm(a) == _norm(b)


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


# -- headers -------------------------------------------------------------------------------------


def _one(msg: EmailMessage, name: str) -> str | None:
    values = msg.get_all(name) or []
    return str(values[0]).strip() if values else None


def _first_id(value: str | None) -> str | None:
    found = _MSGID.search(value or "")
    return found.group(0) if found else None


def _subject(msg: EmailMessage) -> str | None:
    try:
        values = msg.get_all("Subject") or []
    except (email_errors.MessageError, ValueError, IndexError) as e:
        raise UnusableCopy(f"Subject header cannot be read ({e})") from None
    if len(values) > 1:
        raise UnusableCopy(f"copy has {len(values)} Subject headers; keep one")
    if not values:
        return None
    # Decoded, so an encoded =0A becomes the line break it would be in our header (REPLY-10).
    return _safe(str(values[0]), "Subject").strip()


def _addresses(msg: EmailMessage, name: str) -> tuple[Address, ...] | None:
    """Every address in the `name` headers, each one complete and safe; None if absent."""
    try:
        headers = msg.get_all(name) or []
    except (email_errors.MessageError, ValueError, IndexError) as e:  # beyond the parser
        raise UnusableCopy(f"{name} header cannot be read ({e}); write each address as "
                           "name <user@domain>") from None
    if not headers:
        return None
    found: list[Address] = []
    for header in headers:
        serious = [d for d in getattr(header, "defects", ())
                   if not isinstance(d, email_errors.ObsoleteHeaderDefect)]
        if serious:
            raise UnusableCopy(f"{name} header is not a clean address list ({serious[0]}); "
                               f"write each address as name <user@domain>")
        for item in getattr(header, "addresses", ()):
            if not item.username or not item.domain:
                raise UnusableCopy(f"{name}: {item.addr_spec!r} is not a complete address")
            _safe(item.display_name, f"{name} display name")
            try:
                found.append(address(item.addr_spec, item.display_name))
            except UnsafeHeader as e:
                raise UnusableCopy(f"{name}: {e}") from None
    if name == "To" and not found:
        raise UnusableCopy("To has no address; put the client's address back")
    return tuple(found)


def _safe(value: str, what: str) -> str:
    try:
        return safe_header(value, what)
    except UnsafeHeader as e:
        raise UnusableCopy(str(e)) from None


# -- body ----------------------------------------------------------------------------------------


def _body(msg: EmailMessage) -> tuple[str, str | None]:
    """(text, html): the text part decoded (flowed undone), or text derived from an HTML-only
    copy together with that HTML."""
    part = msg.get_body(("plain", "html"))
    if part is None:
        raise UnusableCopy("copy has no text or HTML part to send")
    content = _decoded(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(content).strip()
        if not text:
            raise UnusableCopy("the HTML of the copy has no text")
        return text + "\n", content
    if str(part.get_param("format", "")).lower() == "flowed":
        delsp = str(part.get_param("delsp", "")).lower() == "yes"
        content = unflow(content, delsp=delsp)
    return content.strip() + "\n", None


def _decoded(part: MIMEPart) -> str:
    """The part's text; an unknown or wrong charset falls back (PARSE-2) instead of failing."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    declared = part.get_content_charset()
    data = data.replace(b"\r\n", b"\n")
    for charset in ((declared,) if declared else ()) + _FALLBACK_CHARSETS:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1", errors="replace")  # pragma: no cover - latin-1 never fails


# -- format=flowed (RFC 3676) --------------------------------------------------------------------


def unflow(text: str, delsp: bool = False) -> str:
    """Undo format=flowed: join soft-broken lines into paragraphs (RFC 3676 §4.1-4.2).

    A line ending in a space continues on the next line of the same quote depth; with DelSp=yes
    that space was added by the sender and is removed (§4.2). Space-stuffing is undone (§4.4),
    and the "-- " signature separator stays a line of its own (§4.3).
    """
    out: list[str] = []
    paragraph = ""
    depth_open: int | None = None  # quote depth of the paragraph being joined, if any
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing, or the space after the quote marks
        if depth_open is not None and depth != depth_open:
            out.append(_quoted(depth_open, paragraph.rstrip(" ")))  # improperly flowed (§4.5)
            paragraph, depth_open = "", None
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        paragraph += content
        if flowed:
            depth_open = depth
            continue
        out.append(_quoted(depth, paragraph))
        paragraph, depth_open = "", None
    if depth_open is not None:
        out.append(_quoted(depth_open, paragraph.rstrip(" ")))
    return "\n".join(out)


def _quoted(depth: int, content: str) -> str:
    return f"{'>' * depth} {content}" if depth else content
