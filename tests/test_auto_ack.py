"""Automatic acknowledgements: the one kind of mail sent without approval, so every LOOP-2
signal must stop it, it goes only to the envelope sender, is labelled per RFC 3834, and an
echoing auto-responder gets at most one, even across restarts."""

from __future__ import annotations

import email
import sqlite3
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config, maildir_config
from helpers import cli, drop
from mailfactory import client_mail

COMPLAINT = dict(subject="Broken heater", body="The heater is broken again. This is "
                 "unacceptable and I want a refund.")


def ack_config(tmp_path: Path) -> Path:
    config = maildir_config(tmp_path)
    text = config.read_text().replace("[replies]\n", "[replies]\nauto_ack = ['complaint']\n")
    config.write_text(text)
    return config


def acks(tmp_path: Path) -> list[Any]:
    return [email.message_from_bytes(p.read_bytes(), policy=default)
            for p in sorted((tmp_path / "outbox").glob("*-ack-*.eml"))]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"List-Id": "<list.example.org>"},
        {"List-Unsubscribe": "<mailto:u@example.org>"},
        {"Precedence": "bulk"},
        {"X-Precedence": "junk"},
        {"X-Auto-Response-Suppress": "All"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "yes"},
        {"X-Loop": "yes"},
        {"Return-Path": "<>"},
        {"From": "MAILER-DAEMON@mx.example.org"},
        {"From": "no-reply@shop.example"},
        {"From": "Office <office@example.test>"},
        {"NO-RETURN-PATH": ""},
    ],
)
def test_each_loop_signal_suppresses_the_acknowledgement(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    config = ack_config(tmp_path)
    extra = {"Return-Path": "<ana@client.example>", **headers}
    sender = extra.pop("From", "Ana Popescu <ana@client.example>")
    if "NO-RETURN-PATH" in extra:
        del extra["NO-RETURN-PATH"], extra["Return-Path"]
    drop(tmp_path / "mail", "1700000060.M1P1.t", client_mail(sender=sender, headers=extra,
                                                             **COMPLAINT))
    cli(config, "run", "--once")
    assert acks(tmp_path) == []


def test_a_plain_complaint_is_acknowledged_by_the_rules(tmp_path: Path) -> None:
    config = ack_config(tmp_path)
    drop(tmp_path / "mail", "1700000061.M1P1.t", client_mail(
        sender="Ana Popescu <ana@client.example>",
        headers={"Return-Path": "<bounces-ana@client.example>", "Auto-Submitted": "no",
                 "Reply-To": "someone-else@client.example"}, **COMPLAINT))
    cli(config, "run", "--once")
    (ack,) = acks(tmp_path)
    assert ack["To"].addresses[0].addr_spec == "bounces-ana@client.example"  # envelope only
    assert ack["Auto-Submitted"] == "auto-replied" and ack["Precedence"] == "bulk"
    assert ack["X-Auto-Response-Suppress"] == "All" and ack["In-Reply-To"]
    assert ack["Subject"].startswith("Re: Broken heater [C-")
    db = sqlite3.connect(tmp_path / "inboxops.db")
    assert db.execute("SELECT mail_from FROM outbox WHERE kind = 'ack'").fetchone() == ("",)
    # The human reply is still drafted and waits for approval.
    assert "complaint" in cli(config, "drafts")


def test_an_echoing_autoresponder_gets_one_acknowledgement_even_across_restarts(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    config.write_text(config.read_text().replace(
        "[replies]\n", "[replies]\nauto_ack = ['complaint']\n"))
    bot = "echo-bot@client.example"
    for round_ in range(4):  # the bot echoes every message it gets, without any RFC 3834 label
        imap_user.dovecot.append(imap_user.address, client_mail(
            sender=bot, to=imap_user.address, headers={"Return-Path": f"<{bot}>"},
            subject=f"Re: Broken heater {round_}", body=COMPLAINT["body"]))
        cli(config, "run", "--once")  # each pass is a fresh process state: a restart
    assert smtp_sink.wait_for(1)
    acks_sent = [m for m in smtp_sink.messages if m["rcpt_tos"] == [bot]]
    assert len(acks_sent) == 1
    assert acks_sent[0]["mail_from"] in ("", "<>")  # MAIL FROM:<>
