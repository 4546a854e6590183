"""LOOP-6: only our own mail server's Authentication-Results count, and only a pass that
vouches for the From domain (DMARC, or SPF/DKIM aligned with it)."""

from __future__ import annotations

import pytest
from mailfactory import client_mail

from inboxops.intake.authresults import sender_authenticated
from inboxops.intake.parse import parse_message

OURS = {"mx.office.example"}


def verdict(*results: str, sender: str = "Ana <ana@client.example>") -> tuple[bool, str]:
    headers = {}
    raw = client_mail(sender=sender, headers=headers)
    extra = b"".join(f"Authentication-Results: {r}\r\n".encode() for r in results)
    return sender_authenticated(parse_message(extra + raw), OURS)


@pytest.mark.parametrize("result", [
    "mx.office.example; dmarc=pass header.from=client.example",
    "mx.office.example; spf=pass smtp.mailfrom=bounces@mail.client.example",
    "mx.office.example; dkim=pass header.d=client.example header.s=sel",
    "mx.office.example (our relay); spf=fail (softfail) smtp.mailfrom=x@other.example;"
    " dkim=pass (good) header.d=client.example",
    "MX.Office.Example 1; dmarc=pass",
    "mx.office.example;\r\n dkim=pass header.d=client.example header.s=sel",  # folded
])
def test_a_pass_from_our_server_for_the_from_domain_counts(result: str) -> None:
    assert verdict(result)[0]


@pytest.mark.parametrize("result", [
    "mx.office.example; dmarc=fail header.from=client.example",
    "mx.office.example; spf=pass smtp.mailfrom=attacker.example",  # not aligned
    "mx.office.example; dkim=pass header.d=attacker.example",
    "mx.office.example; dkim=pass header.d=example",  # a bare top-level name
    "mx.office.example; spf=softfail smtp.mailfrom=client.example",
    "mx.attacker.example; dmarc=pass header.from=client.example",  # someone else's claim
    "mx.office.example.attacker.example; dmarc=pass",
    "mx.office.example; dkim=pass (header.d=client.example) header.d=evil.example",
])
def test_anything_else_does_not(result: str) -> None:
    ok, why = verdict(result)
    assert not ok and why


def test_no_header_at_all_is_not_authenticated() -> None:
    ok, why = verdict()
    assert not ok and "no Authentication-Results" in why


def test_without_a_sender_address_nothing_is_authenticated() -> None:
    assert not verdict("mx.office.example; dkim=pass header.d=client.example",
                       sender="undisclosed-recipients:;")[0]
