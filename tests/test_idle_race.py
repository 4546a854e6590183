"""Mail that arrives between intake's last look and its IDLE is noticed at once.

The server tells of such mail as soon as IDLE starts, often in the same packet as its "+"
go-ahead (or just before it). imaplib then holds the news in its read buffer (or in its list
of untagged answers), where a wait on the socket never sees it: intake idled for five minutes
with new mail in the folder, and a client waited as long for an answer. A relay makes the race
certain: it delivers a message just before it passes IDLE on."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import wait_until
from imaprelay import CountingRelay
from mailfactory import client_mail

from inboxops import config
from inboxops.intake.imap import ImapSource
from inboxops.store import Store


class _DeliverBeforeIdle(CountingRelay):
    """Before passing on the client's first IDLE, the server gets a new message."""

    def __init__(self, upstream_port: int, deliver: Any) -> None:
        super().__init__(upstream_port)
        self.deliver, self.delivered = deliver, threading.Event()

    def _note(self, number: int, line: bytes) -> None:
        super()._note(number, line)
        if line.upper().endswith(b" IDLE") and not self.delivered.is_set():
            self.deliver()
            time.sleep(0.3)  # the server has taken it in before IDLE starts
            self.delivered.set()


def test_mail_delivered_just_before_idle_is_taken_at_once(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    relay = _DeliverBeforeIdle(imap_user.dovecot.imap_port, lambda: imap_user.dovecot.append(
        imap_user.address, client_mail(subject="Just in time")))
    cfg = config.load(imap_config(tmp_path, imap_user, smtp_sink, mailbox={
        "security": "none", "first_start": "all", "port": relay.port}))
    source, stop = ImapSource(cfg.mailbox), threading.Event()
    store = Store(tmp_path / "s.db")
    watcher = threading.Thread(target=lambda: source.watch(
        Store(tmp_path / "s.db", migrate=False), stop, on_new=lambda n: None), daemon=True)
    watcher.start()
    try:
        assert relay.delivered.wait(10)
        wait_until(lambda: store.one("SELECT count(*) AS n FROM messages")["n"] == 1, timeout=5)
    finally:
        stop.set()
        watcher.join(10)
        relay.close()
