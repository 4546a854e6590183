"""Replies over the wire (real Dovecot, real aiosmtpd): a thread of three messages gets one
reply, to the latest; a Romanian client gets Romanian, with every diacritic intact in the
subject, the name and the body, as valid MIME in the raw bytes."""

from __future__ import annotations

import email
from email.header import decode_header, make_header
from email.policy import default
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import cli, drafts
from mailfactory import client_mail


def test_three_messages_in_one_thread_get_one_romanian_reply_to_the_latest(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    client = "Ștefan Țăranu <stefan@client.example>"
    dovecot = imap_user.dovecot
    dovecot.append(imap_user.address, client_mail(
        sender=client, to=imap_user.address, subject="Întrebare despre comanda 5521",
        body="Bună ziua,\n\nCând ajunge comanda 5521? Vă rog să îmi spuneți.\n\nMulțumesc,\nȘtefan",
        message_id="<t1@client.example>"))
    cli(config, "run", "--once")
    dovecot.append(imap_user.address, client_mail(
        sender=client, to=imap_user.address, subject="Re: Întrebare despre comanda 5521",
        body="Bună ziua,\n\nAveți vreo veste despre comanda 5521?\n\nȘtefan",
        message_id="<t2@client.example>", headers={"In-Reply-To": "<t1@client.example>",
                                                    "References": "<t1@client.example>"}))
    dovecot.append(imap_user.address, client_mail(
        sender=client, to=imap_user.address, subject="Altă întrebare",
        body="Bună ziua,\n\nPuteți să îmi spuneți unde se află comanda 5521?\n\nȘtefan",
        message_id="<t3@client.example>", headers={
            "In-Reply-To": "<t2@client.example>",
            "References": "<t1@client.example> <t2@client.example>"}))
    cli(config, "run", "--once")

    (draft,) = drafts(config)  # one open draft for the thread, against the latest message
    assert draft["message_id"] == "<t3@client.example>" and draft["language"] == "ro"
    cli(config, "approve", str(draft["id"]))
    assert smtp_sink.wait_for(1)
    assert len(smtp_sink.messages) == 1

    raw = smtp_sink.messages[0]["data"]
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert all(b < 128 for b in head)  # headers travel as 7-bit encoded words
    reply = email.message_from_bytes(raw, policy=default)
    assert not reply.defects and all(not p.defects for p in reply.walk())
    assert str(make_header(decode_header(reply["Subject"]))) == "Re: Altă întrebare"
    assert reply["In-Reply-To"] == "<t3@client.example>"
    assert reply["References"].split()[-1] == "<t3@client.example>"
    assert reply["To"].addresses[0].display_name == "Ștefan Țăranu"
    body = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Bună ziua, Ștefan Țăranu" in body
    assert "ş" not in body and "ţ" not in body  # comma-below forms, never the cedilla ones
    assert "5521" in body  # the reference number found in the message
