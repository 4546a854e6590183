"""The fast paths of parse.py give the stdlib's answers, or no answer.

mimesplit.split_message and fastheaders.fast_header each claim: for what they accept, the result
is what the feed parser and policy.default give; everything else they hand back (None). These
tests check both halves: generated headers against the stdlib header registry, and whole
messages through parse_message with and without the fast tree.
"""

from __future__ import annotations

import random
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from inboxops.intake import parse
from inboxops.intake.fastheaders import fast_header, mime_text
from inboxops.intake.mimesplit import split_message
from inboxops.models import ParsedMessage

FIXTURES = Path(__file__).parent / "fixtures" / "parse"
REGISTRY = HeaderRegistry()

ENCODED_WORDS = [
    "=?utf-8?q?Peter_M=C3=BCller?=", "=?UTF-8?B?TWFyaWEgSW9uZXNjdQ==?=", "=?utf-8?q?=C8=98tefan?=",
    "=?iso-8859-2?q?=BAtefan?=", "=?utf-8?q?a?=", "=?utf-8?b?YQ==?=", "=?utf-8?q?_a_?=",
    "=?utf-8?q?a__b?=", "=?utf-8?q?x=0Ay?=", "=?utf-8?b?YQ?=", "=?x-unknown?q?a?=",
    "=?utf-8?q?=FF?=", "=?utf-8*ro?q?a?=", "=?utf-8?q?a?b?=", "=?windows-1250?Q?=9Aa?=",
    '=?utf-8?q?"q"?=', "=?utf-8?q?a,b?=", "=?utf-8?q?<x>?=", "=?utf-8?q?a=2Eb?=",
]  # fmt: skip
ATOMS = ["Maria", "Ionescu", "O'Brien", "a.b", "x", "Dr.", "-", "#", "a=?b", "a@b", "Re:", "(x)"]
SPECS = ["maria@client.example", "a.b@c.d", "x+y@d.e", '"q"@d.e', "a@[1.2.3.4]", "a..b@c",
         "A@B.C", "a@b.", "a", "<a@b>"]  # fmt: skip
QUOTED = ["Ionescu, Maria", "a  b", " a", 'a\\"b', "x", "=?utf-8?q?a?=", "", "a\tb"]


def _name(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return f'"{rng.choice(QUOTED)}"'
    blank = rng.choice([" ", "  ", "\t"])
    return blank.join(rng.choice(ENCODED_WORDS + ATOMS) for _ in range(rng.randint(1, 3)))


def _mailbox(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return rng.choice(SPECS)
    return f"{_name(rng)}{rng.choice([' ', '', '  '])}<{rng.choice(SPECS)}>"


def _address_list(rng: random.Random) -> str:
    sep = rng.choice([", ", ",", " , "])
    value = sep.join(_mailbox(rng) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.1:
        value += rng.choice([",", " "])
    return f"g: {value};" if rng.random() < 0.05 else value


def _subject(rng: random.Random) -> str:
    words = [rng.choice([*ENCODED_WORDS, *ATOMS, "=?", "?="]) for _ in range(rng.randint(1, 5))]
    return "".join(w + rng.choice([" ", "  ", "\t", ""]) for w in words)


def test_fast_headers_match_the_stdlib_or_decline() -> None:
    rng = random.Random(15)
    accepted = 0
    for _ in range(4000):
        name = rng.choice(["from", "to", "cc", "reply-to", "subject", "x-note"])
        value = _address_list(rng) if name not in ("subject", "x-note") else _subject(rng)
        fast = fast_header(name, value)
        if fast is None:
            continue
        accepted += 1
        header = REGISTRY(name, value)
        assert (fast[0], header.defects) == (str(header), ()), value
        if hasattr(header, "addresses"):
            ours = [(a.display_name, a.username, a.domain) for a in fast[1].addresses]  # type: ignore[attr-defined]
            theirs = [(a.display_name, a.username, a.domain) for a in header.addresses]
            assert ours == theirs, value
    assert accepted > 500  # the generator does reach the fast path


def test_mime_fields_match_the_stdlib_or_decline() -> None:
    rng = random.Random(2045)
    heads = {
        "content-type": ["text/plain", "TEXT/Html", "multipart/mixed"],
        "content-disposition": ["attachment", "inline"],
        "content-transfer-encoding": ["base64", "Quoted-Printable"],
    }
    values = ["utf-8", '"utf-8"', '"a b"', '"a;b"', '""', "x*y", '"==x=="', "a.b", '"<a@b>"',
              "<a@b>", "a=b", '"a\\"b"', "%41", "utf-8''%C8%99", '"(c)"', "(c)",
              '"=?utf-8?q?a?="']  # fmt: skip
    names = ["charset", "Charset", "name", "filename*", "boundary", "start"]
    accepted = 0
    for _ in range(4000):
        field = rng.choice(list(heads))
        value = rng.choice(heads[field])
        for _ in range(rng.randint(0, 3)):
            value += rng.choice([";", "; ", " ;", ";;"]) + rng.choice(names) + "="
            value += rng.choice(values)
        text = mime_text(field, value)
        if text is None:
            continue
        accepted += 1
        header = REGISTRY(field, value)
        assert (text, header.defects) == (str(header), ()), value


def _slow(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> ParsedMessage:
    with monkeypatch.context() as m:
        m.setattr(parse, "split_message", lambda data: None)
        return parse.parse_message(raw)


def _generated() -> list[bytes]:
    """Well-formed mail of the shapes real clients send: alternatives, attachments, charsets."""
    out = []
    for charset, cte in (("utf-8", "quoted-printable"), ("utf-8", "base64"),
                         ("iso-8859-2", "quoted-printable"), ("utf-8", "8bit")):  # fmt: skip
        for shape in ("plain", "alternative", "mixed", "related"):
            msg = EmailMessage(policy=SMTP)
            msg["From"] = "=?utf-8?q?=C8=98tefan_Popescu?= <stefan@client.example>"
            msg["To"] = '"Ionescu, Maria" <maria@ops.example>, bob@ops.example'
            msg["Subject"] = "Ofertă pentru service — răspuns"
            msg["Date"] = "Mon, 30 Nov 2026 10:00:00 +0200"
            msg["Message-ID"] = f"<{shape}.{cte}@client.example>"
            body = "Bună ziua,\n\nVă rog o ofertă.\n\n> citat\n-- \nȘtefan\n"
            if charset == "iso-8859-2":
                body = body.replace("ș", "ş").replace("Ș", "Ş").replace("—", "-")
            if shape == "related":
                msg.set_content(f"<p>{body}</p>", subtype="html", charset=charset, cte=cte)
            else:
                msg.set_content(body, charset=charset, cte=cte)
            if shape in ("alternative", "mixed"):
                msg.add_alternative(f"<p>{body}</p>", subtype="html")
            if shape == "mixed":
                msg.add_attachment(b"%PDF-1.4 x", maintype="application", subtype="pdf",
                                   filename="Factură.pdf")  # fmt: skip
            if shape == "related":
                msg.add_related(b"GIF89a", maintype="image", subtype="gif", cid="<img1@x>")
            out.append(msg.as_bytes())
    return out


def test_fast_tree_gives_the_feed_parser_result(monkeypatch: pytest.MonkeyPatch) -> None:
    messages = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))] + _generated()
    fast = 0
    for raw in messages:
        if split_message(raw.lstrip(b"\r\n")) is not None:
            fast += 1
        assert parse.parse_message(raw) == _slow(raw, monkeypatch)
    assert fast >= len(messages) // 2


BASE = (
    b"From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="BB"\r\n\r\n'
)
PART = b"--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n"


RFC822 = b"--BB\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n"
END = b"--BB--\r\n"


@pytest.mark.parametrize(
    ("raw", "fast"),
    [
        pytest.param(BASE + PART + END, True, id="well-formed"),
        pytest.param(BASE + PART, False, id="no close boundary"),
        pytest.param(BASE + END, False, id="close boundary only"),
        pytest.param(BASE + PART + b"--BB\r\n" + PART + END, False, id="back-to-back"),
        pytest.param(BASE + PART.replace(b"hello", b"hel\rlo") + END, False, id="lone CR"),
        pytest.param(BASE + RFC822 + END, False, id="message/rfc822 part"),
        pytest.param(BASE.replace(b'"BB"', b"BB=x") + PART + END, False, id="odd boundary"),
        pytest.param(b"From someone Mon Nov 30\r\n" + BASE + PART + END, False, id="mbox From"),
        pytest.param(b" folded: first\r\n" + BASE + PART + END, False, id="first continuation"),
        pytest.param(b"Subject: x\r\nno colon here\r\n\r\nbody\r\n", False, id="no separator"),
        pytest.param(b"Subject: x\r\nFrom: a@b.example\r\n", False, id="headers only"),
        pytest.param(BASE.replace(b"mixed", b"digest") + PART + END, False, id="digest"),
        pytest.param(
            b"From: a@b.example\r\nContent-Type: text/plain; charset*=utf-8''x\r\n\r\nhi\r\n",
            False,
            id="RFC 2231 charset",
        ),
        pytest.param(b"Subject: " + b"x" * 40_000 + b"\r\n\r\nhi\r\n", False, id="huge field"),
        pytest.param(
            BASE + PART.replace(b"text/plain", b'text/plain; name="' + b"(" * 17 + b'"') + END,
            False,
            id="parentheses parse.py tames",
        ),
    ],
)
def test_unusual_mail_takes_the_feed_parser(
    raw: bytes, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the fast tree declines still gets the feed parser's result, defects and all."""
    assert (split_message(raw) is not None) == fast
    assert parse.parse_message(raw) == _slow(raw, monkeypatch)


def test_declines_what_it_cannot_read_exactly() -> None:
    assert split_message(BASE + PART) is None  # CloseBoundaryNotFoundDefect
    assert split_message(BASE + PART.replace(b"hello", b"hel\rlo") + b"--BB--\r\n") is None
    assert split_message(b"Subject: x\r\nno colon here\r\n\r\nbody\r\n") is None
    assert split_message(b"Subject: x\r\n\r\nbody\r\n") is not None
