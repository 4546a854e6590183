"""Values shared by every stage. Pure data: no I/O, no behaviour beyond small helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Category = Literal["inquiry", "complaint", "meeting", "other"]
CATEGORIES: tuple[Category, ...] = ("inquiry", "complaint", "meeting", "other")
Language = Literal["en", "ro"]


@dataclass(frozen=True)
class ParsedMessage:
    """What parse.py makes of the raw bytes of one message.

    Header values are decoded (RFC 2047) and unfolded; addresses are lower-cased bare addresses.
    `text` is the new content only (quoted reply and signature removed where recognised);
    `full_text` is the whole text body. Message ids keep their angle brackets.
    """

    message_id: str | None
    from_addr: str
    from_name: str
    reply_to: str | None
    to: list[str]
    cc: list[str]
    subject: str
    date: datetime | None
    in_reply_to: str | None
    references: list[str]
    text: str
    full_text: str
    language: Language
    return_path: str | None
    # Lower-cased header name -> all its values; kept for the classifiers' structure signals.
    headers: dict[str, list[str]]
    content_type: str
    # METHOD of the first text/calendar part (REQUEST, REPLY, ...) and its bytes, if any.
    calendar_method: str | None = None
    calendar: bytes | None = None
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """First value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True)
class Classification:
    """A category with how sure we are and why, in words a human can check."""

    category: Category
    confidence: float
    reasons: list[str]
    # Too little evidence to write a reply from (nothing, or only weak signals, was found).
    lean: bool = False


@dataclass(frozen=True)
class Slot:
    """A proposed meeting time, timezone-aware."""

    start: datetime
    end: datetime
    from_client: bool  # True when the client proposed this time and it is free
