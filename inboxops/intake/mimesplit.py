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

import re
from email.message import Message
from email.policy import compat32

from inboxops.intake.fastheaders import mime_text

__all__ = ["split_message"]

# Below parse.py's caps (MAX_MIME_PARTS 200, MAX_MIME_DEPTH 20, header caps), so that an accepted
# message never reaches one of them.
_MAX_PARTS = 100
_MAX_DEPTH = 10
_MAX_FIELDS = 500
_MAX_BLOCK = 128 * 1024
_MAX_MIME_SEMICOLONS = 16
_MIME_FIELDS = ("content-type", "content-disposition", "content-transfer-encoding")

# email.feedparser.headerRE without its "From " and continuation branches.
_FIELD_NAME = re.compile(r"[\041-\071\073-\176]+:")
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
        msg = Message(policy=compat32)
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

    def _headers(self, msg: Message, start: int, end: int, *, top: bool) -> int:
        """Read the header block at data[start:] into msg; return where the body starts."""
        data = self.data
        if data.startswith(b"\n", start, end):
            header_end, body = start, start + 1
        elif data.startswith(b"\r\n", start, end):
            header_end, body = start, start + 2
        else:
            lf = data.find(b"\n\n", start, end)
            crlf = data.find(b"\n\r\n", start, end)
            if crlf >= 0 and (lf < 0 or crlf < lf):
                header_end, body = crlf + 1, crlf + 3
            elif lf >= 0:
                header_end, body = lf + 1, lf + 2
            else:
                raise _Reject  # no blank line ends the header block
        if header_end == start:
            if top:
                raise _Reject  # no header at all: parse.py raises ParseError
            return body
        if header_end - start > _MAX_BLOCK:
            raise _Reject
        block = data[start:header_end].decode("ascii", "surrogateescape")
        fields: list[tuple[str, str]] = []
        name = ""
        lines: list[str] = []
        for line in block.split("\n")[:-1]:
            if line[:1] in (" ", "\t"):
                if not name:
                    raise _Reject  # FirstHeaderLineIsContinuationDefect
                lines.append(line)
                continue
            if name:
                fields.append(_field(name, lines))
            match = _FIELD_NAME.match(line)
            if match is None or line.startswith("From "):
                raise _Reject
            name = match[0][:-1]
            lines = [line]
        if name:
            fields.append(_field(name, lines))
        if len(fields) > _MAX_FIELDS:
            raise _Reject
        msg._headers = fields  # type: ignore[attr-defined]
        for field in _MIME_FIELDS:
            value = msg.get(field)
            if value is not None and not _plain_mime(field, value):
                raise _Reject
        return body


def _field(name: str, lines: list[str]) -> tuple[str, str]:
    """(name, value) as email.policy's header_source_parse gives them, but already unfolded."""
    size = sum(map(len, lines)) + len(lines)
    if size > _FIELD_CAPS.get(name.lower(), _MAX_FIELD):
        raise _Reject  # parse.py would cap it
    value = "\n".join(lines)[len(name) + 1 :].lstrip(" \t")
    return name, value.replace("\r", "").replace("\n", "")


def _plain_mime(field: str, value: str) -> bool:
    """True if policy.default reads this MIME field as compat32 reads its text.

    Content-Type and -Transfer-Encoding: only the shapes whose parameters both read alike.
    Content-Disposition is only asked for its first word, so RFC 2231 file names may stay, in
    the shapes on which the stdlib header parser does not fail.
    """
    if value.count(";") > _MAX_MIME_SEMICOLONS:
        return False
    if field != "content-disposition":
        return mime_text(field, value) is not None
    head, _, rest = value.partition(";")
    return _TOKEN.fullmatch(head) is not None and _DISPOSITION_PARAMS.fullmatch(rest) is not None


# At most half of parse.py's per-field caps (1,000 short, 4,000 address, 32,000 other).
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


def split_message(data: bytes) -> Message | None:
    """The MIME tree of `data` as the feed parser would build it, or None to use the feed parser.

    `data` starts at the first header line (parse.py strips leading blank lines).
    """
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None  # a lone CR is a line break to the feed parser; leave it to it
    try:
        return _Splitter(data).part(0, len(data), 0, ())
    except _Reject:
        return None
