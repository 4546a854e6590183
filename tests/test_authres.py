"""LOOP-6: only our own server's Authentication-Results vouch for a calendar answer."""

from __future__ import annotations

from inboxops.authres import sender_authenticated

OURS = "mx.office.example"


def check(*values: str, sender: str = "ana@client.example") -> bool:
    return sender_authenticated({"authentication-results": list(values)}, OURS, sender)


def test_dmarc_or_aligned_spf_dkim_from_our_server_pass() -> None:
    assert check(f"{OURS}; dmarc=pass (p=none) header.from=client.example")
    assert check(f"{OURS};\r\n dkim=pass header.d=client.example header.s=sel")
    assert check(f"{OURS}; dkim=pass header.d=mail.client.example")  # relaxed alignment
    assert check(f"{OURS}; spf=pass smtp.mailfrom=bounces@client.example")
    assert check(f"{OURS.upper()} 1; spf=fail smtp.mailfrom=x@y.example; dmarc=pass")


def test_foreign_failed_or_unaligned_results_do_not() -> None:
    assert not check()
    assert not check("mx.evil.example; dmarc=pass header.from=client.example")
    assert not check(f"{OURS}; dmarc=fail header.from=client.example")
    assert not check(f"{OURS}; dkim=pass header.d=evil.example")
    assert not check(f"{OURS}; dkim=pass header.d=example")  # a bare suffix aligns with nothing
    assert not check(f"{OURS}; spf=pass smtp.mailfrom=evil.example")
    assert not check(f"{OURS}; dkim=pass (header.d=client.example) header.d=evil.example")
    assert not check(f"{OURS}; dmarc=pass", sender="")
