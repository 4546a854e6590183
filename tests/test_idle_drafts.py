"""An idle daemon with drafts pending in the mail client stays quiet (issue 15): the Drafts
round reads a copy's id header once, not every pending draft's header each round; it runs on
the kept connection (no login of its own); and the look at the Drafts and approved folders is
one command where the server has LIST-STATUS. Real Dovecot, commands counted at the wire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config
from helpers import cli
from imaprelay import CountingRelay
from mailfactory import client_mail

from inboxops.config import Config, load
from inboxops.intake.imap import ImapSource
from inboxops.intake.sources import open_source
from inboxops.outbound.folders import parse_statuses
from inboxops.outbound.mailbox import ImapMailbox
from inboxops.service.pipeline import Pipeline
from inboxops.store import Store

FETCHES = {"FETCH", "UID FETCH"}


@pytest.fixture
def relay(imap_user: Any) -> Iterator[CountingRelay]:
    relay = CountingRelay(imap_user.dovecot.imap_port)
    yield relay
    relay.close()


def _config(tmp_path: Path, imap_user: Any, smtp_sink: Any, relay: CountingRelay,
            n: int) -> Config:
    """n client mails drafted and published (by `run --once`, straight to Dovecot); the
    config returned goes through the relay."""
    path = imap_config(tmp_path, imap_user, smtp_sink,
                       mailbox={"security": "none", "ca_file": None})
    path.write_text(path.read_text() + "[approval]\nreject_after_seconds = 0\n")
    for i in range(n):
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=f"Price question {i}",
            body=f"Hello, how much does product {i} cost?"))
    cli(path, "run", "--once")
    cfg = load(path)
    return cfg.model_copy(update={"mailbox": cfg.mailbox.model_copy(
        update={"port": relay.port})})


def _mailbox(cfg: Config) -> ImapMailbox:
    source = open_source(cfg.mailbox)
    assert isinstance(source, ImapSource)
    return ImapMailbox(source)


def _copies(imap_user: Any) -> list[int]:
    return [uid for uid, _, _ in imap_user.dovecot.fetch_all(imap_user.address, "Drafts")]


def test_a_round_reads_each_copy_once_and_logs_in_once(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, relay: CountingRelay
) -> None:
    cfg = _config(tmp_path, imap_user, smtp_sink, relay, 3)
    assert len(_copies(imap_user)) == 3
    mailbox, store = _mailbox(cfg), Store(cfg.store.path)
    try:
        mailbox.sync_drafts(store, cfg)  # a daemon just started: reads the three copies
        assert FETCHES & set(relay.names())
        mark = relay.mark()
        mailbox.sync_drafts(store, cfg)
        mailbox.sync_drafts(store, cfg)
        again = relay.since(mark)
        assert not FETCHES & set(again), again  # nothing new: no copy read again
        assert "LOGIN" not in again and "APPEND" not in again
        # The assistant re-saves one draft (a new UID): only that copy is read.
        uid = _copies(imap_user)[0]
        with imap_user.client() as c:
            c.select_folder("Drafts")
            raw = c.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
            c.append("Drafts", raw.replace(b"how much", b"what price"), flags=[b"\\Draft"])
            c.delete_messages([uid])
            c.uid_expunge([uid])
        mark = relay.mark()
        mailbox.sync_drafts(store, cfg)
        fetched = [line for _, name, line in relay.commands[mark:] if name in FETCHES]
        assert len(fetched) == 1, fetched
        assert relay.names().count("LOGIN") == 1  # every round on the one kept connection
        assert len(_copies(imap_user)) == 3  # nothing rejected, nothing published twice
    finally:
        mailbox.close()
        store.close()


def test_a_published_copy_is_known_by_its_appenduid(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, relay: CountingRelay
) -> None:
    """UIDPLUS names the UID of each copy we append: the next round fetches none of them."""
    cfg = _config(tmp_path, imap_user, smtp_sink, relay, 1)
    mailbox, store = _mailbox(cfg), Store(cfg.store.path)
    pipeline = Pipeline(cfg, store)
    try:
        mailbox.sync_drafts(store, cfg)
        for i in range(2):
            imap_user.dovecot.append(imap_user.address, client_mail(
                to=imap_user.address, subject=f"Delivery question {i}",
                body=f"Hello, when can you deliver order {i}?"))
        mailbox.source.poll(store)
        assert pipeline.process_pending() == 2
        mark = relay.mark()
        mailbox.sync_drafts(store, cfg)  # publishes the two new drafts
        assert relay.since(mark).count("APPEND") == 2
        mark = relay.mark()
        mailbox.sync_drafts(store, cfg)
        assert not FETCHES & set(relay.since(mark))
        assert len(_copies(imap_user)) == 3
    finally:
        pipeline.close()
        mailbox.close()
        store.close()


def test_the_folder_look_is_one_command_and_sees_a_change(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, relay: CountingRelay
) -> None:
    cfg = _config(tmp_path, imap_user, smtp_sink, relay, 2)
    mailbox, store = _mailbox(cfg), Store(cfg.store.path)
    try:
        mailbox.sync_drafts(store, cfg)  # creates InboxOps/Approved
        before = mailbox.folder_marks(cfg)
        mark = relay.mark()
        assert mailbox.folder_marks(cfg) == before
        assert relay.since(mark) == ["LIST"]  # both folders in one LIST-STATUS (RFC 5819)
        assert [folder for folder, _ in before] == ["Drafts", "InboxOps/Approved"]
        assert all(dict(status)[b"MESSAGES"] >= 0 for _, status in before)
        uid = _copies(imap_user)[0]
        with imap_user.client() as c:  # the assistant approves one: moves it to Approved
            c.select_folder("Drafts")
            c.move([uid], "InboxOps/Approved")
        after = mailbox.folder_marks(cfg)
        assert after != before
        assert dict(after[1][1])[b"MESSAGES"] == dict(before[1][1])[b"MESSAGES"] + 1
    finally:
        mailbox.close()
        store.close()


def test_status_lines_parsed_with_quoted_encoded_and_numeric_names() -> None:
    lines = [b'"InboxOps/Approved" (MESSAGES 2 UIDNEXT 9 UIDVALIDITY 17)',
             b"Drafts (MESSAGES 1000 UIDNEXT 1201 UIDVALIDITY 5 HIGHESTMODSEQ 4411)",
             b'"Ciorne &AQMA7g-" (messages 0)', b"2024 (MESSAGES 3)", None]
    assert parse_statuses(lines) == {
        "InboxOps/Approved": {b"MESSAGES": 2, b"UIDNEXT": 9, b"UIDVALIDITY": 17},
        "Drafts": {b"MESSAGES": 1000, b"UIDNEXT": 1201, b"UIDVALIDITY": 5,
                   b"HIGHESTMODSEQ": 4411},
        "Ciorne ăî": {b"MESSAGES": 0},
        "2024": {b"MESSAGES": 3},
    }
