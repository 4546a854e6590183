"""Intake reads a batch of messages with one UID FETCH and takes the literals straight from
imaplib (issue 15: imapclient's FETCH parser cost as much as the rest of intake), on a real
Dovecot: the bytes exactly as stored, whatever they contain, and nothing for a UID that is gone."""

from __future__ import annotations

import logging
from typing import Any

from mailfactory import client_mail

from inboxops.intake.imap import fetch_bodies, fetch_sizes


def test_a_batch_comes_back_byte_for_byte_by_uid(imap_user: Any) -> None:
    tricky = [
        client_mail(subject="UID 999 BODY[] {12}", body="UID 7 )\r\n* 3 FETCH (UID 1)"),
        client_mail(subject="Plain", body="Hello"),
        b"Subject: 8bit\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\n\xba\xfe\xe3\r\n",
    ]
    for raw in tricky:
        imap_user.dovecot.append(imap_user.address, raw)
    with imap_user.dovecot.client(imap_user.address) as c:
        c.select_folder("INBOX")
        uids = sorted(c.search("ALL"))
        got = fetch_bodies(c, [*uids, max(uids) + 50])  # the last one does not exist
        expected = {uid: data[b"BODY[]"] for uid, data in c.fetch(uids, ["BODY.PEEK[]"]).items()}
        flags = c.get_flags(uids)
    assert list(got) == uids
    assert got == expected  # what imapclient's own parser reads
    assert [got[u] for u in uids] == [raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                                      for raw in tricky]
    assert all(b"\\Seen" not in f for f in flags.values())  # PEEK: nothing marked read


def test_sizes_come_by_uid_as_the_server_counts_them(imap_user: Any) -> None:
    for n in (10, 5000):
        imap_user.dovecot.append(imap_user.address, client_mail(body="x" * n))
    with imap_user.dovecot.client(imap_user.address) as c:
        c.select_folder("INBOX")
        uids = sorted(c.search("ALL"))
        expected = {u: d[b"RFC822.SIZE"] for u, d in c.fetch(uids, ["RFC822.SIZE"]).items()}
        assert fetch_sizes(c, [*uids, max(uids) + 9]) == expected
    assert expected[uids[1]] > expected[uids[0]] + 4000


def _traced_lines(tmp_path: Any, imap_user: Any, smtp_sink: Any, level: int) -> int:
    """How many times imaplib hands a protocol trace line to imapclient's logger while a
    logged-in connection of ours fetches a batch of bodies."""
    from configs import imap_config

    from inboxops import config
    from inboxops.intake.imap import ImapSource

    for n in range(3):
        imap_user.dovecot.append(imap_user.address, client_mail(body=f"message {n} " * 300))
    cfg = config.load(imap_config(tmp_path, imap_user, smtp_sink))
    logger = logging.getLogger("imapclient.imaplib")
    before = logger.level
    logger.setLevel(level)
    try:
        client = ImapSource(cfg.mailbox).connect()
        lines: list[str] = []
        client._imap._mesg = lambda line: lines.append(line)  # type: ignore[attr-defined]
        client.select_folder("INBOX")
        got = fetch_bodies(client, sorted(client.search("ALL")))
        client.logout()
    finally:
        logger.setLevel(before)
    assert len(got) == 3
    return len(lines)


def test_imaplib_traces_nothing_unless_its_logger_would_print(
        tmp_path: Any, imap_user: Any, smtp_sink: Any) -> None:
    """imapclient turns imaplib's trace on (debug level 5), which formats the repr of every
    fetched literal even when nobody logs it: off for our connections, on when asked for."""
    assert _traced_lines(tmp_path, imap_user, smtp_sink, logging.INFO) == 0


def test_the_wire_trace_stays_for_someone_debugging(
        tmp_path: Any, imap_user: Any, smtp_sink: Any) -> None:
    assert _traced_lines(tmp_path, imap_user, smtp_sink, logging.DEBUG) > 3
