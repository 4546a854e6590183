"""kill -9 at each step of a send, then a restart. Killed before the terminating "." went out:
exactly one copy at the SMTP server, one in Sent, and \\Answered on the original. Killed after
it: the row is `unknown` (never resent, never counted as sent) until a human settles it.

The daemon is a real process, killed with a real SIGKILL: a halt point (inboxops/faults.py)
freezes it at the named step and tells the test, which then kills it. The restarted daemon must
finish the job by itself, at once: the dead process's lease is recognised as dead.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config
from helpers import cli, drafts, running_daemon, stop, wait_until
from mailfactory import client_mail

from inboxops.outbound.faults import AFTER_DOT, POINTS


def outbox_done(db_path: Path) -> bool:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT state, saved_sent FROM outbox").fetchall()
    return bool(rows) and all(state == "sent" and saved for state, saved in rows)


def outbox_states(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as db:
        return [state for (state,) in db.execute("SELECT state FROM outbox ORDER BY id")]


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_any_step_of_a_send_never_doubles_nor_claims_a_send(
    point: str, tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    dovecot = imap_user.dovecot
    # Poll slowly: the restarted daemon must not need a poll to finish the send.
    config = imap_config(tmp_path, imap_user, smtp_sink, mailbox={"poll_seconds": 600})
    dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Price question",
        body="Do you have the blue kettle in stock? How much does it cost?"))
    cli(config, "run", "--once")
    [draft] = drafts(config)
    cli(config, "approve", "--no-send", str(draft["id"]))

    marker = tmp_path / "halted"
    env = {**os.environ, "INBOXOPS_HALT_AT": point, "INBOXOPS_HALT_MARKER": str(marker)}
    with running_daemon(config, tmp_path / "first.log", env=env) as proc:
        wait_until(marker.exists)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert marker.read_text() == point

    log = tmp_path / "second.log"
    db_path = tmp_path / "inboxops.db"
    message_id = draft["message_id"]
    if point in AFTER_DOT:
        # The server got the ".": it may have the message (here it does), so the restart
        # neither resends it nor calls it sent, and files nothing in Sent.
        with running_daemon(config, log) as proc:
            wait_until(lambda: outbox_states(db_path) == ["unknown"])
            assert stop(proc) == 0
        assert smtp_sink.wait_for(1)
        assert [m for m in smtp_sink.messages if message_id.encode() in m["data"]]
        assert dovecot.fetch_all(imap_user.address, "Sent") == []
        assert "0 sent, 0 failed, 1 unknown" in cli(config, "status")
        assert "is unknown" in cli(config, "digest")
        # The assistant checks with the client and settles it: now it is filed in Sent.
        [row] = [r for r in cli(config, "outbox").splitlines() if "unknown" in r]
        cli(config, "outbox", "resolve", row.split()[0].lstrip("#"), "--sent")
        cli(config, "run", "--once")
        assert outbox_done(db_path)
    else:
        with running_daemon(config, log) as proc:
            wait_until(lambda: outbox_done(db_path))
            assert stop(proc) == 0

    delivered = [m for m in smtp_sink.messages if message_id.encode() in m["data"]]
    assert len(delivered) == 1, f"{len(delivered)} copies reached the SMTP server"
    sent = [raw for _uid, _flags, raw in dovecot.fetch_all(imap_user.address, "Sent")]
    assert len(sent) == 1 and message_id.encode() in sent[0]
    [(_uid, flags, _raw)] = dovecot.fetch_all(imap_user.address, "INBOX")
    assert "\\Answered" in flags
    assert "Traceback" not in log.read_text()
