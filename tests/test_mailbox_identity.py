"""A mailbox is known by who and where (user, host, folder, UIDVALIDITY), not by how it was
reached: the same Dovecot through its STARTTLS port and then its TLS port takes nothing twice,
and a database written when the port was part of the name is carried over on upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import cli
from mailfactory import client_mail

from inboxops.store import Store
from inboxops.store.intake import imap_source
from inboxops.store.migrations import _m041_mailbox_identity


def _state(db_path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with sqlite3.connect(db_path) as db:
        messages = db.execute("SELECT id, source, folder, source_key FROM messages "
                              "ORDER BY id").fetchall()
        drafts = db.execute("SELECT id, message_pk, state FROM drafts ORDER BY id").fetchall()
    return messages, drafts


def _ask(imap_user: Any, n: int) -> None:
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject=f"Question {n}", body=f"Do you have item {n} in stock?"))


def test_starttls_then_tls_port_takes_nothing_twice(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    dovecot = imap_user.dovecot
    for n in range(2):
        _ask(imap_user, n)
    imap_config(tmp_path, imap_user, smtp_sink)  # port 143-style, STARTTLS
    cli(tmp_path / "config.toml", "run", "--once")
    before = _state(tmp_path / "inboxops.db")
    assert len(before[0]) == 2 and len(before[1]) == 2

    config = imap_config(tmp_path, imap_user, smtp_sink,
                         mailbox={"port": dovecot.imaps_port, "security": "tls"})
    cli(config, "run", "--once")
    cli(config, "run", "--once")
    assert _state(tmp_path / "inboxops.db") == before  # nothing recorded or superseded
    _ask(imap_user, 2)
    cli(config, "run", "--once")
    messages, drafts = _state(tmp_path / "inboxops.db")
    assert len(messages) == 3 and len(drafts) == 3  # and new mail still comes in
    assert {m[1] for m in messages} == {imap_source(imap_user.address, "127.0.0.1")}


def test_upgrade_renames_the_old_source_and_takes_nothing_again(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    dovecot = imap_user.dovecot
    for n in range(2):
        _ask(imap_user, n)
    config = imap_config(tmp_path, imap_user, smtp_sink)
    cli(config, "run", "--once")
    # As an earlier version left it: the port in the name, and this migration not yet run.
    old = f"imap:{imap_user.address}@127.0.0.1:{dovecot.imap_port}"
    with sqlite3.connect(tmp_path / "inboxops.db") as db:
        for table in ("messages", "mailbox_state", "intake_start"):
            db.execute(f"UPDATE {table} SET source = ?", (old,))
        db.execute("DELETE FROM migrations WHERE name = '041_mailbox_identity'")
    before = _state(tmp_path / "inboxops.db")

    config = imap_config(tmp_path, imap_user, smtp_sink,
                         mailbox={"port": dovecot.imaps_port, "security": "tls"})
    cli(config, "run", "--once")
    messages, drafts = _state(tmp_path / "inboxops.db")
    assert drafts == before[1] and [m[0] for m in messages] == [m[0] for m in before[0]]
    assert {m[1] for m in messages} == {imap_source(imap_user.address, "127.0.0.1")}


def test_the_rename_is_idempotent_and_merges_two_ports(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    db = store.db
    rows = [("imap:a@Mail.Example:143", 7, 40), ("imap:a@Mail.Example:993", 7, 55),
            ("imap:a@::1:143", 3, 9), ("maildir:/srv/mail:2", None, 0)]
    with store.tx():
        for source, validity, last in rows:
            db.execute("INSERT INTO mailbox_state VALUES (?, 'INBOX', ?, ?)",
                       (source, validity, last))
            db.execute("INSERT INTO intake_start (source, folder, mode, at) VALUES "
                       "(?, 'INBOX', 'all', 'x')", (source,))
        _m041_mailbox_identity(db)
    first = store.query("SELECT * FROM mailbox_state ORDER BY source")
    assert [(r["source"], r["last_uid"]) for r in first] == [
        ("imap:a@[::1]", 9), ("imap:a@mail.example", 55), ("maildir:/srv/mail:2", 0)]
    with store.tx():
        _m041_mailbox_identity(db)  # again: nothing of the old form is left to rewrite
    assert store.query("SELECT * FROM mailbox_state ORDER BY source") == first
    assert sorted(r["source"] for r in store.query("SELECT source FROM intake_start")) == [
        "imap:a@[::1]", "imap:a@mail.example", "maildir:/srv/mail:2"]
