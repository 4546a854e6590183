"""Automatic acknowledgements: the one kind of mail sent without approval, so every LOOP-2
signal must stop it, it goes only to the envelope sender, is labelled per RFC 3834, an
echoing auto-responder gets at most one, even across restarts, and only an address our own
mail server vouched for gets one (LOOP-6). Real Dovecot and aiosmtpd."""

from __future__ import annotations

import email
import sqlite3
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from configs import MANAGER, STAFF, imap_config
from helpers import cli
from mailfactory import client_mail

COMPLAINT = dict(subject="Broken heater", body="The heater is broken again. This is "
                 "unacceptable and I want a refund.")


OUR_MTA = "mx.office.example"


def ack_config(tmp_path: Path, imap_user: Any, smtp_sink: Any, authserv: bool = True) -> Path:
    """auto_ack for complaints; with `authserv`, our MTA's Authentication-Results count."""
    config = imap_config(tmp_path, imap_user, smtp_sink)
    text = config.read_text().replace("[replies]\n", "[replies]\nauto_ack = ['complaint']\n")
    if authserv:
        text = text.replace("[mailbox]\n", f'[mailbox]\nauthserv_id = ["{OUR_MTA}"]\n')
    config.write_text(text)
    return config


def vouched(raw: bytes, envelope: str | None = None, mta: str = OUR_MTA) -> bytes:
    """The message as our MTA delivers it: DMARC passed for the From domain, and SPF for
    the envelope sender's domain when `envelope` is given."""
    spf = f"; spf=pass smtp.mailfrom={envelope}" if envelope else ""
    return f"Authentication-Results: {mta}; dmarc=pass header.from=client.example{spf}\r\n" \
        .encode() + raw


def acks(smtp_sink: Any) -> list[Any]:
    """Acknowledgements the SMTP server received (they carry Auto-Submitted: auto-replied)."""
    out = []
    for m in smtp_sink.messages:
        msg = email.message_from_bytes(m["data"], policy=default)
        if msg["Auto-Submitted"] == "auto-replied":
            out.append((m, msg))
    return out


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
    tmp_path: Path, headers: dict[str, str], imap_user: Any, smtp_sink: Any
) -> None:
    config = ack_config(tmp_path, imap_user, smtp_sink)
    extra = {"Return-Path": "<ana@client.example>", **headers}
    sender = extra.pop("From", "Ana Popescu <ana@client.example>")
    if "NO-RETURN-PATH" in extra:
        del extra["NO-RETURN-PATH"], extra["Return-Path"]
    if sender.endswith("<office@example.test>"):
        sender = f"Office <{imap_user.address}>"  # ourselves
    imap_user.dovecot.append(imap_user.address, vouched(client_mail(
        sender=sender, to=imap_user.address, headers=extra, **COMPLAINT), "client.example"))
    cli(config, "run", "--once")
    db = sqlite3.connect(tmp_path / "inboxops.db")
    assert db.execute("SELECT count(*) FROM messages").fetchone() == (1,)  # it was read
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'ack'").fetchone() == (0,)
    assert acks(smtp_sink) == []


def test_a_plain_complaint_is_acknowledged_by_the_rules(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = ack_config(tmp_path, imap_user, smtp_sink)
    imap_user.dovecot.append(imap_user.address, vouched(client_mail(
        sender="Ana Popescu <ana@client.example>", to=imap_user.address,
        headers={"Return-Path": "<bounces-ana@client.example>", "Auto-Submitted": "no",
                 "Reply-To": "someone-else@client.example"}, **COMPLAINT),
        envelope="bounces-ana@client.example"))
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(1)
    ((envelope, ack),) = acks(smtp_sink)
    assert envelope["rcpt_tos"] == ["bounces-ana@client.example"]  # the envelope sender only
    assert envelope["mail_from"] in ("", "<>")  # MAIL FROM:<>
    assert ack["To"].addresses[0].addr_spec == "bounces-ana@client.example"
    assert ack["Auto-Submitted"] == "auto-replied" and ack["Precedence"] == "bulk"
    assert ack["X-Auto-Response-Suppress"] == "All" and ack["In-Reply-To"]
    assert ack["Subject"].startswith("Re: Broken heater [C-")
    # The human reply is still drafted and waits for approval.
    assert "complaint" in cli(config, "drafts")


def test_an_echoing_autoresponder_gets_one_acknowledgement_even_across_restarts(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = ack_config(tmp_path, imap_user, smtp_sink)
    bot = "echo-bot@client.example"
    for round_ in range(4):  # the bot echoes every message it gets, without any RFC 3834 label
        imap_user.dovecot.append(imap_user.address, vouched(client_mail(
            sender=bot, to=imap_user.address, headers={"Return-Path": f"<{bot}>"},
            subject=f"Re: Broken heater {round_}", body=COMPLAINT["body"])))
        cli(config, "run", "--once")  # each pass is a fresh process state: a restart
    assert smtp_sink.wait_for(1)
    acks_sent = [m for m in smtp_sink.messages if m["rcpt_tos"] == [bot]]
    assert len(acks_sent) == 1
    assert acks_sent[0]["mail_from"] in ("", "<>")  # MAIL FROM:<>


def test_with_our_authserv_id_set_only_authenticated_senders_get_acknowledged(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    """LOOP-6: a forged From (our MTA says dmarc=fail), or a sender's own claim of a pass, gets
    no automatic mail; the same complaint vouched for by our MTA does."""
    config = ack_config(tmp_path, imap_user, smtp_sink)
    cases = {
        "forged": "mx.office.example; dmarc=fail header.from=client.example",
        "self-claimed": "mx.client.example; dmarc=pass header.from=client.example",
        "vouched": "mx.office.example; dmarc=pass header.from=client.example",
    }
    for name, result in cases.items():
        imap_user.dovecot.append(imap_user.address, (
            f"Authentication-Results: {result}\r\n".encode() + client_mail(
                sender=f"{name} <{name}@client.example>", to=imap_user.address,
                headers={"Return-Path": f"<{name}@client.example>"}, **COMPLAINT)))
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(1)
    assert [envelope["rcpt_tos"] for envelope, _ in acks(smtp_sink)] == [
        ["vouched@client.example"]]
    assert "complaint" in cli(config, "drafts")  # all three still get a draft for a human


def test_backscatter_no_acknowledgement_to_ourselves_or_to_an_unvouched_return_path(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    """LOOP-6: a sender our MTA vouched for cannot aim the acknowledgement at our own
    addresses, nor at a third party through a Return-Path our MTA saw no SPF pass for."""
    config = ack_config(tmp_path, imap_user, smtp_sink)
    cases = {  # From's local part -> (Return-Path, the envelope our MTA vouched for)
        "mailbox": (imap_user.address, None),
        "staff": (STAFF.upper(), None),
        "manager": (MANAGER, MANAGER),
        "victim": ("victim@elsewhere.example", None),
        "half-vouched": ("victim2@elsewhere.example", "half-vouched@client.example"),
        "ion": ("ion-bounces@client.example", "ion-bounces@client.example"),  # vouched: gets one
        "plain": ("plain@client.example", None),  # Return-Path = From: gets one
    }
    for name, (return_path, envelope) in cases.items():
        imap_user.dovecot.append(imap_user.address, vouched(client_mail(
            sender=f"{name} <{name}@client.example>", to=imap_user.address,
            headers={"Return-Path": f"<{return_path}>"}, **COMPLAINT), envelope))
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(2)
    cli(config, "run", "--once")
    assert sorted(envelope["rcpt_tos"][0] for envelope, _ in acks(smtp_sink)) == [
        "ion-bounces@client.example", "plain@client.example"]
    db = sqlite3.connect(tmp_path / "inboxops.db")
    why = " ".join(r[0] for r in db.execute(
        "SELECT detail FROM events WHERE event = 'not acknowledged'"))
    assert "one of our own addresses" in why and "did not see SPF pass" in why


def test_without_an_authserv_id_nobody_can_make_the_office_write_to_a_victim(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    """The default authserv_id = []: nothing can be authenticated, so no acknowledgement goes
    out at all, whatever the message claims (LOOP-6); `check` says why and how to fix it."""
    config = ack_config(tmp_path, imap_user, smtp_sink, authserv=False)
    imap_user.dovecot.append(imap_user.address, vouched(client_mail(
        sender="Ana Popescu <victim@client.example>", to=imap_user.address,
        headers={"Return-Path": "<victim@client.example>"}, **COMPLAINT)))
    cli(config, "run", "--once")
    db = sqlite3.connect(tmp_path / "inboxops.db")
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'ack'").fetchone() == (0,)
    (why,) = db.execute("SELECT detail FROM events WHERE event = 'not acknowledged'").fetchone()
    assert "authserv_id" in why
    assert "complaint" in cli(config, "drafts")  # the human reply is still drafted
    assert acks(smtp_sink) == []
