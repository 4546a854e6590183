"""Split a well-formed message into its MIME tree in one pass over the bytes; None if unusual.

`email.feedparser` reads a message line by line in Python, re-parses a part's Content-Type for
every child and compiles one regex per boundary: most of the parse time of a typical message.
Here the header blocks and boundary lines are found with bytes.find, and the result is the same
tree of `email.message.Message` objects the feed parser builds (compat32 policy, so header
values stay strings; parse.py reads them as policy.default would, see `fast_header`).

Only mail the feed parser would read without a single defect, cap or guess is accepted: every
header line well formed, a blank line after every header block, boundaries found where RFC 2046
puts them, no message/* parts, no lone CR, sizes well inside parse.py's caps. For anything else
`split_message` returns None and parse.py uses the feed parser, so odd mail keeps every
protection and defect it had; this module only has to be right about the easy cases.
"""

from __future__ import annotations

import quopri
import re
from email.message import Message
from email.policy import compat32, default
from typing import Any

from inboxops.intake.fastheaders import mime_params, mime_text

__all__ = ["leaf_bytes", "split_message"]

# Below parse.py's caps (MAX_MIME_PARTS 200, MAX_MIME_DEPTH 20, header caps), so that an accepted
# message never reaches one of them.
_MAX_PARTS = 100
_MAX_DEPTH = 10
_MAX_FIELDS = 500
_MAX_BLOCK = 128 * 1024
_MAX_MIME_SEMICOLONS = 16
_MAX_MIME_PARENS = 16
_MIME_FIELDS = ("content-type", "content-disposition", "content-transfer-encoding")

# A header block the feed parser reads without a defect: every line a field (email.feedparser's
# headerRE without its "From " branch) or a continuation of one; and each field of it.
_BLOCK = re.compile(r"[\041-\071\073-\176]+:.*\n(?:(?:[ \t].*|[\041-\071\073-\176]+:.*)\n)*")
# The value as header_source_parse gives it: blanks after the colon dropped, line breaks between
# continuation lines kept, the last one not.
# A block _BLOCK accepted splits into its fields at each line break not followed by a blank.
_FIELD_BREAK = re.compile(r"\n(?![ \t])")
_LONE_CR = re.compile(rb"\r(?!\n)")
# What may follow "--boundary" on a boundary line (feedparser's boundaryre, after the separator).
_BOUNDARY_TAIL = re.compile(rb"(--)?[ \t]*\r?")
_TOKEN = re.compile(r"[!#$%&'*+.^_`{|}~0-9A-Za-z-]+")
# name="text" or name=token, or an RFC 2231 name*= / name*0*= with a token value.
_DISPOSITION_PARAMS = re.compile(
    r"""(?:[ \t]*(?:
        [A-Za-z0-9._-]+="[ !#-\[\]-~]*"
      | [A-Za-z0-9._-]+(?:\*[0-9]+)?\*?=[!#-'*+.0-9A-Z^-~-]+
    )[ \t]*(?:;|$))*""",
    re.VERBOSE,
)


class _Part(Message):
    """A compat32 Message whose header fields are set once, looked up through a dict.

    Message.get scans and lower-cases every field name on each call, and the walk asks a
    part's Content-Type many times. The MIME fields are returned as their text, which policy.default
    reads the same way (checked by _plain_mime before anything reads them); any other field
    (Content-ID, by `start` of multipart/related) as the policy.default header object, as before.
    """

    def __init__(self) -> None:
        super().__init__(policy=compat32)
        self._first: dict[str, tuple[str, str]] = {}
        self._params: dict[str, str] | None = None
        self._ctype: str | None = None
        self.raw: bytes | None = None  # a leaf's body, the bytes its str payload was made from

    def set_fields(self, fields: list[tuple[str, str]]) -> None:
        self._headers = fields
        first = self._first
        for item in fields:
            first.setdefault(item[0].lower(), item)

    def get(self, name: str, failobj: Any = None) -> Any:
        lname = name.lower()
        item = self._first.get(lname)
        if item is None:
            return failobj
        if lname in _MIME_FIELDS:
            return item[1]
        return default.header_fetch_parse(*item)

    def get_content_type(self) -> str:
        """Message.get_content_type, worked out once (the fields never change)."""
        if self._ctype is None:
            self._ctype = super().get_content_type()
        return self._ctype

    def get_param(
        self, param: str, failobj: Any = None, header: str = "content-type", unquote: bool = True
    ) -> Any:
        """Message.get_param, from the parameters read once (Content-Type only, as checked)."""
        if header.lower() != "content-type" or not unquote:
            return super().get_param(param, failobj, header, unquote)
        if self._params is None:
            item = self._first.get("content-type")
            if item is None:
                return failobj
            self._params = mime_params(item[1])
        return self._params.get(param.lower(), failobj)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first


class _Reject(Exception):
    """Not a message this reader handles; the caller uses the feed parser."""


class _Splitter:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.parts = 0

    def part(self, start: int, end: int, depth: int, boundaries: tuple[bytes, ...]) -> Message:
        """The part in data[start:end]: its header block, then a leaf body or its sub-parts."""
        self.parts += 1
        if self.parts > _MAX_PARTS or depth > _MAX_DEPTH:
            raise _Reject
        data = self.data
        msg = _Part()
        body = self._headers(msg, start, end, top=depth == 0)
        ctype = msg.get_content_type()
        maintype = ctype.partition("/")[0]
        if maintype == "message" or ctype == "multipart/digest":
            raise _Reject  # the feed parser parses these as nested messages
        if maintype != "multipart":
            payload = data[body:end]
            if depth:  # RFC 2046 §5.1.1: the line break before a boundary belongs to it
                if payload.endswith(b"\r\n"):
                    payload = payload[:-2]
                elif payload.endswith(b"\n"):
                    payload = payload[:-1]
            msg.set_payload(payload.decode("ascii", "surrogateescape"))
            msg.raw = payload
            return msg
        boundary = msg.get_boundary()
        if not boundary or not boundary.isascii():
            raise _Reject
        cte = str(msg.get("content-transfer-encoding", "8bit")).lower()
        if cte not in ("7bit", "8bit", "binary"):
            raise _Reject
        sep = b"--" + boundary.encode("ascii")
        if any(sep.startswith(b) or b.startswith(sep) for b in boundaries):
            raise _Reject  # one boundary line could end both multiparts
        lines = self._boundary_lines(sep, body, end)
        children = [
            self.part(after, lines[i + 1][0], depth + 1, (*boundaries, sep))
            for i, (_, after) in enumerate(lines[:-1])
        ]
        msg.set_payload(children)  # type: ignore[arg-type]
        return msg

    def _boundary_lines(self, sep: bytes, start: int, end: int) -> list[tuple[int, int]]:
        """(line start, next line start) of each boundary line, the close line last."""
        data = self.data
        found: list[tuple[int, int]] = []
        pos = start
        while True:
            at = data.find(sep, pos, end)
            if at < 0:
                raise _Reject  # no close boundary (CloseBoundaryNotFoundDefect)
            pos = at + 1
            if at != start and data[at - 1] != 0x0A:
                continue
            tail = at + len(sep)
            newline = data.find(b"\n", tail, end)
            line_end = end if newline < 0 else newline
            match = _BOUNDARY_TAIL.fullmatch(data, tail, line_end)
            if match is None or (newline < 0 and data.endswith(b"\r", tail, line_end)):
                continue
            after = end if newline < 0 else newline + 1
            if found and found[-1][1] == at:
                raise _Reject  # back-to-back boundary lines: the feed parser merges them
            closing = match[1] is not None
            if closing and not found:
                raise _Reject  # StartBoundaryNotFoundDefect
            found.append((at, after))
            if closing:
                return found
            pos = after

    def _headers(self, msg: _Part, start: int, end: int, *, top: bool) -> int:
        """Read the header block at data[start:] into msg; return where the body starts."""
        data = self.data
        if data.startswith(b"\n", start, end):
            header_end, body = start, start + 1
        elif data.startswith(b"\r\n", start, end):
            header_end, body = start, start + 2
        else:
            # The first "\n\r?\n" (what _BLANK_LINE.search finds), with two finds in C.
            crlf = data.find(b"\n\r\n", start, end)
            lf = data.find(b"\n\n", start, end if crlf < 0 else crlf + 2)
            if lf >= 0:
                header_end, body = lf + 1, lf + 2
            elif crlf >= 0:
                header_end, body = crlf + 1, crlf + 3
            else:
                raise _Reject  # no blank line ends the header block
        if header_end == start:
            if top:
                raise _Reject  # no header at all: parse.py raises ParseError
            return body
        if header_end - start > _MAX_BLOCK:
            raise _Reject
        block = data[start:header_end].decode("ascii", "surrogateescape")
        if _BLOCK.fullmatch(block) is None:
            raise _Reject  # a line that is neither a field nor a continuation ("From " too)
        fields, longest = _fields(block)
        if len(fields) > _MAX_FIELDS:
            raise _Reject
        # A field's size below is at most its source's length + 2: most blocks skip the loop.
        if len(block) > _SMALLEST_CAP and longest + 2 > _SMALLEST_CAP:
            for name, blanks, value in fields:
                # The field's size as parse.py counts it (at most 1 too many: LF-only lines).
                size = len(name) + len(blanks) + len(value) + 3
                if size > _SMALLEST_CAP and size > _FIELD_CAPS.get(name.lower(), _MAX_FIELD):
                    raise _Reject  # parse.py would cap it
        msg.set_fields(
            [(name, _unfold(value) if "\n" in value else value) for name, _, value in fields]
        )
        for field in _MIME_FIELDS:
            value = msg.get(field)
            if value is not None and not _plain_mime(field, value):
                raise _Reject
        return body


def _fields(block: str) -> tuple[list[tuple[str, str, str]], int]:
    """(name, blanks after the colon, value) of each field of a block _BLOCK accepted: the value
    as header_source_parse gives it (line breaks between continuation lines kept, the last one
    and its CR not). String methods in C; a regex matching the fields costs a step a character.
    With the length of the longest field's source, so that the caps need no loop when none
    comes near them (the common case).
    """
    fields = []
    pieces = _FIELD_BREAK.split(block[:-1])
    for piece in pieces:
        name, _, rest = piece.partition(":")
        value = rest.lstrip(" \t")
        blanks = rest[: len(rest) - len(value)]
        fields.append((name, blanks, value[:-1] if value.endswith("\r") else value))
    return fields, max(map(len, pieces))


def _unfold(value: str) -> str:
    """A folded value unfolded, as parse.py reads it (no lone CR: split_message checked)."""
    return value.replace("\r\n", "").replace("\n", "")


def _plain_mime(field: str, value: str) -> bool:
    """True if policy.default reads this MIME field as compat32 reads its text.

    Content-Type and -Transfer-Encoding: only the shapes whose parameters both read alike.
    Content-Disposition is only asked for its first word, so RFC 2231 file names may stay, in
    the shapes on which the stdlib header parser does not fail.
    """
    if value.count(";") > _MAX_MIME_SEMICOLONS or value.count("(") > _MAX_MIME_PARENS:
        return False  # parse.py's _tame_mime_field would shorten it
    if field != "content-disposition":
        return mime_text(field, value) is not None
    head, _, rest = value.partition(";")
    return _TOKEN.fullmatch(head) is not None and _DISPOSITION_PARAMS.fullmatch(rest) is not None


# At most half of parse.py's per-field caps (1,000 short, 4,000 address, 32,000 other).
_SMALLEST_CAP = 500
_MAX_FIELD = 16_000
_FIELD_CAPS = {
    **dict.fromkeys(
        ("from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender",
         "resent-to", "resent-cc", "resent-bcc"),
        2_000,
    ),
    **dict.fromkeys(
        ("content-type", "content-disposition", "content-transfer-encoding", "mime-version",
         "message-id", "date", "orig-date", "resent-date"),
        500,
    ),
}


# The transfer encodings whose decoding Message.get_payload(decode=True) may record defects for
# (base64 padding) or that it decodes with more than one function: left to the stdlib.
_STDLIB_DECODED = frozenset({"base64", "x-uuencode", "uuencode", "uue", "x-uue"})


def leaf_bytes(part: Message) -> bytes | None:
    """`part.get_payload(decode=True)` of a leaf made by split_message, without the str round trip
    (its payload str is `raw` decoded as ASCII with surrogate escapes, so `raw` is what get_payload
    would encode it back to); None for any other part or encoding: ask get_payload.
    """
    if type(part) is not _Part or part.raw is None:
        return None
    cte = str(part.get("content-transfer-encoding", "")).lower()
    if cte in _STDLIB_DECODED:
        return None
    if cte == "quoted-printable":
        return quopri.decodestring(part.raw)
    return part.raw


def split_message(data: bytes) -> Message | None:
    """The MIME tree of `data` as the feed parser would build it, or None to use the feed parser.

    `data` starts at the first header line (parse.py strips leading blank lines).
    """
    if b"\r" in data and _LONE_CR.search(data):
        return None  # a lone CR is a line break to the feed parser; leave it to it
    try:
        return _Splitter(data).part(0, len(data), 0, ())
    except _Reject:
        return None
