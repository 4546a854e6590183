"""What a responder returns, the shared template context, and the registry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from inboxops.config import Config
from inboxops.models import Classification, ParsedMessage, Slot
from inboxops.responders.render import Renderer

_REFERENCE = re.compile(
    r"(?i)\b(order|invoice|contract|ticket|comanda|comanda|comenzii|factura|facturii|contractul|"
    r"contractului)\b\s*(?:nr\.?|no\.?|number|num[aă]rul|#)?\s*[:#]?\s*([A-Z]{0,4}[-/]?\d[\w/-]{2,})"
)
_RO_DAYS = ("luni", "marți", "miercuri", "joi", "vineri", "sâmbătă", "duminică")
_RO_MONTHS = (
    "ianuarie", "februarie", "martie", "aprilie", "mai", "iunie", "iulie", "august",
    "septembrie", "octombrie", "noiembrie", "decembrie",
)


@dataclass(frozen=True)
class MeetingPlan:
    """The slot a meeting draft proposes, and what the invitation needs."""

    slots: list[Slot]
    location: str
    summary: str
    staff: list[str] = field(default_factory=list)  # empty: [meetings] staff


@dataclass(frozen=True)
class Draft:
    """A rendered reply: recipient chosen by REPLY-4, subject, text, optional HTML."""

    to_addr: str
    to_name: str
    to_reason: str
    subject: str
    text: str
    html: str | None
    meeting: MeetingPlan | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def find_references(text: str) -> list[str]:
    """Order, invoice and contract numbers the client mentioned, in order, without repeats."""
    found: list[str] = []
    for m in _REFERENCE.finditer(text):
        value = m.group(2).rstrip(".,;:-/")
        if value not in found:
            found.append(value)
    return found[:5]


def format_when(dt: datetime, language: str) -> str:
    """A human date and time in the client's language, e.g. "marți, 1 decembrie 2026, ora 14:00"."""
    if language == "ro":
        return (
            f"{_RO_DAYS[dt.weekday()]}, {dt.day} {_RO_MONTHS[dt.month - 1]} {dt.year}, "
            f"ora {dt:%H:%M}"
        )
    return f"{dt:%A}, {dt.day} {dt:%B %Y} at {dt:%H:%M}"


def recipient(msg: ParsedMessage) -> tuple[str, str, str]:
    """(address, display name, reason): Reply-To if present, else From (REPLY-4)."""
    if msg.reply_to and msg.reply_to != msg.from_addr:
        return msg.reply_to, "", "Reply-To header"
    return msg.from_addr, msg.from_name, "From header"


QUOTE_LIMIT = 4000  # characters of the client's text quoted in a draft


def trimmed(text: str, limit: int = QUOTE_LIMIT) -> str:
    """The client's text, shortened for very long mail: a 100 KB inquiry quoted in full would
    push the draft past the renderer's output cap, and the client has the original anyway."""
    body = text.strip()
    return body[:limit].rstrip() + "\n[...]" if len(body) > limit else body


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """The client's text as a "> " quote, shortened for very long mail."""
    return "\n".join(f"> {line}" if line else ">" for line in trimmed(text, limit).splitlines())


def base_context(msg: ParsedMessage, cfg: Config) -> dict[str, Any]:
    """Variables every reply template may use. Client text enters only here, as data."""
    from inboxops.responders.compose import reply_subject

    tz = ZoneInfo(cfg.meetings.timezone)
    original_date = ""
    if msg.date:
        original_date = format_when(msg.date.astimezone(tz), msg.language)
    return {
        "client_name": msg.from_name,
        "client_addr": msg.from_addr,
        "original_subject": msg.subject,
        "reply_subject": reply_subject(msg.subject),
        "original_date": original_date,
        "quoted": quote(msg.text or msg.full_text),
        # Escaped here, once, and marked safe so the HTML template's autoescape keeps it.
        "quoted_html": escape(trimmed(msg.text or msg.full_text)).replace("\n", Markup("<br>\n")),
        "references": find_references(f"{msg.subject}\n{msg.text}"),
        "company": cfg.replies.company,
        "signature": cfg.replies.signature,
        "language": msg.language,
    }


class Responder:
    """Base class: subclasses name the categories they answer and implement `draft`."""

    categories: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: Config, renderer: Renderer) -> None:
        self.cfg = cfg
        self.renderer = renderer

    def draft(
        self, msg: ParsedMessage, decision: Classification, busy: list[tuple[datetime, datetime]],
        now: datetime,
    ) -> Draft:
        raise NotImplementedError


RESPONDERS: dict[str, type[Responder]] = {}


def register(cls: type[Responder]) -> type[Responder]:
    """Class decorator: answer the class's categories with it."""
    for category in cls.categories:
        RESPONDERS[category] = cls
    return cls
