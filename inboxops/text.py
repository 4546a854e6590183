"""Pure text helpers shared by parsing and classifying: Romanian normalisation, diacritic folding,
HTML to text, and removal of quoted replies and signatures.

Nothing here does I/O; every function takes a str and returns a str.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from html.parser import HTMLParser

__all__ = ["fold_diacritics", "html_to_text", "normalize_ro", "strip_quoted"]

# --- Romanian normalisation -------------------------------------------------------------------

# REPLY-9: ISO-8859-2, windows-1250 and cp852 can only encode the cedilla forms, so old clients
# send ş ţ where Romanian uses the comma-below ș ț. Matching must treat them as one letter.
_CEDILLA_TO_COMMA = (
    ("\u015f", "\u0219"), ("\u0163", "\u021b"), ("\u015e", "\u0218"), ("\u0162", "\u021a"),
)  # fmt: skip


def normalize_ro(s: str) -> str:
    """Replace cedilla ş ţ Ş Ţ (U+015F/0163/015E/0162) with comma-below ș ț Ș Ț (REPLY-9)."""
    # str.translate looks up every character in a dict; a scan and a replace in C are much
    # cheaper, and most text has nothing to replace; ASCII text (a flag) has none at all.
    if s.isascii():
        return s
    for cedilla, comma in _CEDILLA_TO_COMMA:
        if cedilla in s:
            s = s.replace(cedilla, comma)
    return s


class _FoldTable(dict[int, str]):
    """str.translate table built lazily: each non-ASCII code point maps to its base letter.

    A letter whose canonical decomposition is one base character plus combining marks
    (ă â î ș ş ț ţ é ...) maps to that base character; a lone combining mark maps to nothing.
    Anything else (ß, Hangul, CJK ...) is kept as it is.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if unicodedata.combining(char):
            folded = ""
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
            )
            folded = base if len(base) == 1 else char
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold_diacritics(s: str) -> str:
    """Lower-case and strip diacritics (ă→a, â→a, î→i, ș/ş→s, ț/ţ→t) for matching."""
    lowered = s.lower()
    if lowered.isascii():
        return lowered
    return lowered.translate(_FOLD)


# --- HTML to text -----------------------------------------------------------------------------

# Elements whose content is never text a reader sees.
_SKIP = frozenset({"script", "style", "template", "title"})
# Block elements end the current line; those in _PARAGRAPH also leave a blank line.
_PARAGRAPH = frozenset(
    {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre", "table", "ul"}
)
_BLOCK = _PARAGRAPH | frozenset(
    {
        "address", "article", "aside", "body", "caption", "center", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header",
        "html", "legend", "li", "main", "nav", "section", "summary", "tbody", "tfoot", "thead",
        "tr",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\n\r\f\v]+")

# The pre-pass (see _sanitize_html) keeps only these shapes of markup.
# Possessive quantifiers (Python 3.11+): a failed match must not backtrack through a long name.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*+)[^<>]*+>")
_DECLARATION = re.compile(r"<[!?][^<>]*+>")


def _sanitize_html(markup: str) -> str:
    """Reduce markup to bare tags, text and entities, in one linear pass.

    html.parser on CPython 3.11.7 is quadratic on malformed input (unclosed tags, comments or
    quoted attributes: CVE-2025-6069); 20 kB of "<a\\n" takes seconds. Here every scan stops at the
    next "<" or ">", so the pass is linear and what html.parser then sees is always well formed:
    comments and declarations are dropped, attributes are dropped, a stray "<" becomes "&lt;", and
    an unclosed comment swallows the rest of the document, as it does in a browser.
    """
    out: list[str] = []
    pos = 0
    length = len(markup)
    while pos < length:
        lt = markup.find("<", pos)
        if lt < 0:
            out.append(markup[pos:])
            break
        out.append(markup[pos:lt])
        if markup.startswith("<!--", lt):
            end = markup.find("-->", lt + 4)
            if end < 0:
                break
            pos = end + 3
            continue
        tag = _TAG.match(markup, lt)
        if tag:
            out.append(f"<{tag[1]}{tag[2].lower()}>")
            pos = tag.end()
            continue
        declaration = _DECLARATION.match(markup, lt)
        if declaration:
            pos = declaration.end()
            continue
        out.append("&lt;")
        pos = lt + 1
    return "".join(out)


class _TextExtractor(HTMLParser):
    """Collects visible text line by line; blockquote content gets "> " like a quoted reply."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._line_quote = 0
        self._quote = 0
        self._skip = 0
        self._pre = 0
        self._in_head = False

    # Line assembly.
    def _flush(self, *, force: bool = False) -> None:
        if self._line or force:
            text = "".join(self._line).rstrip()
            depth = self._line_quote if self._line else self._quote
            self.lines.append("> " * depth + text if depth else text)
            self._line = []

    def _break(self, *, blank: bool) -> None:
        self._flush()
        if blank and self.lines and self.lines[-1].strip("> "):
            self.lines.append("> " * self._quote if self._quote else "")

    def _add(self, text: str) -> None:
        if not self._line:
            self._line_quote = self._quote
        self._line.append(text)

    # HTMLParser hooks.
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "head":
            self._in_head = True
        elif tag in ("body", "br") or tag in _BLOCK or tag in _CELLS:
            self._in_head = False  # body content ends an unclosed <head>
        if tag == "br":
            self._flush(force=True)
        elif tag in _CELLS:
            if self._line:
                self._add(" ")
        elif tag in _BLOCK:
            self._break(blank=tag in _PARAGRAPH)
        if tag == "blockquote":
            self._quote += 1
        elif tag == "pre":
            self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "head":
            self._in_head = False
        if tag == "br":
            self._flush(force=True)
        elif tag in _BLOCK:
            self._break(blank=tag in _PARAGRAPH)
        if tag == "blockquote":
            self._quote = max(0, self._quote - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip or self._in_head or not data:
            return
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._add(first)
            for piece in rest:
                self._flush(force=True)
                self._add(piece)
            return
        text = _SPACES.sub(" ", data)
        if not self._line:
            text = text.lstrip(" ")
        elif text.startswith(" ") and self._line[-1].endswith(" "):
            text = text[1:]
        if text:
            self._add(text.replace("\xa0", " "))


def _tidy_lines(lines: list[str]) -> str:
    """Strip trailing blanks from lines, collapse runs of blank lines, trim the ends."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line.strip("> ") and (not out or not out[-1].strip("> ")):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


# A numeric character reference past U+10FFFF, written without leading zeros: 8+ decimal or
# 7+ hex digits. html.parser turns its digits into an int first, and past 4300 digits Python
# refuses (ValueError, CVE-2020-10735's limit), so a long one made the whole message fail.
_HUGE_CHARREF = re.compile(r"&#(?:0*[1-9][0-9]{7,}|[xX]0*[1-9a-fA-F][0-9a-fA-F]{6,});?")


def html_to_text(html: str) -> str:
    """Visible text of an HTML document: no script/style, line breaks kept, entities decoded.

    Blockquote content is prefixed with "> " so strip_quoted treats it as a quoted reply.
    A character reference out of Unicode's range becomes U+FFFD, as HTML5 §13.2.5.80 says.
    """
    clean = _HUGE_CHARREF.sub("\ufffd", _sanitize_html(html))
    extractor = _TextExtractor()
    try:
        extractor.feed(clean)
        extractor.close()
    except (AssertionError, ValueError):  # html.parser's own errors on input it cannot read
        flat = _SPACES.sub(" ", html_lib.unescape(_TAG.sub(" ", clean)))
        return flat.replace("\xa0", " ").strip()
    extractor._flush()
    return _tidy_lines(extractor.lines)


# --- Quoted replies and signatures ------------------------------------------------------------

# Attribution lines, matched on fold_diacritics(line) so "În"/"In" and "ş"/"ș" are one pattern.
# Written for this project from the formats Gmail, Outlook, Thunderbird and Apple Mail produce.
_WROTE = re.compile(r"^\s*(?:on|pe|in)\s.*\s(?:wrote|a\s+scris)\s*:\s*$")
_WROTE_START = re.compile(r"^\s*(?:on|pe|in)\s")
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:original\s+message|mesaj(?:ul)?\s+original)\s*-{2,}|_{16,})\s*$"
)
_OUTLOOK_FROM = re.compile(r"^\s*\**\s*(?:from|de\s+la)\s*:")
_OUTLOOK_SENT = re.compile(r"^\s*\**\s*(?:sent|date|trimis|data)\s*:")
_OUTLOOK_ONE_LINE = re.compile(r"^\s*\**\s*(?:from|de\s+la)\s*:.*\s\**(?:sent|trimis)\s*:")
# Gmail wraps a long "On ..., Name <address> wrote:" over two or three lines.
_MAX_ATTRIBUTION_LINES = 3
_MAX_ATTRIBUTION_CHARS = 500
_OUTLOOK_LOOKAHEAD = 5
_ATTRIBUTION_STARTS = frozenset("oOpPiIfFdD-_")
# How a folded line can begin, after its blanks and stars, if one of the patterns above is to match.
_CAN_START = re.compile(r"--|__|fro|de\s|on\s|pe\s|in\s")


def _attribution_length(lines: list[str], i: int) -> int:
    """How many lines starting at i form a quote attribution; 0 if line i does not start one."""
    # Every pattern below starts (after blanks and Outlook's "*") with o, p, i, f, d, "-" or
    # "_": a line starting with another ASCII character is not tried (most lines, cheaply).
    start = lines[i].lstrip()
    if start[:1] == "*":
        start = start.lstrip("*").lstrip()
    if start[:1].isascii() and start[:1] not in _ATTRIBUTION_STARTS:
        return 0
    # Folding maps character by character, so the fold of the first few characters is the start
    # of the line's fold: unless it could begin a pattern, the whole line need not be folded.
    head = fold_diacritics(start[:6])
    if len(head) >= 3 and not head[0].isspace() and head[0] != "*" and not _CAN_START.match(head):
        return 0
    first = fold_diacritics(lines[i])
    if len(first) > _MAX_ATTRIBUTION_CHARS:
        return 0
    if _SEPARATOR.match(first) or _OUTLOOK_ONE_LINE.match(first):
        return 1
    if _WROTE_START.match(first):
        joined = first
        for extra in range(_MAX_ATTRIBUTION_LINES):
            if _WROTE.match(joined):
                return extra + 1
            nxt = i + extra + 1
            if nxt >= len(lines) or not lines[nxt].strip():
                break
            joined = f"{joined} {fold_diacritics(lines[nxt])}"
            if len(joined) > _MAX_ATTRIBUTION_CHARS:
                break
        return 0
    if _OUTLOOK_FROM.match(first):
        end = min(len(lines), i + 1 + _OUTLOOK_LOOKAHEAD)
        for nxt in range(i + 1, end):
            if _OUTLOOK_SENT.match(fold_diacritics(lines[nxt])):
                # The block runs to the first blank line (From/Sent/To/Cc/Subject).
                span = 1
                while i + span < end and lines[i + span].strip():
                    span += 1
                return span
    return 0


def _is_signature_delimiter(line: str) -> bool:
    # RFC 3676 §4.3 defines "-- " (with the space); many editors trim it to "--".
    return line in ("-- ", "--")


def strip_quoted(text: str) -> str:
    """The new content of a reply: quoted lines, the quoted message and the signature removed.

    Drops lines starting with ">" and cuts from the first attribution ("On ... wrote:",
    "-----Original Message-----", an Outlook "From:/Sent:" block, "Pe ... a scris:",
    "În data de ... a scris:", "-----Mesaj original-----", "De la:/Trimis:") or signature
    delimiter ("-- "). An attribution with nothing new above it (bottom posting) is skipped
    instead of cut at. Returns the original text if nothing would be left.
    """
    lines = text.splitlines()
    kept: list[str] = []
    has_content = False
    i = 0
    while i < len(lines):
        line = lines[i]
        start = line.lstrip()
        if start.startswith(">"):
            i += 1
            continue
        if _is_signature_delimiter(line):
            if has_content:
                break
            i += 1
            continue
        # _attribution_length's first test, here: most lines fail it, and skip the call.
        first = start[:1]
        if first.isascii() and first not in _ATTRIBUTION_STARTS and first != "*":
            span = 0
        else:
            span = _attribution_length(lines, i)
        if span:
            if has_content:
                break
            i += span
            continue
        kept.append(line)
        has_content = has_content or bool(line.strip())
        i += 1
    if not has_content:
        return text
    return "\n".join(kept).strip()
