"""SIGTERM in the middle of a backlog (issue 15): the daemon exits 0 within systemd's grace,
what it sorted in the mailbox is exactly what the store says it sorted, and the next start
processes no message twice and sorts only what was left. A real Dovecot, the daemon as systemd
runs it (a separate process); the test checks the state, not the time."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import running_daemon, stop, wait_until
from mailfactory import client_mail

from inboxops.service.daemon import SORT_EVERY, WORK_BATCH

# Sorting starts after SORT_EVERY, and a stop is honoured between two work batches: a few
# batches more make sure the stop comes before the end of the backlog.
COUNT = SORT_EVERY + 3 * WORK_BATCH


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "inboxops.db")


def _sorted_in_store(tmp_path: Path) -> set[int]:
    if not (tmp_path / "inboxops.db").exists():
        return set()
    with _db(tmp_path) as db:
        try:
            return {uid for (uid,) in db.execute(
                "SELECT uid FROM messages WHERE sort_state = 'done'")}
        except sqlite3.OperationalError:  # not migrated yet
            return set()


def _sorted_in_mailbox(imap_user: Any) -> set[int]:
    """UIDs carrying a keyword (no backslash): the category the daemon stored on them."""
    return {uid for uid, flags, _ in imap_user.dovecot.fetch_all(imap_user.address)
            if any(not f.startswith("\\") for f in flags)}


def test_a_stop_mid_backlog_leaves_store_and_mailbox_agreeing_and_redoes_nothing(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    with imap_user.client() as c:  # one session: quick
        for i in range(COUNT):
            c.append("INBOX", client_mail(subject=f"Order {i}", to=imap_user.address,
                                          body=f"Where is order {i}? Thank you."))
    config = imap_config(tmp_path, imap_user, smtp_sink)
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path) as proc:
        wait_until(lambda: _sorted_in_store(tmp_path), timeout=300)  # sorting has begun
        assert stop(proc) == 0
    with _db(tmp_path) as db:
        processed = db.execute("SELECT count(*) FROM messages WHERE state = 'processed'"
                               ).fetchone()[0]
    first = _sorted_in_store(tmp_path)
    assert 0 < len(first) < COUNT and processed < COUNT, "stopped mid-backlog"
    assert _sorted_in_mailbox(imap_user) == first  # nothing sorted behind the store's back

    with running_daemon(config, tmp_path / "daemon2.log") as proc:
        wait_until(lambda: len(_sorted_in_store(tmp_path)) == COUNT, timeout=300)
        assert stop(proc) == 0
    assert _sorted_in_mailbox(imap_user) == _sorted_in_store(tmp_path)
    with _db(tmp_path) as db:
        twice = db.execute(
            "SELECT entity_id FROM events WHERE entity = 'message' AND event = 'processed' "
            "GROUP BY entity_id HAVING count(*) > 1").fetchall()
        received = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    assert twice == [] and received == COUNT
    log = (tmp_path / "daemon2.log").read_text()
    assert "first start" not in log  # it resumed, it did not start over
