"""The SMTP transport against a real aiosmtpd server: non-ASCII addresses (SMTPUTF8, SMTP-5),
refusals, and what counts as certain or uncertain."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from inboxops import config
from inboxops.errors import SendError
from inboxops.outbound.outbox import SmtpTransport
from inboxops.responders.compose import address, build_message, new_message_id


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
    """The before-DATA hook; the outbox uses it to record the send's phase."""


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
