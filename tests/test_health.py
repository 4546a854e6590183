"""Mailbox outages and the admin's alerts, on a real store with a chosen clock: one alert
once an outage lasts long enough, one recovery note, a rate limit for a flapping mailbox."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email.policy import default
from pathlib import Path

from inboxops import config
from inboxops.service import health
from inboxops.store import Store

SOURCE = "imap:office@example.test@127.0.0.1:143"


def setup(tmp_path: Path) -> tuple[Store, config.Config]:
    cfg = config.default()
    cfg.alerts.to = ["it@example.test"]
    cfg.alerts.mailbox_down_minutes = 15
    cfg.alerts.repeat_hours = 6
    return Store(tmp_path / "s.db"), cfg


def alerts(store: Store) -> list[dict[str, object]]:
    return store.query("SELECT id, kind, rcpts, raw FROM outbox WHERE kind = 'alert' ORDER BY id")


def test_one_alert_after_the_delay_and_one_recovery_note(tmp_path: Path) -> None:
    store, cfg = setup(tmp_path)
    now = datetime.now(UTC)
    health.mailbox_failed(store, SOURCE, "IMAP login as office failed: AUTHENTICATIONFAILED")
    assert health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=14)) == []
    health.mailbox_failed(store, SOURCE, "cannot connect: Connection refused")
    (pk,) = health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=16))
    assert health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=30)) == []
    (row,) = alerts(store)
    assert row["id"] == pk and json.loads(str(row["rcpts"])) == ["it@example.test"]
    mime = email.message_from_bytes(row["raw"], policy=default)  # type: ignore[arg-type]
    assert mime["Auto-Submitted"] == "auto-generated"
    assert "unreachable" in mime["Subject"]
    assert "Connection refused" in mime.get_content()
    assert "2 failed attempts" in mime.get_content()
    health.mailbox_ok(store, SOURCE, "IDLE")
    (note,) = health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=31))
    assert health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=32)) == []
    recovery = email.message_from_bytes(alerts(store)[1]["raw"], policy=default)  # type: ignore[arg-type]
    assert "reachable again" in recovery["Subject"] and alerts(store)[1]["id"] == note


def test_a_short_outage_sends_nothing(tmp_path: Path) -> None:
    store, cfg = setup(tmp_path)
    health.mailbox_failed(store, SOURCE, "timeout")
    health.mailbox_ok(store, SOURCE, "IDLE")
    later = datetime.now(UTC) + timedelta(hours=1)
    assert health.check_alerts(store, cfg, SOURCE, later) == []
    assert health.open_outage(store) is None


def test_a_flapping_mailbox_gets_one_alert_per_repeat_window(tmp_path: Path) -> None:
    store, cfg = setup(tmp_path)
    now = datetime.now(UTC)
    health.mailbox_failed(store, SOURCE, "down")
    assert len(health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=20))) == 1
    health.mailbox_ok(store, SOURCE, "IDLE")
    assert len(health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=21))) == 1
    health.mailbox_failed(store, SOURCE, "down again")  # within repeat_hours: no new alert...
    assert health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=50)) == []
    health.mailbox_ok(store, SOURCE, "IDLE")  # ...and so no recovery note for it either
    assert health.check_alerts(store, cfg, SOURCE, now + timedelta(minutes=51)) == []
    assert len(alerts(store)) == 2


def test_without_an_admin_address_nothing_is_queued(tmp_path: Path) -> None:
    store, cfg = setup(tmp_path)
    cfg.alerts.to = []
    health.mailbox_failed(store, SOURCE, "down")
    assert health.check_alerts(store, cfg, SOURCE, datetime.now(UTC) + timedelta(days=1)) == []
    assert health.open_outage(store) is not None  # still recorded, for `inboxops status`
