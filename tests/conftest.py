"""Shared fixtures: a real Dovecot (IMAP/IMAPS/LMTP) and a real SMTP sink on 127.0.0.1.

Cost model: one Dovecot per test session (start ~30 ms, stop ~1.1 s), isolation per test
through a fresh mailbox user (`imap_user`), and an in-process SMTP sink per test (~3 ms).
See tests/mailservers.py for the servers themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from typing import Literal

import pytest
from helpers import NotifySocket
from mailservers import (
    DovecotInstance,
    ImapUser,
    MailServerUnavailable,
    SmtpSink,
    SmtpSinkFactory,
    TlsFiles,
    make_self_signed_cert,
    unique_address,
)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI remembers validated configs in the user's cache folder (`cli.validated`): the
    tests, and the daemons and CLIs they start, keep theirs in a temporary one."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    mp.delenv("CACHE_DIRECTORY", raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotInstance]:
    """The session's Dovecot: `imap_port` (plain + STARTTLS), `imaps_port`, `lmtp_port`,
    `cert_path`, `root`, and helpers `add_user`, `append`, `deliver_lmtp`, `fetch_all`,
    `folders`, `client`, `log`.

    A missing Dovecot is a hard failure, not a skip: silently skipped integration tests
    would make a broken setup look green.
    """
    instance = DovecotInstance()
    problem = None
    try:
        instance.start()
    except MailServerUnavailable as exc:
        problem = str(exc)
    except BaseException:
        instance.stop()
        raise
    if problem is not None:  # outside the except block, so the report is just the message
        instance.stop()
        pytest.fail(problem, pytrace=False)
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def imap_user(dovecot: DovecotInstance) -> ImapUser:
    """A brand-new mailbox (office-<hex>@example.test, random password) for this test only."""
    user = ImapUser(unique_address("office"), secrets.token_urlsafe(12), dovecot)
    dovecot.add_user(user.address, user.password)
    return user


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate/key for localhost + 127.0.0.1 (used by TLS SMTP sinks)."""
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_sink_factory(tls_files: TlsFiles) -> Iterator[SmtpSinkFactory]:
    """Start extra SMTP sinks: `smtp_sink_factory(lmtp=None, auth=None, tls=False)`.

    * lmtp: a DovecotInstance; recipients that are its users are delivered to it over LMTP
      (others are only captured).
    * auth: None (no AUTH), True (accept any PLAIN/LOGIN credentials) or {user: password}.
      With auth set, MAIL FROM without AUTH is refused with 530.
    * tls: False, True / "starttls" (STARTTLS offered; AUTH only after it) or "implicit"
      (SMTPS). Clients verify against `sink.cert_path`.

    All sinks are stopped after the test.
    """
    sinks: list[SmtpSink] = []

    def make(
        lmtp: DovecotInstance | None = None,
        auth: Mapping[str, str] | bool | None = None,
        tls: bool | Literal["starttls", "implicit"] = False,
        smtputf8: bool = False,
    ) -> SmtpSink:
        mode: Literal["starttls", "implicit"] | None = "starttls" if tls is True else (tls or None)
        sink = SmtpSink(relay_to=lmtp, auth=auth, tls=mode, tls_files=tls_files if mode else None,
                        smtputf8=smtputf8)
        sinks.append(sink.start())
        return sink

    try:
        yield make
    finally:
        for sink in sinks:
            sink.stop()


@pytest.fixture
def smtp_sink(smtp_sink_factory: SmtpSinkFactory, dovecot: DovecotInstance) -> SmtpSink:
    """Plain SMTP sink (no AUTH, no TLS) that captures everything and also delivers mail for
    the session Dovecot's users into their INBOX, so sent replies can be read back over IMAP."""
    return smtp_sink_factory(lmtp=dovecot)


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    """A stand-in for systemd's notify socket (NOTIFY_SOCKET), with arrival times."""
    sock = NotifySocket()
    try:
        yield sock
    finally:
        sock.close()
