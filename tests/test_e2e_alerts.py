"""The admin's alert with real servers: Dovecot stops, one alert arrives; the daemon restarts
while it is still down, nothing more; Dovecot comes back, one recovery note (issue 6)."""

from __future__ import annotations

import email
import secrets
import time
from email.policy import default
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import running_daemon, stop, wait_until
from mailservers import DovecotInstance, ImapUser, unique_address

ADMIN = "it-admin@example.test"


def subjects(sink: Any) -> list[str]:
    return [str(email.message_from_bytes(m["data"], policy=default)["Subject"])
            for m in sink.messages if ADMIN in m["rcpt_tos"]]


def test_unreachable_mailbox_alerts_once_and_recovery_is_noted_once(
    tmp_path: Path, smtp_sink_factory: Any
) -> None:
    sink = smtp_sink_factory()  # independent of Dovecot, as a real SMTP relay would be
    with DovecotInstance() as dovecot:  # a private one: stopping it disturbs no other test
        user = ImapUser(unique_address("office"), secrets.token_urlsafe(12), dovecot)
        dovecot.add_user(user.address, user.password)
        config = imap_config(tmp_path, user, sink)
        with config.open("a") as f:  # 0.02 minutes: the alert is due after about a second
            f.write(f'[alerts]\nto = ["{ADMIN}"]\nmailbox_down_minutes = 0.02\n')
        first_log = tmp_path / "daemon1.log"
        with running_daemon(config, first_log) as proc:
            wait_until(lambda: "inboxops ready" in first_log.read_text())
            assert subjects(sink) == []
            dovecot.pause()
            wait_until(lambda: subjects(sink))
            (alert,) = subjects(sink)
            assert "unreachable" in alert
            assert stop(proc) == 0
        second_log = tmp_path / "daemon2.log"
        with running_daemon(config, second_log) as proc:  # restarted during the outage
            wait_until(lambda: second_log.read_text().count("IMAP connection problem") >= 2)
            time.sleep(1)  # a few more work passes: any second alert would be queued by now
            assert len(subjects(sink)) == 1
            dovecot.resume()
            wait_until(lambda: len(subjects(sink)) >= 2)
            wait_until(lambda: "inboxops ready" in second_log.read_text())
            time.sleep(1)
            assert stop(proc) == 0
        alert, recovery = subjects(sink)
        assert "unreachable" in alert and "reachable again" in recovery
        message = email.message_from_bytes(sink.messages[-1]["data"], policy=default)
        assert message["Auto-Submitted"] == "auto-generated"
        assert user.password not in second_log.read_text() + first_log.read_text()
