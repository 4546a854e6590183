"""Raw message bytes → ParsedMessage: the pure parse stage (PROTOCOLS PARSE-1..7, REPLY-2, -9, -10).

`parse_message` never raises for bad mail. It parses what can be parsed and lists what it could
not, in words, in `ParsedMessage.defects` (the stdlib's message and header defects plus our own:
unknown charsets, missing parts, caps reached); defect-heavy mail goes to a human (PARSE-1).
It raises ParseError only when the input is not a message at all (see parse_message).

The stdlib parser is used with `email.policy.default` (never compat32: PARSE-1, REPLY-2), fed
through a subclass that bounds the two costs CPython 3.11 does not: MIME nesting (the parser
recurses once per level, so 1000 levels raise RecursionError) and header size (the header value
parser is quadratic, gh-136063). Everything after that is one capped walk over the MIME tree.
"""

from __future__ import annotations

import codecs
import dataclasses
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import MessageError
from email.feedparser import FeedParser
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import Message
from email.policy import EmailPolicy
from email.utils import collapse_rfc2231_value
from functools import lru_cache
from itertools import chain, filterfalse
from typing import Any

from inboxops.errors import ParseError
from inboxops.intake.fastheaders import fast_header
from inboxops.intake.language import detect_language
from inboxops.intake.mimesplit import leaf_bytes, split_message
from inboxops.models import ParsedMessage
from inboxops.text import html_to_text, normalize_ro, strip_quoted

__all__ = [
    "MAX_MIME_DEPTH",
    "MAX_MIME_PARTS",
    "MAX_TEXT_CHARS",
    "parse_message",
]

log = logging.getLogger(__name__)

# --- Limits (PARSE-3) ---------------------------------------------------------------------------
MAX_MIME_DEPTH = 20
MAX_MIME_PARTS = 200
MAX_TEXT_CHARS = 200_000
LANGUAGE_SAMPLE = 3_000  # the opening says which language; the rest only costs time
MAX_HTML_CHARS = 500_000  # HTML is cut to this before conversion; markup shrinks a lot
MAX_CALENDAR_BYTES = 1_000_000
MAX_HEADER_FIELDS = 1000  # per header block
MAX_HEADER_BLOCK_CHARS = 256 * 1024
MAX_DEFECTS = 50
# Per-field caps. The structured headers go through the quadratic parser (gh-136063): a
# Content-Type of 4000 ";" takes half a second on 3.11.7, and the feed parser reads a part's
# Content-Type once per child part. Real values are far below these caps.
_DEFAULT_FIELD_CAP = 32_000
_ADDRESS_FIELD_CAP = 4_000
_SHORT_FIELD_CAP = 1_000
_ADDRESS_HEADERS = (
    "from", "sender", "reply-to", "to", "cc", "bcc",
    "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc",
)  # fmt: skip
_SHORT_HEADERS = (
    "content-type", "content-disposition", "content-transfer-encoding", "mime-version",
    "message-id", "date", "orig-date", "resent-date",
)  # fmt: skip
_FIELD_CAPS: dict[str, int] = {
    **dict.fromkeys(_ADDRESS_HEADERS, _ADDRESS_FIELD_CAP),
    **dict.fromkeys(_SHORT_HEADERS, _SHORT_FIELD_CAP),
}
# A content-type with more parameters or comments than this is hostile, not unusual
# (nested comments recurse once per level in the header parser).
_MIME_FIELDS = frozenset({"content-type", "content-disposition", "content-transfer-encoding"})
_MAX_MIME_FIELD_SEMICOLONS = 16
_MAX_MIME_FIELD_PARENS = 16

_CAPPED_TYPE = "application/x-inboxops-capped"
# What the stdlib email package has been seen to raise on hostile input instead of recording a
# defect (header parser recursion on nested comments, index and type errors in odd params ...).
_EMAIL_ERRORS = (
    MessageError, ValueError, TypeError, IndexError, KeyError, AttributeError, AssertionError,
    RecursionError, LookupError,
)  # fmt: skip
_FALLBACK_CHARSETS = ("utf-8", "windows-1250", "iso-8859-2")
# "us-ascii" on UTF-8 text is common and harmless (often the default of a mail library).
_ASCII_AS_UTF8 = ("ascii", "utf-8")
# Codecs whose bytes.decode gives what their incremental decoder gives on the whole input.
_ONE_SHOT = frozenset({"utf-8", "ascii", "iso8859-2", "cp1250", "iso8859-1"})
_UTF8_GOOD_PER_BAD = 4  # valid multi-byte characters per bad sequence to still call it UTF-8
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})

_STRUCTURED = frozenset(HeaderRegistry().registry)
_LINESEP = re.compile(r"\r\n|\r|\n")
_SURROGATES = re.compile(r"[\udc80-\udcff]")
# REPLY-10: C0 controls (TAB too: a subject is one line), DEL, C1 (U+0085 among them), U+2028/9.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# RFC 5322 §3.6.4 msg-id, dot-atom-text forms; an id-right may also be a no-fold-literal.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_MSG_ID = re.compile(rf"<{_DOT_ATOM}@(?:{_DOT_ATOM}|\[[!-Z^-~]*\])>")
_BRACKETED = re.compile(r"<([^<>]*)>")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_LOOSE_ADDRESS = re.compile(r"[A-Za-z0-9._%+'=-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CALENDAR_METHOD = re.compile(rb"^METHOD[ \t]*:[ \t]*([A-Za-z-]+)", re.MULTILINE | re.IGNORECASE)


# --- Policy: email.policy.default with memoised header objects ----------------------------------


class _Registry(HeaderRegistry):
    """HeaderRegistry that builds each header class once (the stock one builds a new class with
    type() on every lookup, about a third of the header time)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


_REGISTRY = _Registry()
_MAX_MEMO_VALUE = 2_000


@lru_cache(maxsize=4096)
def _memo_header(name: str, value: str) -> BaseHeader:
    return _REGISTRY(name, value)  # type: ignore[no-any-return]


class _Policy(EmailPolicy):
    """email.policy.default, except that parsed header objects are memoised.

    The parser and Message read a part's Content-Type many times (once per child part, per
    get_content_type/get_param call) and each read re-parses it. Header objects are immutable,
    so sharing one per (name, raw value) is safe.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or len(value) > _MAX_MEMO_VALUE:
            return super().header_fetch_parse(name, value)
        return _memo_header(name, "".join(_LINESEP.split(value)))


_POLICY = _Policy(header_factory=_REGISTRY)


# --- The capped feed parser -------------------------------------------------------------------


def _cap_header_lines(lines: list[str], notes: list[str]) -> list[str]:
    """Bound one header block: field count, total size and each field's size (PARSE-3)."""
    out: list[str] = []
    fields = 0
    size = 0
    i = 0
    while i < len(lines):
        j = i + 1
        while j < len(lines) and lines[j][:1] in (" ", "\t"):
            j += 1
        group = lines[i:j]
        i = j
        group_size = sum(map(len, group))
        name = group[0].partition(":")[0].strip()
        cap = _FIELD_CAPS.get(name.lower(), _DEFAULT_FIELD_CAP)
        if group_size > cap:
            value = "".join(group)[:cap]
            if ":" not in value:
                notes.append("header with an over-long name ignored")
                continue
            group = [value]
            group_size = cap
            notes.append(f"{name} header truncated to {cap} characters")
        if fields >= MAX_HEADER_FIELDS or size + group_size > MAX_HEADER_BLOCK_CHARS:
            notes.append(
                f"header block capped at {fields} fields ({size} characters); the rest ignored"
            )
            break
        fields += 1
        size += group_size
        if name.lower() in _MIME_FIELDS:
            group = _tame_mime_field(group, name, notes)
        out.extend(group)
    return out


def _tame_mime_field(group: list[str], name: str, notes: list[str]) -> list[str]:
    value = "".join(group)
    semicolons = value.count(";")
    parens = value.count("(")
    if semicolons <= _MAX_MIME_FIELD_SEMICOLONS and parens <= _MAX_MIME_FIELD_PARENS:
        return group
    if parens > _MAX_MIME_FIELD_PARENS:
        value = value.replace("(", "").replace(")", "")
    if semicolons > _MAX_MIME_FIELD_SEMICOLONS:
        value = ";".join(value.split(";", _MAX_MIME_FIELD_SEMICOLONS + 1)[:-1])
    notes.append(f"{name} header with too many parameters or comments shortened")
    return [value]


class _CappedFeedParser(FeedParser):  # type: ignore[type-arg]
    """FeedParser (policy.default semantics) that caps header size and MIME depth while it parses.

    Overrides the private `_parse_headers` hook (stable since Python 3.3): after a part's headers
    are read, a multipart or message/* part at the depth cap, or past the part cap, is retyped
    so the parser reads its content as one opaque leaf instead of recursing into it.
    """

    def __init__(self) -> None:
        super().__init__(policy=_POLICY)
        self.notes: list[str] = []
        self.parts = 0

    def _parse_headers(self, lines: list[str]) -> None:
        super()._parse_headers(_cap_header_lines(lines, self.notes))  # type: ignore[misc]
        self.parts += 1
        depth = len(self._msgstack) - 1  # type: ignore[attr-defined]
        if depth < MAX_MIME_DEPTH and self.parts <= MAX_MIME_PARTS:
            return
        current: Message = self._cur  # type: ignore[attr-defined]
        if current.get_content_maintype() in ("multipart", "message"):
            del current["content-type"]
            current["Content-Type"] = _CAPPED_TYPE
            if depth >= MAX_MIME_DEPTH:
                self.notes.append(f"MIME depth capped at {MAX_MIME_DEPTH}")
            else:
                self.notes.append(f"MIME part count capped at {MAX_MIME_PARTS}")


def _parse_tree(raw: bytes, notes: list[str]) -> tuple[Message, bool]:
    """The message tree and whether its body was parsed (False: headers only, after a failure)."""
    # Same decoding as email.message_from_bytes: bytes are kept as surrogate escapes.
    source = raw.decode("ascii", "surrogateescape")
    parser = _CappedFeedParser()
    try:
        parser.feed(source)
        msg: Message = parser.close()
    except _EMAIL_ERRORS as exc:  # the stdlib parser failing on hostile input
        log.warning("MIME parse failed (%s); reading headers only", type(exc).__name__)
        notes.append(f"MIME structure could not be parsed ({type(exc).__name__}); body not read")
        parser = _CappedFeedParser()
        parser._set_headersonly()  # type: ignore[attr-defined]
        try:
            parser.feed(source)
            msg = parser.close()
        except _EMAIL_ERRORS as again:
            raise ParseError(f"message could not be parsed: {type(again).__name__}") from again
        notes.extend(parser.notes)
        return msg, False
    notes.extend(parser.notes)
    return msg, True


# --- Small helpers ------------------------------------------------------------------------------


def _one_line(value: str) -> str:
    """A header value safe to show or copy into a header: controls become spaces (REPLY-10)."""
    if not value.isprintable():  # printable: none of _CONTROL's characters (Cc, Zl, Zp)
        value = _CONTROL.sub(" ", value)
    return " ".join(value.split())


@lru_cache(maxsize=64)
def _codec(charset: str) -> str | None:
    """Python's codec name for a MIME charset, or None if unknown or not a text encoding."""
    try:
        info = codecs.lookup(charset)
    except (LookupError, ValueError, TypeError):
        return None
    # rot13, base64, zlib ... are codecs too, but bytes-to-bytes or str-to-str ones.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _decode_bytes(
    data: bytes, declared: str | None, limit: int, what: str, defects: list[str]
) -> str:
    """Decode with declared → utf-8 → windows-1250 → iso-8859-2 → latin-1 (PARSE-2).

    Each step is strict and the first that fits wins; latin-1 (with errors="replace") always
    does. Input beyond `limit` characters is cut; an incomplete character at the cut is no error.
    """
    truncated = len(data) > limit * 4
    if truncated:
        data = data[: limit * 4]
    declared_codec = _codec(declared) if declared else None
    candidates = [c for c in (declared_codec, *_FALLBACK_CHARSETS) if c]
    candidates = list(dict.fromkeys(candidates))
    text: str | None = None
    used = "latin-1"
    for charset in candidates:
        try:
            if truncated or charset not in _ONE_SHOT:
                decoder = codecs.getincrementaldecoder(charset)("strict")
                text = decoder.decode(data, final=not truncated)
            else:  # the same text and errors as the incremental decoder with final=True
                text = data.decode(charset)
        except (UnicodeError, ValueError, LookupError, TypeError):
            if charset == "utf-8":
                text = _mostly_utf8(data, what, defects)
            if text is None:
                continue
        used = charset
        break
    if text is None:
        text = data.decode("latin-1", "replace")
    if declared and declared_codec is None:
        defects.append(f"unknown charset {_one_line(declared)[:40]}, decoded as {used}")
    elif declared_codec and used != declared_codec and (declared_codec, used) != _ASCII_AS_UTF8:
        defects.append(f"{what} not valid {declared_codec}, decoded as {used}")
    elif not declared and used != "utf-8":
        defects.append(f"{what} has no charset and is not utf-8, decoded as {used}")
    if "\r" in text:  # CRLF and lone CR become LF, as _LINESEP.sub("\n", text) would
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    if truncated or len(text) > limit:
        text = text[:limit]
        defects.append(f"{what} truncated to {limit} characters")
    return text


def _mostly_utf8(data: bytes, what: str, defects: list[str]) -> str | None:
    """UTF-8 with a few bad bytes, decoded with U+FFFD for them; None if it is not UTF-8.

    One stray byte must not send a UTF-8 body down the 8-bit fallbacks, which would garble
    every diacritic; a text in another 8-bit charset has no valid multi-byte sequences at all.
    """
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if non_ascii - bad < _UTF8_GOOD_PER_BAD * bad:
        return None
    defects.append(f"{what} not valid utf-8; {bad} bad sequences replaced")
    return text


def _desurrogate(value: str, what: str, defects: list[str]) -> str:
    """Turn raw 8-bit bytes kept as surrogate escapes into text (RFC 6532 UTF-8, or a guess)."""
    if not _SURROGATES.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    return _decode_bytes(data, None, len(data), what, defects)


def _describe(defect: Exception) -> str:
    name = type(defect).__name__.removesuffix("Defect")
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()
    detail = _one_line(str(defect))[:120]
    return f"{words}: {detail}" if detail and detail.lower() != words else words


def _valid_ids(value: str) -> list[str]:
    """Valid <left@right> ids in a header value, in order, without repeats (REPLY-2)."""
    ids: list[str] = []
    seen: set[str] = set()
    for inner in _BRACKETED.findall(value):
        candidate = f"<{inner.strip()}>"
        if _MSG_ID.fullmatch(candidate) and candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids


# --- Headers ------------------------------------------------------------------------------------


@dataclass
class _Headers:
    values: dict[str, list[str]] = field(default_factory=dict)  # str() of each header object
    raw: dict[str, list[str]] = field(default_factory=dict)  # unfolded source text
    objects: dict[str, list[Any]] = field(default_factory=dict)  # header objects, None if failed


# Decoded ASCII headers that raised no defect, by (name, source value): a correspondent's From,
# To and Cc, MIME-Version and the common Content-Types repeat from message to message. The
# header objects are only read (their .addresses, .datetime), so sharing them is safe.
_HEADER_MEMO: dict[tuple[str, str], tuple[str, str, Any]] = {}
_MAX_HEADER_MEMO = 4096
# Fields whose value is one message's own: never found in the memo again. Kept out of it, or
# they fill it and it is cleared every ~1,000 messages, correspondents and all.
_UNIQUE = frozenset({"message-id", "date", "received", "references", "in-reply-to",
                     "resent-message-id", "resent-date"})


def _read_headers(msg: Message, defects: list[str]) -> _Headers:
    """Every top-level header decoded once: lower-cased name → values, plus the header objects."""
    result = _Headers()
    values, raws, objects = result.values, result.raw, result.objects
    for name, raw in msg.raw_items():
        lname = name.strip().lower()
        value = raw if isinstance(raw, str) else str(raw)
        header: Any = None
        if lname not in _STRUCTURED and value.isascii() and "=?" not in value:
            # Unstructured ASCII without encoded words decodes to itself, unfolded; skipping the
            # header parser here saves most of the header time (Received, DKIM, ARC ...).
            text = unfolded = _unfold(value) if "\n" in value or "\r" in value else value
        elif lname not in _UNIQUE and (memo := _HEADER_MEMO.get((name, value))) is not None:
            unfolded, text, header = memo
        else:
            key = (name, value)
            before = len(defects)
            if not value.isascii():
                value = _desurrogate(value, f"8-bit {name} header", defects)
            unfolded = _unfold(value)
            text, header = _decode_header(name, lname, unfolded, defects)
            if len(defects) == before and key[1].isascii() and lname not in _UNIQUE:
                if len(_HEADER_MEMO) >= _MAX_HEADER_MEMO:
                    _HEADER_MEMO.clear()
                _HEADER_MEMO[key] = (unfolded, text, header)
        if lname in values:
            values[lname].append(text)
            raws[lname].append(unfolded)
            objects[lname].append(header)
        else:
            values[lname] = [text]
            raws[lname] = [unfolded]
            objects[lname] = [header]
    return result


def _unfold(value: str) -> str:
    return "".join(_LINESEP.split(value)) if "\n" in value or "\r" in value else value


def _decode_header(name: str, lname: str, value: str, defects: list[str]) -> tuple[str, Any]:
    """str() of the policy.default header object and the object (or a stand-in with the same
    `.addresses` / `.datetime`); None for the object if the header parser failed."""
    fast = fast_header(lname, value)
    if fast is not None:  # the common shapes, decoded exactly as the stdlib would
        return fast
    try:
        header = _POLICY.header_fetch_parse(name, value)
        text = str(header)
    except _EMAIL_ERRORS as exc:
        defects.append(f"{name} header could not be parsed ({type(exc).__name__})")
        return value, None
    defects.extend(f"{name} header: {_describe(defect)}" for defect in header.defects)
    return text, header


def _addresses(headers: _Headers, name: str) -> list[Address]:
    """Routable addresses (with a domain) from every header called `name`."""
    return _routable(headers.objects.get(name, []))


def _routable(objects: list[Any]) -> list[Address]:
    found: list[Address] = []
    for header in objects:
        if header is None or not hasattr(header, "addresses"):
            continue
        for address in header.addresses:
            if address.domain and address.username:
                found.append(address)
    return found


def _bare(address: Address) -> str:
    return address.addr_spec.lower()


def _sender(headers: _Headers, defects: list[str]) -> tuple[str, str]:
    """from_addr and from_name (PARSE-5: the parsed address, never a lenient guess, if any)."""
    values = headers.values.get("from", [])
    if not values:
        defects.append("no From header")
        return "", ""
    if len(values) > 1:
        defects.append(f"{len(values)} From headers; using the first")
    addresses = _routable(headers.objects["from"][:1])
    if addresses:
        if len(addresses) > 1:
            defects.append(f"From has {len(addresses)} addresses; using the first")
        first = addresses[0]
        return _bare(first), normalize_ro(_one_line(first.display_name))
    # PARSE-5: a guess is only ever taken from the header's own text, never from inside an
    # encoded word or a quoted name (both can spell out any address they like).
    plain = _QUOTED.sub(" ", _ENCODED_WORD.sub(" ", headers.raw["from"][0]))
    bracketed = [b.strip() for b in _BRACKETED.findall(plain)
                 if _LOOSE_ADDRESS.fullmatch(b.strip())]
    loose = _LOOSE_ADDRESS.search(plain)
    guess = bracketed[-1] if bracketed else (loose.group(0) if loose else "")
    if guess:
        defects.append("From header unparseable; address guessed from its text")
        return guess.lower(), ""
    defects.append("From header has no usable address")
    return "", ""


def _return_path(headers: _Headers) -> str | None:
    """The envelope sender: None if absent, "" for <> or a path without a usable address."""
    values = headers.values.get("return-path")
    if not values:
        return None
    value = values[0].strip()
    bracketed = _BRACKETED.search(value)
    inner = bracketed.group(1).strip() if bracketed else value
    return inner.lower() if "@" in inner and not any(c.isspace() for c in inner) else ""


def _date(headers: _Headers, defects: list[str]) -> datetime | None:
    objects = headers.objects.get("date", [])
    if not objects:
        return None
    header = objects[0]
    when = getattr(header, "datetime", None) if header is not None else None
    if not isinstance(when, datetime):
        defects.append("Date header unparseable")
        return None
    if when.tzinfo is None:  # "-0000": UTC, with no local offset known (RFC 5322 §3.3)
        when = when.replace(tzinfo=UTC)
    return when


def _first_id(headers: _Headers, name: str) -> str | None:
    # The source text, not str(header): the msg-id parser rebuilds "<a@b@c>" as "<a@b>".
    for value in headers.raw.get(name, []):
        ids = _valid_ids(value)
        if ids:
            return ids[0]
    return None


# --- Body ---------------------------------------------------------------------------------------


@dataclass
class _Walk:
    plain: Message | None = None
    html: Message | None = None
    calendar: Message | None = None
    visited: list[tuple[Message, str]] = field(default_factory=list)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except _EMAIL_ERRORS:  # a hostile header the header parser cannot read
        return "application/octet-stream"


def _is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except _EMAIL_ERRORS:
        return False


def _param(part: Message, name: str) -> str | None:
    """A Content-Type parameter as text (RFC 2231 values collapsed), or None."""
    try:
        value = part.get_param(name)
    except _EMAIL_ERRORS:
        return None
    if value is None:
        return None
    text = collapse_rfc2231_value(value) if isinstance(value, tuple) else str(value)
    return text.strip() or None


def _related_start(part: Message, children: list[Message]) -> Message | None:
    """The root part of a multipart/related (RFC 2387 §3.2: `start`, else the first part)."""
    wanted = _param(part, "start")
    if wanted:
        for child in children:
            if str(child.get("content-id", "")).strip() == wanted:
                return child
    return children[0] if children else None


def _walk(msg: Message, defects: list[str]) -> _Walk:
    """One capped pre-order walk: the body candidates and the first calendar part.

    Body choice follows Message.get_body(("plain", "html")): skip attachments, only the root
    of a multipart/related, no descent into message/*; first text/plain, else first text/html.
    get_body itself is not used because it recurses without a depth cap and visits every part.
    A multipart that the parser could not split (no boundary) is read as text (PARSE-3).
    """
    result = _Walk()
    stack: list[tuple[Message, int, bool]] = [(msg, 0, True)]
    while stack:
        part, depth, eligible = stack.pop()
        if len(result.visited) >= MAX_MIME_PARTS:
            defects.append(f"MIME part count capped at {MAX_MIME_PARTS}")
            break
        ctype = _content_type(part)
        result.visited.append((part, ctype))
        maintype = ctype.partition("/")[0]
        if maintype == "multipart":
            if part.is_multipart():
                if depth >= MAX_MIME_DEPTH:
                    defects.append(f"MIME depth capped at {MAX_MIME_DEPTH}")
                    continue
                children = [p for p in part.get_payload() if isinstance(p, Message)]
                root = _related_start(part, children) if ctype == "multipart/related" else None
                for child in reversed(children):
                    child_eligible = eligible and (root is None or child is root)
                    stack.append((child, depth + 1, child_eligible))
            elif eligible and result.plain is None:
                result.plain = part
            continue
        if ctype in _CALENDAR_TYPES and result.calendar is None:
            result.calendar = part
        elif ctype == "application/ms-tnef":
            defects.append("application/ms-tnef part (winmail.dat) not read")  # PARSE-4
        if not eligible or maintype != "text" or _is_attachment(part):
            continue
        if ctype == "text/plain" and result.plain is None:
            result.plain = part
        elif ctype == "text/html" and result.html is None:
            result.html = part
    if _content_type(msg).startswith("multipart/") and not msg.is_multipart():
        defects.append("multipart message without usable boundary read as text")
    return result


def _payload(part: Message, what: str, defects: list[str]) -> bytes:
    fast = leaf_bytes(part)
    if fast is not None:
        return fast
    try:
        data = part.get_payload(decode=True)
    except _EMAIL_ERRORS as exc:
        defects.append(f"{what} could not be decoded ({type(exc).__name__})")
        return b""
    return data if isinstance(data, bytes) else b""


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except _EMAIL_ERRORS:
        return None


def _part_text(part: Message, limit: int, what: str, defects: list[str]) -> str:
    return _decode_bytes(_payload(part, what, defects), _charset(part), limit, what, defects)


def _body(found: _Walk, defects: list[str]) -> str:
    """The text body: text/plain, or HTML converted when there is no usable plain text."""
    text = ""
    if found.plain is not None:
        text = _part_text(found.plain, MAX_TEXT_CHARS, "text", defects)
    if not text.strip() and found.html is not None:
        markup = _part_text(found.html, MAX_HTML_CHARS, "HTML", defects)
        text = html_to_text(markup)
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS]
            defects.append(f"text truncated to {MAX_TEXT_CHARS} characters")
    if found.plain is None and found.html is None:
        defects.append("no text part")
    return text


def _calendar(part: Message, defects: list[str]) -> tuple[str | None, bytes]:
    """METHOD (Content-Type method=, else the METHOD: line; upper-case) and the part's bytes."""
    data = _payload(part, "calendar part", defects)
    if len(data) > MAX_CALENDAR_BYTES:
        data = data[:MAX_CALENDAR_BYTES]
        defects.append(f"calendar part truncated to {MAX_CALENDAR_BYTES} bytes")
    param = _param(part, "method")
    param_method = param.upper() if param else None
    line = _CALENDAR_METHOD.search(data)
    body_method = line.group(1).decode("ascii").upper() if line else None
    if param_method and body_method and param_method != body_method:
        # ICS-2: they must agree; clients act on the body, so a human should look.
        defects.append(
            f"calendar METHOD {body_method} differs from Content-Type method={param_method}"
        )
    return param_method or body_method, data


# --- Entry point ------------------------------------------------------------------------------


def _finish_defects(defects: list[str]) -> list[str]:
    unique = list(dict.fromkeys(defects))
    if len(unique) > MAX_DEFECTS:
        extra = len(unique) - MAX_DEFECTS
        unique = [*unique[:MAX_DEFECTS], f"... and {extra} more defects"]
    return unique


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse the raw bytes of one message; defects are recorded, never raised.

    Raises ParseError only for input that is not a message at all: empty or blank input, or no
    header field before the body (the caller quarantines it; it is never dropped).
    """
    data = bytes(raw)
    if not data.strip():
        raise ParseError("empty input: not an email message")
    defects: list[str] = []
    stripped = data.lstrip(b"\r\n")
    if len(stripped) != len(data):
        defects.append("blank lines before the headers skipped")
    fast_tree = split_message(stripped)  # None unless the message is plainly well formed
    if fast_tree is not None:
        msg, body_parsed = fast_tree, True
    else:
        msg, body_parsed = _parse_tree(stripped, defects)
    if not msg.keys():
        raise ParseError("no header fields: not an email message")

    headers = _read_headers(msg, defects)
    from_addr, from_name = _sender(headers, defects)
    reply_to = _addresses(headers, "reply-to")
    if "reply-to" in headers.values and not reply_to:
        defects.append("Reply-To header has no usable address; ignored")
    subject_values = headers.values.get("subject", [])
    subject = normalize_ro(_one_line(subject_values[0])) if subject_values else ""

    text_body = ""
    calendar_method: str | None = None
    calendar: bytes | None = None
    if body_parsed:
        found = _walk(msg, defects)
        text_body = normalize_ro(_body(found, defects))
        if found.calendar is not None:
            calendar_method, calendar = _calendar(found.calendar, defects)
        for part, ctype in found.visited:
            where = "message" if part is msg else f"{ctype} part"
            defects.extend(f"{where}: {_describe(d)}" for d in part.defects)
    else:
        defects.extend(f"message: {_describe(d)}" for d in msg.defects)

    new_text = strip_quoted(text_body)
    # In field order. Made without ParsedMessage's __init__: a frozen dataclass sets each of
    # its 19 fields through object.__setattr__, ~10 us a message; the value is the same.
    parsed = object.__new__(ParsedMessage)
    parsed.__dict__.update(
        message_id=_first_id(headers, "message-id"),
        from_addr=from_addr,
        from_name=from_name,
        reply_to=_bare(reply_to[0]) if reply_to else None,
        to=list(dict.fromkeys(_bare(a) for a in _addresses(headers, "to"))),
        cc=list(dict.fromkeys(_bare(a) for a in _addresses(headers, "cc"))),
        subject=subject,
        date=_date(headers, defects),
        in_reply_to=_first_id(headers, "in-reply-to"),
        references=_valid_ids(" ".join(headers.raw.get("references", []))),
        text=new_text,
        full_text=text_body,
        language=detect_language(f"{subject}\n{new_text[:LANGUAGE_SAMPLE]}"),
        return_path=_return_path(headers),
        headers=headers.values,
        content_type=_content_type(msg),
        calendar_method=calendar_method,
        calendar=calendar,
        defects=_finish_defects(defects),
    )
    return _scrubbed(parsed)


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _scrub(value: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", value)


def _scrubbed(parsed: ParsedMessage) -> ParsedMessage:
    """No lone surrogate (an undecodable byte) leaves the parser: SQLite, JSON and the SMTP
    encoder all refuse them, and one such name once stopped the whole queue."""
    # Only a non-ASCII string can hold a surrogate (isascii is a flag, O(1)), and UTF-8
    # refuses exactly the surrogates: one join and encode in C of the few non-ASCII values
    # clears most messages (every str field and header value is among these).
    p = parsed
    strings = chain(
        (p.message_id or "", p.from_addr, p.from_name, p.reply_to or "", p.subject,
         p.in_reply_to or "", p.text, p.full_text, p.language, p.return_path or "",
         p.content_type, p.calendar_method or ""),
        p.to, p.cc, p.references, p.defects, chain.from_iterable(p.headers.values()))
    try:
        "".join(filterfalse(str.isascii, strings)).encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return parsed

    def bad(value: str) -> bool:  # ASCII text (most values) is known to be clean in O(1)
        return not value.isascii() and _LONE_SURROGATE.search(value) is not None

    changes: dict[str, object] = {}
    for name in _PARSED_FIELDS:
        value = getattr(parsed, name)
        if isinstance(value, str) and bad(value):
            changes[name] = _scrub(value)
        elif isinstance(value, list) and any(isinstance(v, str) and bad(v) for v in value):
            changes[name] = [_scrub(v) if isinstance(v, str) else v for v in value]
    if any(bad(v) for vs in parsed.headers.values() for v in vs):
        changes["headers"] = {k: [_scrub(v) for v in vs] for k, vs in parsed.headers.items()}
    return dataclasses.replace(parsed, **changes) if changes else parsed  # type: ignore[arg-type]


_PARSED_FIELDS = tuple(item.name for item in dataclasses.fields(ParsedMessage))
