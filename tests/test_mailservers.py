"""Tests of the test servers themselves: if these fail, every integration test is suspect.

They pin down the behaviour the daemon's tests rely on: APPEND/FETCH round-trips bytes,
IDLE notices new mail, the SMTP sink captures byte-exact and can deliver into an INBOX,
and TLS verifies against the generated certificates.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

import pytest
from mailservers import (
    DovecotInstance,
    ImapUser,
    SmtpSink,
    SmtpSinkFactory,
    client_ssl_context,
    unique_address,
)

# CRLF line ends (what IMAP FETCH returns), a line starting with a dot (SMTP dot-stuffing),
# 8-bit UTF-8 and trailing whitespace: all must survive unchanged.
RAW = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: office@example.test\r\n"
    b"Subject: =?utf-8?q?R=C3=BCckfrage?=\r\n"
    b"Message-ID: <test-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Gr\xc3\xbc\xc3\x9fe,  \r\n"
    b".a line that starts with a dot\r\n"
    b"\r\n"
    b"bye\r\n"
)


def test_append_then_fetch_returns_the_same_bytes(imap_user: ImapUser) -> None:
    dv = imap_user.dovecot
    uid1 = dv.append(imap_user.address, RAW, flags=("\\Seen",))
    uid2 = dv.append(imap_user.address, RAW.replace(b"test-1", b"test-2"))
    other = dv.append(imap_user.address, RAW, mailbox="Projects/Alpha", flags=("\\Flagged",))

    assert dv.fetch_all(imap_user.address) == [
        (uid1, {"\\Seen"}, RAW),
        (uid2, set(), RAW.replace(b"test-1", b"test-2")),
    ]
    assert dv.fetch_all(imap_user.address, "Projects/Alpha") == [(other, {"\\Flagged"}, RAW)]
    folders = dv.folders(imap_user.address)
    assert {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Projects/Alpha"} <= set(folders)


def test_idle_sees_exists_after_append(imap_user: ImapUser) -> None:
    with imap_user.client() as client:
        client.select_folder("INBOX")
        client.idle()
        start = time.monotonic()
        imap_user.dovecot.append(imap_user.address, RAW)
        # Dovecot 2.3 notifies ~0.5 s after a change; the generous bound keeps a loaded CI honest
        # while still far below any poll interval.
        events: list = []
        while (1, b"EXISTS") not in events and time.monotonic() - start < 15:
            events += client.idle_check(timeout=1)
        client.idle_done()
    assert (1, b"EXISTS") in events, events


def test_lmtp_delivery_and_unknown_user(imap_user: ImapUser) -> None:
    dv = imap_user.dovecot
    assert dv.deliver_lmtp(imap_user.address, RAW) == {}
    [(_uid, flags, raw)] = dv.fetch_all(imap_user.address)
    assert raw.endswith(RAW)  # LMTP prepends Return-Path, Delivered-To and Received
    assert b"Delivered-To: " + imap_user.address.encode() in raw
    assert flags == set()
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        dv.deliver_lmtp(unique_address("nobody-here"), RAW)


def test_smtp_sink_captures_byte_exact_and_delivers_to_dovecot_users(
    smtp_sink: SmtpSink, imap_user: ImapUser
) -> None:
    outsider = "someone@elsewhere.example"
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as smtp:
        refused = smtp.sendmail("office@example.test", [imap_user.address, outsider], RAW)
    assert refused == {}

    assert smtp_sink.wait_for(1, timeout=5)
    [message] = smtp_sink.messages
    assert message["data"] == RAW
    assert message["mail_from"] == "office@example.test"
    assert message["rcpt_tos"] == [imap_user.address, outsider]
    assert message["relayed"] == [imap_user.address]
    assert message["auth"] is None and message["tls"] is False

    # relayed before the 250 was sent, so it is already in the INBOX
    [(_uid, _flags, raw)] = imap_user.dovecot.fetch_all(imap_user.address)
    assert raw.endswith(RAW)


def test_imap_tls_verifies_against_cert_path(dovecot: DovecotInstance, imap_user: ImapUser) -> None:
    for mode in ("imaps", "starttls"):
        with imap_user.client(tls=mode) as client:
            assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    # and the certificate really is checked: the system trust store does not know it
    with (
        socket.create_connection(("127.0.0.1", dovecot.imaps_port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")


def test_smtp_sink_starttls_and_auth(smtp_sink_factory: SmtpSinkFactory) -> None:
    sink = smtp_sink_factory(auth={"bot@example.test": "s3cret"}, tls=True)
    assert sink.cert_path is not None
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")  # AUTH is only offered after STARTTLS
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("bot@example.test", ["x@elsewhere.example"], RAW)
        assert refused.value.smtp_code == 530
        smtp.starttls(context=client_ssl_context(sink.cert_path))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("bot@example.test", "wrong")
        smtp.login("bot@example.test", "s3cret")
        smtp.sendmail("bot@example.test", ["x@elsewhere.example"], RAW)
    assert sink.wait_for(1)
    [message] = sink.messages
    assert (message["auth"], message["tls"], message["data"]) == ("bot@example.test", True, RAW)


def test_smtp_sink_implicit_tls(smtp_sink_factory: SmtpSinkFactory) -> None:
    sink = smtp_sink_factory(auth=True, tls="implicit")
    assert sink.cert_path is not None
    context = client_ssl_context(sink.cert_path)
    with smtplib.SMTP_SSL(sink.host, sink.port, context=context, timeout=10) as smtp:
        smtp.login("anyone", "anything")
        smtp.sendmail("bot@example.test", ["x@elsewhere.example"], RAW)
    assert sink.wait_for(1)
    assert sink.messages[0]["auth"] == "anyone" and sink.messages[0]["tls"] is True
