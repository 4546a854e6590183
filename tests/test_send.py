"""The SMTP transport against a real aiosmtpd server: non-ASCII addresses (SMTPUTF8, SMTP-5),
refusals, what counts as certain or uncertain, and a server that is down or refuses our
login (the reply waits, the admin is alerted)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mailservers import free_port

from inboxops import config
from inboxops.errors import SendError
from inboxops.outbound.outbox import MAX_ATTEMPTS, Outbox, SmtpTransport, enqueue
from inboxops.responders.compose import address, build_message, new_message_id
from inboxops.service import health, status
from inboxops.store import Store


def transport(sink: Any) -> SmtpTransport:
    cfg = config.default()
    cfg.smtp.kind = "smtp"
    cfg.smtp.host, cfg.smtp.port, cfg.smtp.security = "127.0.0.1", sink.port, "none"
    return SmtpTransport(cfg.smtp)


def row(rcpt: str) -> dict[str, Any]:
    """An outbox row; the envelope recipient is what this test is about."""
    raw = build_message(sender=address("office@example.test"), to=[address("c@example.test")],
                        subject="Re: x", text="hello", message_id=new_message_id("example.test"))
    return {"id": 1, "mail_from": "office@example.test", "rcpts": json.dumps([rcpt]), "raw": raw}


def noop() -> None:
    """The before-the-dot hook; the outbox uses it to record the send's phase."""


def test_non_ascii_address_goes_out_with_smtputf8(smtp_sink_factory: Any) -> None:
    sink = smtp_sink_factory(smtputf8=True)
    asyncio.run(transport(sink).send(row("josé@exämple.test"), noop))
    assert sink.wait_for(1)
    assert sink.messages[0]["rcpt_tos"] == ["josé@exämple.test"]


def test_non_ascii_address_without_smtputf8_fails_for_good(smtp_sink_factory: Any) -> None:
    sink = smtp_sink_factory()
    with pytest.raises(SendError) as err:
        asyncio.run(transport(sink).send(row("josé@exämple.test"), noop))
    assert err.value.permanent and "SMTPUTF8" in str(err.value)
    assert sink.messages == []


def test_ascii_mail_does_not_ask_for_smtputf8(smtp_sink_factory: Any) -> None:
    sink = smtp_sink_factory()
    asyncio.run(transport(sink).send(row("ana@client.example"), noop))
    assert sink.wait_for(1)


def test_bad_credentials_keep_the_reply_queued_and_alert_the_admin(
    smtp_sink_factory: Any, tmp_path: Path
) -> None:
    """535 during a password change: the reply waits (never failed for good, however often
    it is tried), the admin is alerted once, and it goes out once the password is right."""
    sink = smtp_sink_factory(auth={"office": "new-password"})
    cfg = config.default()
    cfg.smtp.kind, cfg.smtp.host, cfg.smtp.port, cfg.smtp.security = (
        "smtp", "127.0.0.1", sink.port, "none")
    secret = tmp_path / "smtp-password"
    secret.write_text("old-password\n")
    cfg.smtp.username, cfg.smtp.password_file = "office", secret
    cfg.alerts.to = ["it@example.test"]
    store = Store(tmp_path / "s.db")
    r = row("ana@client.example")
    pk = enqueue(store, "reply", r["raw"], "<x@example.test>", r["mail_from"],
                 json.loads(r["rcpts"]))
    box = Outbox(store, SmtpTransport(cfg.smtp), None)
    now = datetime.now(UTC)
    for i in range(MAX_ATTEMPTS + 2):  # more tries than a failing message gets
        assert asyncio.run(box.deliver(now + timedelta(days=i))) == 0
        assert store.require("outbox", pk)["state"] == "queued"
    assert "535" in str(store.require("outbox", pk)["last_error"])
    report = status.format_text(status.report(store, cfg), cfg)
    assert "smtp down:" in report and "535" in report
    later = now + timedelta(days=MAX_ATTEMPTS + 2)
    [alert] = health.check_alerts(store, cfg, "imap:office", later)
    assert "SMTP server" in str(store.require("outbox", alert)["raw"])

    secret.write_text("new-password\n")
    assert asyncio.run(box.deliver(later + timedelta(days=1))) == 2  # the reply and the alert
    assert store.require("outbox", pk)["state"] == "sent" and sink.wait_for(2)
    [note] = health.check_alerts(store, cfg, "imap:office", later + timedelta(days=1))
    assert b"reachable again" in store.require("outbox", note)["raw"]
    assert "smtp down:" not in status.format_text(status.report(store, cfg), cfg)


def test_no_server_keeps_the_reply_queued(tmp_path: Path) -> None:
    cfg = config.default()
    cfg.smtp.kind, cfg.smtp.host, cfg.smtp.port, cfg.smtp.security = (
        "smtp", "127.0.0.1", free_port(), "none")  # nothing listens there
    store = Store(tmp_path / "s.db")
    r = row("ana@client.example")
    pk = enqueue(store, "reply", r["raw"], "<y@example.test>", r["mail_from"],
                 json.loads(r["rcpts"]))
    now = datetime.now(UTC)
    for i in range(MAX_ATTEMPTS + 1):
        asyncio.run(Outbox(store, SmtpTransport(cfg.smtp), None).deliver(now + timedelta(days=i)))
    assert store.require("outbox", pk)["state"] == "queued"
    assert store.one("SELECT 1 FROM outages WHERE kind = 'smtp' AND ended_at IS NULL")
