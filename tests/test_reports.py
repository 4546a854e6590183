"""What the admin and the manager are told: copies left in Approved (status and digest, en and
ro), and a digest that is never sent from or to example.com, said by status and the log."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from configs import base_sections, maildir_config, write_config
from helpers import cli, drop, invoke
from mailfactory import client_mail

from inboxops import config as config_module
from inboxops.errors import ConfigError
from inboxops.outbound.mailclient import _Copy, _keep
from inboxops.service.digest import queue_digest, render
from inboxops.store import Store

KEPT = {"en": "Copies left in InboxOps/Approved: 2", "ro": "Copii lăsate în InboxOps/Approved: 2"}


def test_copies_left_in_approved_show_in_status_and_in_the_digest(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    cfg = config_module.load(config)
    store = Store(cfg.store.path)
    # As the mail-client sync records them: one copy kept twice (a later reason), one without
    # a draft; the same copy and reason again is not counted twice.
    _keep(store, _Copy("InboxOps/Approved", 7, 11, b"", 3), "draft 3 is already sent")
    _keep(store, _Copy("InboxOps/Approved", 7, 11, b"", 3), "draft 3 is already rejected")
    _keep(store, _Copy("InboxOps/Approved", 7, 12, b""), "ambiguous: drafts 4, 5 <both>")
    _keep(store, _Copy("InboxOps/Approved", 7, 12, b""), "ambiguous: drafts 4, 5 <both>")

    status = cli(config, "status")
    assert "copies kept:    2 left in InboxOps/Approved so far" in status
    assert "ambiguous: drafts 4, 5 <both>" in status
    for language in ("en", "ro"):
        _subject, text, html = render(store, cfg, datetime.now(UTC), language)
        assert KEPT[language] in text, text
        assert "InboxOps/Approved UID 11: draft 3 is already rejected" in text
        assert "InboxOps/Approved UID 12: ambiguous: drafts 4, 5 <both>" in text
        assert html is not None and "drafts 4, 5 &lt;both&gt;" in html and "#3" in html
    # Once a digest told the manager, the next one and status start afresh.
    store.conn.execute("INSERT INTO digests VALUES ('x', ?, NULL)",
                       ((datetime.now(UTC) + timedelta(seconds=1)).isoformat(),))
    assert "copies kept" not in cli(config, "status")
    assert "Copies left" not in render(store, cfg, datetime.now(UTC) + timedelta(seconds=2))[1]


def placeholder_config(tmp_path: Path, digest_at: str = "08:00") -> Path:
    """The embedded default's identities (example.com), on a Maildir and an outbox folder."""
    sections = base_sections(tmp_path)
    del sections["digest"]
    sections["digest"] = {"time": digest_at}
    sections["mailbox"] = {"kind": "maildir", "path": str(tmp_path / "mail"), "sort": "off"}
    sections["smtp"] = {"kind": "outbox-dir", "path": str(tmp_path / "outbox")}
    return write_config(tmp_path / "config.toml", sections)


def test_no_digest_from_or_to_example_com_and_the_daemon_still_runs(tmp_path: Path) -> None:
    # A digest time just passed: the daemon would send it at once.
    at = (datetime.now(ZoneInfo("Europe/Bucharest")) - timedelta(minutes=5)).strftime("%H:%M")
    config = placeholder_config(tmp_path, at)
    drop(tmp_path / "mail", "1700000001.M1P1.test", client_mail())
    cli(config, "run", "--once")
    cli(config, "run", "--once")
    outbox = sorted(p.name for p in (tmp_path / "outbox").glob("*.eml"))
    assert outbox == [] and len(json_drafts(config)) == 1  # it ran; nothing went anywhere
    db = sqlite3.connect(tmp_path / "inboxops.db")
    skipped = db.execute("SELECT detail FROM events WHERE entity = 'digest' AND event = "
                         "'skipped'").fetchall()
    assert len(skipped) == 1  # loud once a day, not at every pass
    assert "[smtp] from is not set" in skipped[0][0] and "[digest] to is not set" in skipped[0][0]
    status = cli(config, "status")
    assert "next digest:    NOT SENT until fixed: [smtp] from is not set" in status
    assert "Fix: to = [" in status
    result = invoke(config, "digest", "--send-now")
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: no digest sent: [smtp] from is not set")


def json_drafts(config: Path) -> list[object]:
    import json

    return list(json.loads(cli(config, "drafts", "--json")))


def test_queue_digest_refuses_placeholders_and_sends_once_they_are_set(tmp_path: Path) -> None:
    cfg = config_module.default()
    store = Store(tmp_path / "s.db")
    now = datetime(2026, 11, 27, 7, tzinfo=UTC)
    assert queue_digest(store, cfg, now) is None
    with pytest.raises(ConfigError, match=r"\[smtp\] from is not set"):
        queue_digest(store, cfg, now, force=True)
    cfg.smtp.from_ = "Office <office@office.test>"
    cfg.digest.to = ["boss@office.test"]
    assert config_module.missing_identities(cfg) == []
    assert queue_digest(store, cfg, now) is not None
    cfg.digest.to = []
    assert "[digest] to is not set (still empty)" in config_module.missing_identities(cfg)[0]
    cfg.digest.enabled = False
    assert config_module.missing_identities(cfg) == []  # no digest: nobody to send it to
