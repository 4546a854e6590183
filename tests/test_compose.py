"""Outgoing mail: threading, one "Re: ", header-injection safety, 7-bit bytes, calendar parts."""

from __future__ import annotations

import email
from email.policy import default

import pytest

from inboxops.responders.compose import (
    UnsafeHeader,
    address,
    build_message,
    new_message_id,
    reply_subject,
    thread_headers,
)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("RE: AW: Re[2]: Ofertă", "Re: Ofertă"),
        ("Re: Re: x", "Re: x"),
        ("Reclamație", "Re: Reclamație"),
        ("Fwd: hello (fwd)", "Re: hello"),
        ("SV: Antw: Odp: test", "Re: test"),
        ("Răspuns: întrebare", "Re: întrebare"),
        ("Refund please", "Re: Refund please"),
        ("", "Re:"),
    ],
)
def test_reply_subject_has_exactly_one_re(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


def test_thread_headers_follow_rfc5322() -> None:
    assert thread_headers("<p@x>", ["<a@x>", "<b@x>"], "<b@x>") == ("<p@x>", "<a@x> <b@x> <p@x>")
    assert thread_headers("<p@x>", [], "<b@x>") == ("<p@x>", "<b@x> <p@x>")
    assert thread_headers("<p@x>", [], None) == ("<p@x>", "<p@x>")
    assert thread_headers(None, ["<a@x>"], None) == (None, None)


def test_long_references_are_bounded_and_valid() -> None:
    refs = [f"<id{i}@example.org>" for i in range(200)] + ["junk-id"]
    _, header = thread_headers("<p@x>", refs, None)
    assert header is not None
    ids = header.split()
    assert len(ids) == 20 and ids[0] == "<id0@example.org>" and ids[-1] == "<p@x>"


@pytest.mark.parametrize("bad", ["x\r\nBcc: evil@x", "abc\n", "a\x0bb", "a\u2028b", "a\x85b"])
def test_header_injection_is_refused(bad: str) -> None:
    with pytest.raises(UnsafeHeader):
        build_message(
            sender=address("office@example.com", "Office"),
            to=[address("c@example.org")],
            subject=bad,
            text="hi",
            message_id=new_message_id("example.com"),
        )
    with pytest.raises(UnsafeHeader):
        address("c@example.org", bad)


def test_message_is_seven_bit_and_round_trips_romanian() -> None:
    name, text = "Ștefan Țărănescu", "Bună ziua, șțăîâ ȘȚĂÎÂ\n"
    raw = build_message(
        sender=address("office@example.com", "Office"),
        to=[address("s@example.ro", name)],
        subject="Re: Ofertă",
        text=text,
        html="<p>Bună</p>",
        message_id=new_message_id("example.com"),
        in_reply_to="<p@x>",
        references="<p@x>",
    )
    assert max(raw) < 0x80
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    msg = email.message_from_bytes(raw, policy=default)
    assert msg["To"].addresses[0].display_name == name
    assert str(msg["Subject"]) == "Re: Ofertă"
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert body.replace("\r\n", "\n") == text
    assert msg["In-Reply-To"] == "<p@x>" and "Auto-Submitted" not in msg


def test_calendar_part_carries_the_same_method() -> None:
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    raw = build_message(
        sender=address("office@example.com"),
        to=[address("c@example.org")],
        subject="Invitation",
        text="see calendar",
        message_id="<m@example.com>",
        calendar=ics,
    )
    msg = email.message_from_bytes(raw, policy=default)
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    assert parts[0].get_param("method") == "REQUEST"
    assert parts[0].get_payload(decode=True) == ics


def test_message_ids_are_unique_and_in_our_domain() -> None:
    ids = {new_message_id("example.com") for _ in range(10000)}
    assert len(ids) == 10000
    assert all(i.endswith("@example.com>") for i in ids)


def test_automatic_mail_is_labelled() -> None:
    raw = build_message(
        sender=address("office@example.com"),
        to=[address("m@example.com")],
        subject="digest",
        text="x",
        message_id="<d@example.com>",
        auto_submitted="auto-generated",
    )
    assert b"Auto-Submitted: auto-generated" in raw
