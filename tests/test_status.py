"""`inboxops status` from another process than the daemon, against real Dovecot and aiosmtpd;
and the next digest time on a store with a chosen clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import cli, drafts, running_daemon, stop, wait_until
from mailfactory import client_mail

from inboxops import config
from inboxops.service.status import next_digest
from inboxops.store import Store


def status(config_path: Path) -> dict[str, Any]:
    return json.loads(cli(config_path, "status", "--json"))


def test_status_follows_the_daemon(tmp_path: Path, imap_user: Any, smtp_sink: Any) -> None:
    config_path = imap_config(tmp_path, imap_user, smtp_sink)
    assert status(config_path)["daemon"]["state"] == "never started"
    log_path = tmp_path / "daemon.log"
    with running_daemon(config_path, log_path) as proc:
        wait_until(lambda: "inboxops ready" in log_path.read_text())
        now = status(config_path)
        assert now["daemon"]["state"] == "running" and now["daemon"]["pid"] == proc.pid
        assert now["mailbox"]["mode"] == "IDLE"
        assert now["mailbox"]["last_successful_poll"] and now["mailbox"]["last_error"] is None
        imap_user.dovecot.append(imap_user.address, client_mail(to=imap_user.address))
        wait_until(lambda: drafts(config_path))
        now = status(config_path)
        assert now["queues"]["drafts_pending"] == 1
        assert now["queues"]["outbox"] == {"queued": 0, "sending": 0, "sent": 0, "failed": 0,
                                           "unknown": 0}
        assert now["next_digest"] is None  # the test config turns the digest off
        assert stop(proc) == 0
    assert status(config_path)["daemon"]["state"] == "stopped"
    (tmp_path / "imap-password").write_text("wrong-password\n")
    with running_daemon(config_path, log_path) as proc:
        wait_until(lambda: status(config_path)["mailbox"]["mode"] == "unreachable")
        now = status(config_path)
        assert "login" in now["mailbox"]["last_error"]
        assert now["mailbox"]["unreachable_since"] is not None
        assert now["daemon"]["state"] == "running"
        text = cli(config_path, "status")
        assert "daemon:         running" in text and "unreachable:    since" in text
        assert "1 waiting for approval" in text and "wrong-password" not in text
        assert stop(proc) == 0


def test_next_digest_is_today_until_sent_then_tomorrow(tmp_path: Path) -> None:
    cfg = config.default()
    cfg.digest.time = "08:00"  # Bucharest, UTC+2 in November
    store = Store(tmp_path / "s.db")
    now = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    assert next_digest(store, cfg, now) == "2026-11-27T06:00:00+00:00"
    store.conn.execute("INSERT INTO digests VALUES ('2026-11-27', '2026-11-27T06:00:00', NULL)")
    assert next_digest(store, cfg, now) == "2026-11-28T06:00:00+00:00"
    cfg.digest.enabled = False
    assert next_digest(store, cfg, now) is None
