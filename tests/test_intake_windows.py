"""Intake lists the new UIDs one SEARCH window at a time (issue 15: a first start on 100,000
messages held every UID at once), on a real Dovecot: each message recorded once, across gaps
left by expunged mail, the last UID kept per batch, and an empty folder still noted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from configs import imap_config
from mailfactory import client_mail

from inboxops import config
from inboxops.intake import imap as imap_module
from inboxops.intake.imap import ImapSource
from inboxops.store import Store


def _source(tmp_path: Path, imap_user: Any, smtp_sink: Any) -> ImapSource:
    cfg = config.load(imap_config(tmp_path, imap_user, smtp_sink,
                                  mailbox={"security": "none", "first_start": "all"}))
    return ImapSource(cfg.mailbox)


def _recorded(store: Store) -> list[int]:
    return [r["uid"] for r in store.query("SELECT uid FROM messages ORDER BY uid")]


def test_windows_take_every_message_once_across_gaps(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imap_module, "UID_WINDOW", 3)
    monkeypatch.setattr(imap_module, "UID_WINDOW_MAX", 6)
    for i in range(40):
        imap_user.dovecot.append(imap_user.address, client_mail(subject=f"order {i}"))
    with imap_user.dovecot.client(imap_user.address) as c:
        c.select_folder("INBOX")
        uids = sorted(c.search("ALL"))
        gone = uids[5:30]  # a long gap: the window widens to cross it
        c.delete_messages(gone)
        c.expunge()
    kept = [u for u in uids if u not in gone]
    source, store = _source(tmp_path, imap_user, smtp_sink), Store(tmp_path / "s.db")
    searches: list[Any] = []
    with source.session() as client:
        search = client.search
        client.search = (  # type: ignore[method-assign]
            lambda criteria: searches.append(criteria) or search(criteria))
        _, validity = source.select(client, readonly=True)
        assert source.fetch_new(client, store, validity) == len(kept)
        assert _recorded(store) == kept
        assert store.mailbox_state(source.name, source.folder) == (validity, kept[-1])
        # Windows, not one SEARCH of everything; widened across the gap (windows of 3 all
        # along would be 14 SEARCHes and the two asking for the highest UID)
        assert ["UID", "1:3"] in searches and 2 < len(searches) < 16, searches
        imap_user.dovecot.append(imap_user.address, client_mail(subject="late"))
        client.noop()
        assert source.fetch_new(client, store, validity) == 1  # only the new one
    assert len(_recorded(store)) == len(kept) + 1


def test_an_empty_folder_is_noted_without_error(
    tmp_path: Path, imap_user: Any, smtp_sink: Any,
) -> None:
    source, store = _source(tmp_path, imap_user, smtp_sink), Store(tmp_path / "s.db")
    with source.session() as client:
        _, validity = source.select(client, readonly=True)
        assert source.fetch_new(client, store, validity) == 0
    assert store.mailbox_state(source.name, source.folder) == (validity, 0)
