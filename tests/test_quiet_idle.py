"""An idle daemon is quiet (issue 15): no login per work pass, and the Drafts round only when
something changed, here or in the mail client. Gmail and Microsoft 365 throttle accounts that
log in every few seconds. Real Dovecot; its log shows every login."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import drafts, running_daemon, stop, wait_until
from mailfactory import client_mail


def _logins(user: Any) -> int:
    return user.dovecot.log().count(f"Login: user=<{user.address}>")


def _drafts_folder_count(user: Any) -> int:
    return len(user.dovecot.fetch_all(user.address, "Drafts")) \
        if "Drafts" in user.dovecot.folders(user.address) else 0


def test_idle_daemon_with_a_pending_draft_logs_in_no_more(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    imap_user.dovecot.append(imap_user.address, client_mail(to=imap_user.address))
    config = imap_config(tmp_path, imap_user, smtp_sink)
    with running_daemon(config, tmp_path / "daemon.log") as proc:
        wait_until(lambda: drafts(config))
        wait_until(lambda: _drafts_folder_count(imap_user) == 1)  # published in Drafts
        time.sleep(1)  # the pass that published it ends
        before = _logins(imap_user)  # reading the log is no login
        time.sleep(12)  # over two work passes (every 5 s)
        # The sorting and folder looks share one kept connection; the Drafts round did not run
        # again: nothing changed.
        assert _logins(imap_user) == before
        assert stop(proc) == 0


def test_a_change_in_the_mail_client_is_still_noticed(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    """Deleting the draft's copy in Drafts changes the folder: the round runs and rejects it."""
    imap_user.dovecot.append(imap_user.address, client_mail(to=imap_user.address))
    config = imap_config(tmp_path, imap_user, smtp_sink)
    config.write_text(config.read_text()
                      + "[approval]\nreject_after_seconds = 0\ncheck_seconds = 1\n")
    with running_daemon(config, tmp_path / "daemon.log") as proc:
        wait_until(lambda: drafts(config))
        wait_until(lambda: _drafts_folder_count(imap_user) == 1)
        with imap_user.client() as c:
            c.select_folder("Drafts")
            uids = c.search("ALL")
            c.add_flags(uids, [b"\\Deleted"])
            c.expunge()
        wait_until(lambda: drafts(config) == [], timeout=30)  # rejected: no longer pending
        assert stop(proc) == 0
