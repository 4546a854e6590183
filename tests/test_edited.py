"""Reading a copy as the assistant left it: format=flowed undone, HTML-only edits, and Subject,
To and Cc taken only when they cannot inject a header or misroute a reply."""

from __future__ import annotations

import pytest

from inboxops.outbound.edited import UnusableCopy, copy_keys, read_copy, same_text, unflow


def copy(headers: str, body: str, ctype: str = "text/plain; charset=utf-8",
         cte: str = "8bit") -> bytes:
    head = ("From: Office <office@example.test>\r\nTo: Ana <ana@client.example>\r\n"
            "Subject: Re: Price\r\n" + headers)
    return (f"{head}MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n\r\n{body}").encode()


def test_flowed_soft_breaks_join_into_one_sentence() -> None:
    text = "Product 0 costs 25 euro and ships \r\nwithin three working \r\ndays.\r\n\r\nBest\r\n"
    assert unflow(text) == "Product 0 costs 25 euro and ships within three working days.\n\nBest\n"


def test_flowed_delsp_removes_the_space_the_sender_added() -> None:
    text = "Verylongwordthatwas \r\nsplit here.\r\n"
    assert unflow(text, delsp=True) == "Verylongwordthatwassplit here.\n"
    assert unflow(text, delsp=False) == "Verylongwordthatwas split here.\n"


def test_flowed_quotes_stuffing_and_signature() -> None:
    text = ("> quoted and \r\n> flowed\r\n From the top\r\n-- \r\nOffice \r\nteam\r\n"
            ">> deep \r\n> shallow\r\n")
    assert unflow(text).split("\n") == [
        "> quoted and flowed", "From the top", "-- ", "Office team", ">> deep", "> shallow", "",
    ]


def test_read_copy_decodes_flowed_with_and_without_delsp() -> None:
    plain = read_copy(copy("", "It costs 25 \r\neuro.\r\n",
                           "text/plain; charset=utf-8; format=flowed"))
    assert plain.text == "It costs 25 euro.\n"
    delsp = read_copy(copy("", "It co \r\nsts 25 euro.\r\n",
                           "text/plain; charset=utf-8; format=flowed; delsp=yes"))
    assert delsp.text == "It costs 25 euro.\n"
    fixed = read_copy(copy("", "It costs 25 \r\neuro.\r\n"))
    assert fixed.text == "It costs 25 \neuro.\n"  # not flowed: the line break is the author's


def test_html_only_copy_gets_a_text_part_and_keeps_its_html() -> None:
    html = "<html><body><p>Pre&#539;ul este <b>25 euro</b>.</p><p>Mul&#539;umim</p></body></html>"
    edit = read_copy(copy("", html, "text/html; charset=utf-8"))
    assert edit.text == "Prețul este 25 euro.\n\nMulțumim\n"
    assert edit.html == html


def test_subject_to_and_cc_edits_are_read() -> None:
    edit = read_copy(copy("Cc: Ion <ion@client.example>, office2@example.test\r\n", "ok\r\n")
                     .replace(b"Subject: Re: Price", b"Subject: =?utf-8?q?Re:_Pre=C8=9B?="))
    assert edit.subject == "Re: Preț"
    assert edit.to is not None and [a.addr_spec for a in edit.to] == ["ana@client.example"]
    assert [(a.display_name, a.addr_spec) for a in edit.cc] == [
        ("Ion", "ion@client.example"), ("", "office2@example.test")]
    assert edit.recipients(()) == {"ana@client.example", "ion@client.example",
                                   "office2@example.test"}


SUBJECT = b"Subject: Re: Price"
TO = b"To: Ana <ana@client.example>"


@pytest.mark.parametrize(
    ("target", "replacement", "reason"),
    [
        (SUBJECT, b"Subject: Re: Price\r\nSubject: Other", "2 Subject headers"),
        (SUBJECT, b"Subject: =?utf-8?q?Re:_Price=0ABcc:_x@evil.example?=", "Subject contains"),
        (SUBJECT, b"Subject: =?utf-8?q?Re:_Price=0D?=", "Subject contains"),
        (TO, b"To: ana", "To header is not a clean address list"),
        (TO, b"To: alice@example.org)<bob@example.org>", "To header is not a clean address"),
        (TO, b"To: undisclosed-recipients:;", "To has no address"),
        (TO, b"To: =?utf-8?q?Ana=0B?= <ana@client.example>", "non-printables"),
        (TO, TO + b"\r\nCc: ion@", "Cc header cannot be read"),
    ],
    ids=["two-subjects", "encoded-lf", "encoded-cr", "no-domain", "poc", "empty", "name-ctl",
         "bad-cc"],
)
def test_unsafe_headers_are_refused_with_a_reason(
    target: bytes, replacement: bytes, reason: str
) -> None:
    original = copy("", "ok\r\n")
    assert target in original
    with pytest.raises(UnusableCopy, match=reason):
        read_copy(original.replace(target, replacement, 1))


def test_unknown_charset_falls_back_instead_of_failing() -> None:
    raw = copy("", "BODY", "text/plain; charset=x-unknown").replace(b"BODY", b"Pre\xfeul")
    assert read_copy(raw).text == "Pre\u0163ul\n"  # windows-1250 after utf-8 fails


def test_copy_without_any_text_is_refused() -> None:
    with pytest.raises(UnusableCopy, match="no text or HTML part"):
        read_copy(copy("", "AAAA", "image/png", "base64"))


def test_copy_keys_reads_what_finds_the_draft() -> None:
    raw = copy("X-InboxOps-Draft: 7@example.test\r\nIn-Reply-To: <a@client.example>\r\n"
               "References: <z@client.example>\r\n <a@client.example>\r\n", "x\r\n")
    keys = copy_keys(raw, "X-InboxOps-Draft")
    assert keys.token == "7@example.test"
    assert keys.in_reply_to == "<a@client.example>"
    assert keys.references == ("<z@client.example>", "<a@client.example>")
    assert keys.subject == "Re: Price"
    assert keys.to == {"ana@client.example"}
    assert keys.sender == "office@example.test"


def test_same_text_ignores_line_ends_and_trailing_blanks() -> None:
    assert same_text("a \r\nb\n\n", "a\nb")
    assert not same_text("a b", "a  b")
