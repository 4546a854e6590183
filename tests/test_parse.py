"""parse.py and the text helpers it uses, on .eml fixtures named after the case they cover."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from inboxops.errors import ParseError
from inboxops.intake.parse import MAX_MIME_DEPTH, MAX_MIME_PARTS, parse_message
from inboxops.models import ParsedMessage
from inboxops.text import fold_diacritics, html_to_text, normalize_ro, strip_quoted

FIXTURES = Path(__file__).parent / "fixtures" / "parse"
VALID_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
CEDILLAS = "\u015f\u0163\u015e\u0162"
# Generous bounds: these guard against quadratic or unbounded work, not against a slow CI box.
FAST = 2.0


def load(name: str) -> ParsedMessage:
    return parse_message((FIXTURES / name).read_bytes())


def timed_parse(raw: bytes) -> tuple[ParsedMessage, float]:
    start = time.perf_counter()
    msg = parse_message(raw)
    return msg, time.perf_counter() - start


def has_defect(msg: ParsedMessage, fragment: str) -> bool:
    return any(fragment in defect for defect in msg.defects)


# --- Fixtures -----------------------------------------------------------------------------------


def test_plain_utf8_fields() -> None:
    msg = load("plain_utf8.eml")
    assert msg.from_addr == "maria.ionescu@client.example"
    assert msg.from_name == "Maria Ionescu"
    assert msg.reply_to == "orders@client.example"
    assert msg.to == ["office@ops.example"]
    assert msg.cc == ["bob@partner.example", "ana@partner.example"]
    assert msg.subject == "Question about pricing for 40 units"
    assert msg.date == datetime(2026, 11, 23, 9, 14, tzinfo=timezone(timedelta(hours=2)))
    assert msg.message_id == "<20261123091400.abc123@client.example>"
    assert msg.in_reply_to is None
    assert msg.references == []
    assert msg.return_path == "maria.ionescu@client.example"
    assert msg.content_type == "text/plain"
    assert msg.language == "en"
    assert msg.calendar is None and msg.calendar_method is None
    assert msg.defects == []
    assert msg.text.startswith("Hello,\n\nI would like an offer for 40 units")
    assert msg.text.endswith("Thank you,\nMaria")
    assert msg.full_text.rstrip() == msg.text


def test_headers_dict_has_every_header_lower_cased_and_unfolded() -> None:
    msg = load("plain_utf8.eml")
    assert set(msg.headers) >= {"return-path", "received", "from", "reply-to", "to", "cc"}
    assert all(name == name.lower() for name in msg.headers)
    assert all(isinstance(v, str) for values in msg.headers.values() for v in values)
    (received,) = msg.headers["received"]
    assert "\n" not in received and "by mail.ops.example (Postfix)" in received
    assert msg.header("Subject") == "Question about pricing for 40 units"
    assert msg.header("X-Not-There") is None


def test_qp_romanian_decoded() -> None:
    msg = load("qp_romanian.eml")
    assert msg.from_name == "Ștefan Țărănescu"
    assert msg.subject == "Cerere ofertă pentru 20 bucăți"
    assert "Aș dori o ofertă pentru 20 de bucăți, cu livrare în Brașov până marți." in msg.text
    assert "=C8" not in msg.full_text
    assert msg.language == "ro"
    assert msg.defects == []


def test_windows1250_cedilla_normalized_to_comma_below() -> None:
    msg = load("windows1250_cedilla.eml")
    assert "confirmați comanda pentru marți" in msg.text
    assert "Aștept factura și\nprețul final." in msg.text
    assert "Mulțumesc" in msg.text
    assert not any(c in msg.full_text for c in CEDILLAS)
    assert msg.language == "ro"
    assert msg.defects == []


def test_iso8859_2_body_and_subject() -> None:
    msg = load("iso8859_2.eml")
    assert msg.subject == "Reclamație produs defect"
    assert "ecranul nu pornește" in msg.text
    assert "nemulțumită și aș dori înlocuirea" in msg.text
    assert not any(c in msg.full_text + msg.subject for c in CEDILLAS)
    assert msg.defects == []


def test_iso8859_16_comma_below() -> None:
    msg = load("iso8859_16_comma_below.eml")
    assert msg.subject == "Întâlnire săptămâna viitoare"
    assert "o întâlnire marți la ora 14? Aștept confirmarea." in msg.text
    assert msg.language == "ro"
    assert msg.defects == []


def test_unknown_charset_decoded_with_defect() -> None:
    msg = load("unknown_charset.eml")
    assert "Când ajunge livrarea? Aștept răspunsul dumneavoastră." in msg.text
    assert "unknown charset x-unknown, decoded as windows-1250" in msg.defects


def test_html_only_drops_script_style_and_keeps_breaks() -> None:
    msg = load("html_only_script_style.eml")
    lines = msg.text.splitlines()
    assert "Dear customer," in lines
    assert "Your order #1042 has shipped." in lines  # &nbsp; decoded, <br> ends the line
    assert "Tracking: RO123 & more…" in lines
    assert "Fish & chips <3" in lines
    for hidden in ("SECRET-TRACKER", "ALSO-HIDDEN", "color: red", "Order mail", "comment"):
        assert hidden not in msg.full_text
    assert msg.content_type == "text/html"
    assert msg.language == "en"


def test_multipart_alternative_prefers_plain() -> None:
    msg = load("multipart_alternative.eml")
    assert msg.subject == "Ofertă de preț"
    assert msg.text == "Bună ziua,\n\nCât costă modelul X?\n\nAndrei"
    assert "HTML VERSION" not in msg.full_text
    assert msg.content_type == "multipart/alternative"
    assert msg.defects == []


def test_multipart_without_boundary_is_read_as_text() -> None:
    msg = load("multipart_no_boundary.eml")
    assert msg.text == "Hello, please call me back about the invoice.\nThanks"
    assert has_defect(msg, "no boundary in multipart")
    assert msg.content_type == "multipart/mixed"


def test_missing_headers_give_empty_values_and_a_defect() -> None:
    msg = load("missing_headers.eml")
    assert msg.from_addr == "" and msg.from_name == ""
    assert msg.date is None
    assert msg.message_id is None
    assert msg.return_path is None
    assert "no From header" in msg.defects
    assert msg.text == "Salut, am o întrebare despre comandă."
    assert msg.language == "ro"


def test_encoded_newline_in_subject_does_not_survive() -> None:
    msg = load("subject_encoded_newline.eml")
    assert msg.subject == "Offer Bcc: victim@example.org tail end x y"
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", msg.subject)


def test_folded_references_keep_valid_ids_in_order() -> None:
    msg = load("references_200_folded.eml")
    assert len(msg.references) == 199
    assert all(VALID_ID.fullmatch(ref) for ref in msg.references)
    assert "<junk-without-at-sign>" not in msg.references
    assert msg.references[0] == "<ref000.thread@mail.example.com>"
    assert msg.references[-1] == "<ref199.thread@mail.example.com>"
    assert msg.in_reply_to == "<ref199.thread@mail.example.com>"  # folded onto its own line
    assert msg.message_id == "<ref200.thread@mail.example.com>"


def test_outlook_original_message_reply() -> None:
    msg = load("reply_outlook_original_message.eml")
    assert msg.text == "Thanks, Tuesday works for us. Please send the invoice as well.\n\nPaul"
    assert "-----Original Message-----" in msg.full_text
    assert msg.in_reply_to == "<our-1@ops.example>"
    assert msg.references == ["<our-1@ops.example>"]


def test_gmail_on_wrote_reply_wrapped_attribution() -> None:
    msg = load("reply_gmail_on_wrote.eml")
    assert msg.text == "Looks good, please go ahead with the order."
    assert "wrote:" in msg.full_text
    assert msg.references == ["<our-0@ops.example>", "<our-2@ops.example>"]


def test_romanian_pe_a_scris_reply() -> None:
    msg = load("reply_romanian_pe_a_scris.eml")
    assert msg.text == "Mulțumesc, sunt de acord cu prețul. Trimiteți factura vă rog."
    assert "a scris:" in msg.full_text
    assert msg.subject == "Re: Ofertă"
    assert msg.language == "ro"


def test_calendar_request_in_alternative() -> None:
    msg = load("calendar_request_alternative.eml")
    assert msg.calendar_method == "REQUEST"
    assert msg.calendar is not None
    assert msg.calendar.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"UID:meeting-7f3a@client.example" in msg.calendar
    assert "SUMMARY:Discuție contract".encode() in msg.calendar
    assert msg.text == "Ați fost invitat la o întâlnire: Discuție contract, joi 3 decembrie."
    assert msg.return_path == ""  # Return-Path: <>
    assert msg.subject == "Invitație: Discuție contract"
    assert msg.defects == []


# --- Calendar details ---------------------------------------------------------------------------

ICS_CANCEL = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:cancel\r\nEND:VCALENDAR\r\n"


def test_calendar_method_from_body_when_param_missing() -> None:
    raw = (
        b"From: a@client.example\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b'--b\r\nContent-Type: application/ics; name="x.ics"\r\n'
        b"Content-Disposition: attachment\r\n\r\n" + ICS_CANCEL + b"\r\n--b--\r\n"
    )
    msg = parse_message(raw)
    assert msg.calendar_method == "CANCEL"
    assert msg.calendar == ICS_CANCEL
    assert msg.text == "See attached."


def test_calendar_method_mismatch_is_a_defect() -> None:
    raw = (
        b"From: a@client.example\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n"
        + ICS_CANCEL
    )
    msg = parse_message(raw)
    assert msg.calendar_method == "REQUEST"
    assert has_defect(msg, "calendar METHOD CANCEL differs from Content-Type method=REQUEST")
    assert "no text part" in msg.defects


# --- Hostile and odd input ----------------------------------------------------------------------


def nested_multipart(depth: int) -> bytes:
    parts = [b"From: deep@client.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"]
    for i in range(depth):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    parts.append(b"Content-Type: text/plain\r\n\r\nhidden at the bottom\r\n")
    parts.extend(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return b"".join(parts)


def test_deeply_nested_multipart_finishes_quickly() -> None:
    msg, seconds = timed_parse(nested_multipart(1000))
    assert seconds < FAST
    assert f"MIME depth capped at {MAX_MIME_DEPTH}" in msg.defects
    assert msg.from_addr == "deep@client.example"
    assert msg.subject == "deep"


def test_shallow_nesting_still_reaches_the_text() -> None:
    msg = parse_message(nested_multipart(MAX_MIME_DEPTH - 1))
    assert msg.text == "hidden at the bottom"
    assert not has_defect(msg, "MIME depth")


def test_nested_message_rfc822_is_capped() -> None:
    raw = b"From: a@client.example\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * 5000
    msg, seconds = timed_parse(raw + b"Content-Type: text/plain\r\n\r\nhi\r\n")
    assert seconds < FAST
    assert f"MIME depth capped at {MAX_MIME_DEPTH}" in msg.defects


def test_part_count_is_capped() -> None:
    part = b"--z\r\nContent-Type: application/octet-stream\r\n\r\nxx\r\n"
    raw = (
        b'From: a@client.example\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n'
        + part * (MAX_MIME_PARTS * 3)
        + b"--z\r\nContent-Type: text/plain\r\n\r\ntoo late\r\n--z--\r\n"
    )
    msg, seconds = timed_parse(raw)
    assert seconds < FAST
    assert f"MIME part count capped at {MAX_MIME_PARTS}" in msg.defects
    assert msg.text == ""


def test_megabyte_header_is_truncated_quickly() -> None:
    raw = b"From: a@client.example\r\nSubject: " + b"x" * 1_000_000 + b"\r\n\r\nbody\r\n"
    msg, seconds = timed_parse(raw)
    assert seconds < FAST
    assert has_defect(msg, "Subject header truncated")
    assert msg.text == "body"


def test_pathological_structured_headers_do_not_raise() -> None:
    raw = (
        b"From: " + b"(" * 3000 + b"\r\n"
        b"To: " + b'"a' * 3000 + b"\r\n"
        b"Content-Type: text/plain;" + b";" * 50_000 + b"\r\n\r\nbody\r\n"
    )
    msg, seconds = timed_parse(raw)
    assert seconds < FAST
    assert msg.from_addr == ""
    assert msg.text == "body"
    assert has_defect(msg, "From header")


def test_hostile_html_is_linear() -> None:
    start = time.perf_counter()
    for markup in ("<a\n" * 100_000, "<!--" * 100_000, "<a b='" * 100_000, "<" + "a" * 200_000):
        html_to_text(markup)
    assert time.perf_counter() - start < FAST


def test_eight_bit_headers_are_decoded() -> None:
    raw = "From: Ştefan <s@client.example>\r\nSubject: Ofertă şi preţ\r\n\r\nx\r\n"
    utf8 = parse_message(raw.encode("utf-8"))
    assert utf8.subject == "Ofertă și preț" and utf8.from_name == "Ștefan"
    assert utf8.defects == []
    cp1250 = parse_message(raw.encode("cp1250"))
    assert cp1250.subject == "Ofertă și preț" and cp1250.from_name == "Ștefan"
    assert has_defect(cp1250, "decoded as windows-1250")


def test_non_text_codec_as_charset_is_unknown() -> None:
    msg = parse_message(
        b"From: a@b.example\r\nContent-Type: text/plain; charset=rot13\r\n\r\nhi\r\n"
    )
    assert msg.text == "hi"
    assert "unknown charset rot13, decoded as utf-8" in msg.defects


def test_utf8_with_a_stray_byte_stays_utf8() -> None:
    body = "Bună ziua, mulțumesc pentru ofertă și preț.".encode() + b"\xff\r\n"
    msg = parse_message(
        b"From: a@b.example\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
    )
    assert msg.text == "Bună ziua, mulțumesc pentru ofertă și preț.\ufffd"
    assert "text not valid utf-8; 1 bad sequences replaced" in msg.defects


def test_mislabelled_utf8_falls_back_to_windows_1250() -> None:
    body = "Bună ziua, mulţumesc pentru ofertă şi preţ.".encode("cp1250")
    msg = parse_message(
        b"From: a@b.example\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
    )
    assert msg.text == "Bună ziua, mulțumesc pentru ofertă și preț."
    assert "text not valid utf-8, decoded as windows-1250" in msg.defects


def test_nested_comments_in_content_type_do_not_stop_the_parse() -> None:
    raw = b"From: a@b.example\r\nContent-Type: text/plain" + b"(" * 300 + b"\r\n\r\nhi\r\n"
    msg = parse_message(raw)
    assert msg.text == "hi"
    assert has_defect(msg, "Content-Type header with too many parameters or comments")


def mime(*parts: bytes, subtype: bytes = b"mixed", extra: bytes = b"") -> bytes:
    head = b"From: a@client.example\r\nMIME-Version: 1.0\r\n"
    head += b"Content-Type: multipart/" + subtype + b'; boundary="p"' + extra + b"\r\n\r\n"
    return head + b"".join(b"--p\r\n" + part + b"\r\n" for part in parts) + b"--p--\r\n"


def test_attachments_and_forwarded_messages_are_not_the_body() -> None:
    raw = mime(
        b"Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nattached notes",
        b"Content-Type: message/rfc822\r\n\r\nFrom: x@y.example\r\n\r\nforwarded text",
        b"Content-Type: text/html\r\n\r\n<p>the real body</p>",
    )
    assert parse_message(raw).text == "the real body"


def test_empty_plain_part_falls_back_to_html() -> None:
    raw = mime(
        b"Content-Type: text/plain\r\n\r\n  ",
        b"Content-Type: text/html\r\n\r\n<p>only here</p>",
        subtype=b"alternative",
    )
    assert parse_message(raw).text == "only here"


def test_related_uses_only_its_root_part() -> None:
    raw = mime(
        b"Content-Type: image/png\r\nContent-ID: <img1>\r\n\r\nPNG",
        b"Content-Type: text/plain\r\nContent-ID: <root>\r\n\r\nroot text",
        b"Content-Type: text/plain\r\n\r\nnot the root",
        subtype=b"related",
        extra=b'; start="<root>"',
    )
    assert parse_message(raw).text == "root text"


def test_tnef_part_is_flagged() -> None:
    raw = mime(
        b"Content-Type: text/plain\r\n\r\nsee attachment",
        b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n\r\nTNEF',
    )
    msg = parse_message(raw)
    assert msg.text == "see attachment"
    assert "application/ms-tnef part (winmail.dat) not read" in msg.defects


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n", b"\x00\x01\x02\xff" * 100, b"just text\n"])
def test_not_a_message_raises_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        parse_message(raw)


def test_leading_blank_lines_are_skipped() -> None:
    msg = parse_message(b"\r\n\r\nFrom: a@client.example\r\nSubject: hi\r\n\r\nbody\r\n")
    assert msg.subject == "hi"
    assert msg.from_addr == "a@client.example"
    assert has_defect(msg, "blank lines before the headers")


# --- Addresses, ids and dates -------------------------------------------------------------------


def with_headers(*lines: str) -> ParsedMessage:
    return parse_message(("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode("utf-8"))


def test_from_poc_takes_the_parsed_address_and_records_defects() -> None:
    # PARSE-5 / CVE-2023-27043: the lenient parser would route to bob.
    msg = with_headers("From: alice@example.org)<bob@example.org>")
    assert msg.from_addr == "alice@example.org"
    assert has_defect(msg, "From header: invalid header")


def test_unparseable_from_falls_back_to_a_guess_with_defect() -> None:
    msg = with_headers("From: @@Ion@X.example")
    assert msg.from_addr == "ion@x.example"
    assert "From header unparseable; address guessed from its text" in msg.defects


def test_from_without_any_address() -> None:
    msg = with_headers("From: ion(at)x.example")
    assert msg.from_addr == ""
    assert "From header has no usable address" in msg.defects


def test_multi_address_from_uses_first_and_says_so() -> None:
    msg = with_headers("From: Ion <ion@a.example>, Ana <ana@b.example>")
    assert msg.from_addr == "ion@a.example" and msg.from_name == "Ion"
    assert "From has 2 addresses; using the first" in msg.defects


def test_group_syntax_and_duplicate_recipients() -> None:
    msg = with_headers(
        "From: a@client.example",
        "To: undisclosed-recipients:;",
        "Cc: Team: X@Y.example, z@w.example;, x@y.example",
    )
    assert msg.to == []
    assert msg.cc == ["x@y.example", "z@w.example"]


def test_reply_to_unusable_is_ignored() -> None:
    msg = with_headers("From: a@client.example", "Reply-To: nobody")
    assert msg.reply_to is None
    assert has_defect(msg, "Reply-To header has no usable address")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@x.example>", "<abc@x.example>"),
        ("  <abc@x.example>  ", "<abc@x.example>"),
        ("< abc@x.example >", "<abc@x.example>"),
        ("<abc@[192.0.2.1]>", "<abc@[192.0.2.1]>"),
        ("abc@x.example", None),
        ("<abc>", None),
        ("<a b@x.example>", None),
        ("<a@b@c.example>", None),
        ("", None),
    ],
)
def test_message_id_validation(value: str, expected: str | None) -> None:
    msg = with_headers("From: a@client.example", f"Message-ID: {value}")
    assert msg.message_id == expected


def test_in_reply_to_takes_first_valid_id() -> None:
    msg = with_headers("From: a@b.example", "In-Reply-To: junk <x@y.example> (Ion's message)")
    assert msg.in_reply_to == "<x@y.example>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<>", ""),
        ("<Bounce@X.example>", "bounce@x.example"),
        ("bounce@x.example", "bounce@x.example"),
    ],
)
def test_return_path(value: str, expected: str) -> None:
    assert with_headers("From: a@b.example", f"Return-Path: {value}").return_path == expected


def test_date_minus_0000_is_utc_and_garbage_is_a_defect() -> None:
    msg = with_headers("From: a@b.example", "Date: Mon, 23 Nov 2026 10:00:00 -0000")
    assert msg.date == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    bad = with_headers("From: a@b.example", "Date: the day after tomorrow")
    assert bad.date is None
    assert "Date header unparseable" in bad.defects


# --- Text helpers -------------------------------------------------------------------------------


def test_normalize_ro_maps_cedilla_to_comma_below() -> None:
    assert normalize_ro("marţi Ştefan ţară ŞŢ") == "marți Ștefan țară ȘȚ"
    assert normalize_ro("marți") == "marți"


def test_fold_diacritics() -> None:
    assert fold_diacritics("Mulţumesc, ÎNTÂLNIRE marți, Ștefan, ăâîșțşţ") == (
        "multumesc, intalnire marti, stefan, aaistst"
    )
    assert fold_diacritics("s\u0326i") == "si"  # decomposed comma below
    assert fold_diacritics("Straße 東京") == "straße 東京"


def test_html_to_text_blockquote_becomes_quoted_lines() -> None:
    markup = (
        "<div>Sounds good!</div><div class=gmail_quote>"
        "<div>On Mon, 23 Nov 2026 at 10:00, Office &lt;office@ops.example&gt; wrote:<br></div>"
        "<blockquote><p>Old text</p></blockquote></div>"
    )
    text = html_to_text(markup)
    assert "> Old text" in text.splitlines()
    assert strip_quoted(text) == "Sounds good!"


def test_html_to_text_pre_keeps_whitespace() -> None:
    assert html_to_text("<pre>a  b\n  c</pre><p>x   y</p>") == "a  b\n  c\n\nx y"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 23 Nov 2026 at 10:00, Office <office@ops.example> wrote:",
        "Pe lun., 23 nov. 2026 la 10:00, Office <office@ops.example> a scris:",
        "În data de 23.11.2026 10:00, Office a scris:",
        "In data de 23.11.2026 10:00, Office a scris:",
        "În 23 noiembrie 2026, la 10:00, Office <office@ops.example> a scris:",
        "-----Original Message-----",
        "-----Mesaj original-----",
        "________________________________",
    ],
)
def test_strip_quoted_cuts_at_attribution(attribution: str) -> None:
    text = f"New content here.\n\n{attribution}\nOld content.\nMore old content."
    assert strip_quoted(text) == "New content here."


@pytest.mark.parametrize(
    "block",
    [
        "From: Office <office@ops.example>\nSent: Friday, November 27, 2026 4:12 PM\nTo: x",
        "De la: Office <office@ops.example>\nTrimis: vineri, 27 noiembrie 2026 16:12\nCătre: x",
        "From: Office <office@ops.example> Sent: Friday, 27 November 2026 To: x",
    ],
)
def test_strip_quoted_cuts_at_outlook_header_block(block: str) -> None:
    assert strip_quoted(f"Da, confirm.\n\n{block}\nSubject: y\n\nOld.") == "Da, confirm."


def test_strip_quoted_wrapped_romanian_attribution() -> None:
    text = (
        "Confirm.\n\n"
        "Pe vin., 27 nov. 2026 la 16:12, Office Team <\n"
        "office@ops.example> a scris:\n"
        "> x"
    )
    assert strip_quoted(text) == "Confirm."


def test_strip_quoted_keeps_interleaved_answers_and_drops_signature() -> None:
    text = "> Can you come on Tuesday?\nYes, at 10.\n> And the invoice?\nSent today.\n-- \nIon\n"
    assert strip_quoted(text) == "Yes, at 10.\nSent today."


def test_strip_quoted_bottom_posting_keeps_the_answer() -> None:
    text = "On Mon, X <x@y.example> wrote:\n> question?\n\nMy answer."
    assert strip_quoted(text) == "My answer."


def test_strip_quoted_returns_original_when_nothing_is_left() -> None:
    text = "> only quoted\n> lines here\n"
    assert strip_quoted(text) == text


def test_strip_quoted_does_not_cut_ordinary_lines() -> None:
    text = "On Monday we can meet.\nFrom: the warehouse, not the office.\nIn short, thanks."
    assert strip_quoted(text) == text


def test_unparseable_from_never_routes_to_an_address_inside_an_encoded_word() -> None:
    """PARSE-5: the fallback guess comes from the header's own text, not from decoded words."""
    raw = (b"From: =?utf-8?q?Ana=0D=0ABcc:_evil@attacker.example?= <ana@client.example>\r\n"
           b"Subject: x\r\nMessage-ID: <a@client.example>\r\n\r\nhi\r\n")
    parsed = parse_message(raw)
    assert parsed.from_addr == "ana@client.example"
    assert "attacker" not in parsed.from_name
    assert any("guessed" in d for d in parsed.defects)
