"""Where to meet: the client's own place when they name it, online when they ask, else ours.

Pure, on the client's text. What the client wrote is returned as data (it ends up in a
template variable and an iCalendar LOCATION, both escaped there), cut to one short line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inboxops.responders.meetings.vocab import _MONTH_RE, _WD_RE, _fold

MAX_PLACE = 120

_ONLINE = re.compile(
    r"\b(?:online|on-line|video\s*call|videocall|video\s+conference|videoconferin[tț]a"
    r"|apel\s+video|(?:on|via|pe|prin)\s+(?:zoom|teams|google\s+meet|skype|webex|video)"
    r"|virtual(?:ly)?\s+meeting|intalnire\s+virtuala|remote(?:ly)?\s+meeting)\b"
)
# "at our office in Cluj, ...", "come to us at ...", "la sediul nostru din ...": the client's
# place. Only first-person forms: "at your office" is ours, the default. An "Address:" line is
# not enough: signatures carry one in every message.
_THEIRS = re.compile(
    r"\b(?:at\s+our\s+(?:office|offices|premises|place|site|headquarters|shop|store)"
    r"|(?:come|visit)\s+(?:to\s+)?us|la\s+(?:sediul|biroul|magazinul)\s+(?:nostru|firmei\s+noastre)"
    r"|la\s+noi\s+la\s+(?:birou|sediu))\b"
)
# What follows the cue, if it says where: "in Cluj", "at Str. X 5", "din Iași", "la adresa ...".
_WHERE = re.compile(r"[ \t]*,?[ \t]*(?:in|at|din|de\s+pe|la\s+adresa|:)\s+([^\n!?;]+)")
# Where the place ends: a sentence end (not after "Str.", "nr."), or the day and time that
# often follow it ("in Cluj on Tuesday at 3", "din Iași, marți la 14").
_ABBREVIATION = re.compile(r"\b(?:str|nr|bd|bld|bl|sc|ap|et|no|st|ave|rd|jud|sect|calea)$")
_WHEN = re.compile(
    rf"[\s,]*\b(?:on|pe|next|this|tomorrow|maine|{_WD_RE}|{_MONTH_RE}|at\s+\d|la\s+(?:ora\s+)?\d"
    r"|\d{1,2}(?::\d\d)?\s*[ap]\.?m\b)"
)


@dataclass(frozen=True)
class PlaceRequest:
    """`kind` is "online" or "client"; `text` is the client's words for the place, if any."""

    kind: str
    text: str = ""


def requested_place(text: str) -> PlaceRequest | None:
    """The place the client asks for, or None to use the office's default."""
    folded = _fold(text)
    low = folded.lower()
    if len(low) != len(text):  # positions must map back onto the original text
        low, text = folded.lower(), folded
    if _ONLINE.search(low):
        return PlaceRequest("online")
    cue = _THEIRS.search(low)
    if cue:
        where = _WHERE.match(low, cue.end())
        end = _place_end(low, where.start(1), where.end(1)) if where else 0
        said = text[where.start(1) : end] if where else ""
        return PlaceRequest("client", _clean(said))
    return None


def _place_end(low: str, start: int, end: int) -> int:
    """Where the client's words for the place stop."""
    when = _WHEN.search(low, start, end)
    if when:
        end = when.start()
    for dot in re.finditer(r"\.(?=\s|$)", low[start:end]):
        if not _ABBREVIATION.search(low[start : start + dot.start()]):
            return start + dot.start()
    return end


def _clean(value: str) -> str:
    value = " ".join(value.split()).strip(" ,;:-")
    return value[:MAX_PLACE].rstrip()
