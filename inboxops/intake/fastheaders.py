"""Fast decoding of the common, well-formed header shapes, exactly as `email.policy.default` would.

The stdlib header parser (`email._header_value_parser`) builds a token tree for every structured
header and costs about 100 µs a header; for a Subject of encoded words or a From of the form
`Name <user@host>` the answer is a few string operations. Each decoder here accepts only a strict
grammar on ASCII input and returns None for anything else, so the caller falls back to the stdlib
header object for that one header: the fast answer is either the stdlib's answer or no answer.
tests/test_parse_fast.py checks that claim against the stdlib on generated and real headers.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

__all__ = ["FastAddresses", "FastDate", "fast_header"]

# RFC 2047 §2 encoded-word, as a whole whitespace-delimited token; no language tag (RFC 2231 §5).
_EW = re.compile(r"=\?([^?\s*]+)\?([bBqQ])\?([^?\s]*)\?=")
_Q_ESCAPE = re.compile(rb"=([a-fA-F0-9]{2})")
_Q_STRAY = re.compile(rb"=(?![a-fA-F0-9]{2})")  # an "=" that _Q_ESCAPE leaves as it is
_TOKENS = re.compile(r"[ \t]+|[^ \t]+")
# Printable ASCII and the two folding whitespace characters; anything else goes to the stdlib.
_PRINTABLE = re.compile(r"[ \t!-~]*")
# RFC 5322 §3.2.3 atext, dot-atom; an addr-spec of dot-atoms only (no quoted local part).
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"
_ADDR_SPEC = re.compile(rf"({_DOT_ATOM})@({_DOT_ATOM})")
# One mailbox: a bare addr-spec, or an optional display name then <addr-spec>. The display name
# is atoms and encoded words separated by spaces, or one quoted string without escapes.
_MAILBOX = re.compile(
    rf"""[ \t]*(?:
        (?P<bare>{_DOT_ATOM}@{_DOT_ATOM})
      | (?:(?P<quoted>"[ \t!#-\[\]-~]*")|(?P<phrase>[{_ATEXT}]+(?:[ \t]+[{_ATEXT}]+)*))?
        (?P<gap>[ \t]*)<(?P<angle>{_DOT_ATOM}@{_DOT_ATOM})>
    )[ \t]*(?:,|$)""",
    re.VERBOSE,
)
_MSG_ID = re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>")
_MIME_VERSION = re.compile(r"[0-9]\.[0-9]")
# Content-Type / -Disposition / -Transfer-Encoding of RFC 2045 tokens and quoted strings without
# quoted-pairs; parameter names without "*" (RFC 2231 values are decoded by the stdlib).
_TOKEN = r"[!#$%&'*+.^_`{|}~0-9A-Za-z-]+"
_QUOTED_VALUE = r'"[ \t!#-\[\]-~]+"'  # an empty one is rendered as a bare name
# In values and names "*", "'" and "%" mean RFC 2231 to the stdlib, so they are left to it.
_PLAIN_TOKEN = r"[!#$&+.^_`{|}~0-9A-Za-z-]+"
_PARAM = re.compile(rf"[ \t]*({_PLAIN_TOKEN})=({_PLAIN_TOKEN}|{_QUOTED_VALUE})")
_MIME_HEAD = {
    "content-type": re.compile(rf"{_TOKEN}/{_TOKEN}"),
    "content-disposition": re.compile(_TOKEN),
    "content-transfer-encoding": re.compile(_TOKEN),
}


@dataclass(frozen=True)
class FastAddresses:
    """Stands in for an AddressHeader: the parsed addresses, as `headerregistry.Address`."""

    addresses: tuple[Address, ...]


@dataclass(frozen=True)
class FastDate:
    """Stands in for a DateHeader: the parsed date."""

    datetime: datetime


_ADDRESS_NAMES = frozenset({
    "from", "sender", "reply-to", "to", "cc", "bcc",
    "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc",
})  # fmt: skip
_DATE_NAMES = frozenset({"date", "orig-date", "resent-date"})


def fast_header(lname: str, value: str) -> tuple[str, object] | None:
    """(str(header), header stand-in) as policy.default gives them, or None if unsure.

    `value` is the unfolded source text; None means "ask the stdlib" (unusual shape, non-ASCII,
    anything the stdlib would flag as a defect). The stand-in carries what parse.py reads from
    header objects: `.addresses` for address headers, `.datetime` for dates, else nothing.
    """
    # _PRINTABLE: for ASCII, isprintable() is "!"-"~" and space; only a tab needs the regex.
    if not value.isascii() or not (value.isprintable() or _PRINTABLE.fullmatch(value)):
        return None
    if lname in _ADDRESS_NAMES:
        return _addresses(value)  # memoised: correspondents repeat
    if lname in _DATE_NAMES:
        return _date(value)
    if lname == "message-id":
        return (value, None) if _MSG_ID.fullmatch(value) else None
    if lname == "mime-version":
        return (value, None) if _MIME_VERSION.fullmatch(value) else None
    if lname in _MIME_HEAD:
        text = mime_text(lname, value)
        return None if text is None else (text, None)
    text = unstructured(value)
    return None if text is None else (text, None)


def mime_params(value: str) -> dict[str, str]:
    """Parameters of a MIME field that `mime_text` accepted: lower-cased name → unquoted value,
    what Message.get_param returns for it under either policy."""
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value, value.find(";") + 1):
        quoted = match[2]
        params[match[1].lower()] = quoted[1:-1] if quoted.startswith('"') else quoted
    return params


@lru_cache(maxsize=1024)
def mime_text(lname: str, value: str) -> str | None:
    """str() of a Content-Type/-Disposition/-Transfer-Encoding header object, or None if unsure.

    The stdlib re-renders the parameters: `; name="value"`, each value quoted, whatever the
    source did. A value it would read differently from the plain text (RFC 2231, comments,
    quoted-pairs, "=" or "<" in an unquoted value, repeated names) gets None.
    """
    head, semicolon, rest = value.partition(";")
    if not _MIME_HEAD[lname].fullmatch(head):
        return None
    if not semicolon:
        return value
    if lname == "content-transfer-encoding":
        return None
    params: list[str] = []
    names: set[str] = set()
    pos = 0
    while True:
        match = _PARAM.match(rest, pos)
        if match is None:
            break
        name = match[1].lower()
        if name in names or "=?" in match[2]:
            return None
        names.add(name)
        quoted = match[2] if match[2].startswith('"') else f'"{match[2]}"'
        params.append(f"{match[1]}={quoted}")
        pos = match.end()
        if rest.startswith(";", pos):
            pos += 1
        elif pos != len(rest):
            return None
    if pos != len(rest) or (not params and rest):
        return None
    return f"{head}; {'; '.join(params)}" if params else f"{head};"


def _decode_ew(charset: str, cte: str, payload: str) -> str | None:
    """One encoded word's text (email._encoded_words.decode), or None where it would differ."""
    data = payload.encode("ascii")
    if cte in "qQ":
        data = data.replace(b"_", b" ")
        if _Q_STRAY.search(data) is None:  # every "=" starts an escape: a2b_qp decodes alike
            data = binascii.a2b_qp(data)
        else:
            data = _Q_ESCAPE.sub(lambda m: bytes.fromhex(m[1].decode()), data)
    else:
        if len(data) % 4:  # the stdlib pads it and records a defect
            return None
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
    try:
        text = data.decode(charset)
    except (LookupError, UnicodeError, ValueError):
        return None
    # Controls in the decoded text are defects (NonPrintableDefect) in the stdlib.
    if not text.isprintable():
        return None
    return text


@lru_cache(maxsize=2048)
def unstructured(value: str) -> str | None:
    """RFC 2047 decoding of an unstructured value (email._header_value_parser.get_unstructured):
    encoded words decoded, whitespace between two encoded words dropped, the rest kept as is."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending_ws = ""
    last_ew = False
    for token in _TOKENS.findall(value):
        if token[0] in " \t":
            pending_ws = token
            continue
        if token.startswith("=?"):
            match = _EW.fullmatch(token)
            if match is None:
                return None
            text = _decode_ew(match[1], match[2], match[3])
            if text is None:
                return None
            if not last_ew:
                out.append(pending_ws)
            out.append(text)
            last_ew = True
        else:
            if "=?" in token:  # an encoded word inside an atom: the stdlib splits it
                return None
            out.append(pending_ws)
            out.append(token)
            last_ew = False
        pending_ws = ""
    out.append(pending_ws)
    return "".join(out)


def _display_name(phrase: str) -> str | None:
    """The display name of a phrase of atoms and encoded words (stdlib: runs of whitespace become
    one space, also inside the decoded text of an encoded word)."""
    words: list[str] = []
    for word in phrase.split():
        if word.startswith("=?"):
            match = _EW.fullmatch(word)
            if match is None:
                return None
            text = _decode_ew(match[1], match[2], match[3])
            if text is None or text != text.strip(" \t") or "  " in text or "\t" in text:
                return None
            words.append(text)
        elif "=?" in word:
            return None
        else:
            words.append(word)
    return " ".join(words)


@lru_cache(maxsize=2048)
def _addresses(value: str) -> tuple[str, object] | None:
    """An address list of plain mailboxes (no groups, comments, quoted local parts, routes)."""
    found: list[Address] = []
    pos = 0
    end = len(value)
    if not value.strip(" \t"):
        return None  # empty: the stdlib records a defect
    while pos < end:
        match = _MAILBOX.match(value, pos)
        if match is None:
            return None
        pos = match.end()
        if match["bare"]:
            spec = match["bare"]
            name = ""
        else:
            spec = match["angle"]
            if match["quoted"] is not None:
                name = match["quoted"][1:-1]
                if not name.strip(" \t") or "=?" in name:
                    return None
            elif match["phrase"] is not None:
                if not match["gap"] and match["phrase"].endswith("?="):
                    return None  # the stdlib wants whitespace after an encoded word
                decoded = _display_name(match["phrase"])
                if decoded is None:
                    return None
                name = decoded
            else:
                name = ""
        if value[pos - 1 : pos] == "," and not value[pos:].strip(" \t"):
            return None  # a trailing comma: an empty element, a defect in the stdlib
        local, _, domain = spec.rpartition("@")
        found.append(Address(name, local, domain))
    addresses = tuple(found)
    return ", ".join(str(a) for a in addresses), FastAddresses(addresses)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, 1)}
# The RFC 5322 date-time shape most mail has: 4-digit year from 1000 (parsedate reads a year below
# 100 as 19xx/20xx), numeric zone with minutes below 60 (format_datetime then writes it back as is).
_PLAIN_DATE = re.compile(
    rf"(?:(?:{'|'.join(_DAYS)}), )?([0-9]{{1,2}}) ({'|'.join(_MONTHS)}) ([1-9][0-9]{{3}}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-][0-9]{2}[0-5][0-9])"
)


def _plain_date(value: str) -> tuple[str, object] | None:
    """parsedate_to_datetime and format_datetime for _PLAIN_DATE, without their general parsing
    (and strftime); None if the value has another shape or is out of range."""
    match = _PLAIN_DATE.fullmatch(value)
    if match is None:
        return None
    day, year, hour, minute, second = map(int, match.group(1, 3, 4, 5, 6))
    zone = match[7]
    try:
        if zone == "-0000":  # no offset known: parsedate_to_datetime gives a naive datetime
            when = datetime(year, _MONTH_NUMBER[match[2]], day, hour, minute, second)
        else:
            offset = int(zone[1:3]) * 3600 + int(zone[3:]) * 60
            tz = timezone(timedelta(seconds=-offset if zone[0] == "-" else offset))
            when = datetime(year, _MONTH_NUMBER[match[2]], day, hour, minute, second, tzinfo=tz)
    except (ValueError, OverflowError):
        return None
    text = (
        f"{_DAYS[when.weekday()]}, {day:02d} {match[2]} {year:04d} "
        f"{hour:02d}:{minute:02d}:{second:02d} {zone}"
    )
    return text, FastDate(when)


def _date(value: str) -> tuple[str, object] | None:
    """RFC 5322 §3.3 date, through the same two functions DateHeader uses."""
    plain = _plain_date(value)
    if plain is not None:
        return plain
    try:
        when = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return format_datetime(when), FastDate(when)
