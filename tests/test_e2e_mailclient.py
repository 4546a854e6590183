"""Approval in the assistant's own mail client, against a real Dovecot and aiosmtpd: drafts
appear in Drafts, an edited copy moved to InboxOps/Approved is what goes out, a deleted one is
rejected, and the CLI and the mail client never both act on one draft."""

from __future__ import annotations

import email
import json
from email.policy import default
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import cli, drafts
from mailfactory import client_mail

HEADER = "X-InboxOps-Draft"


def setup(tmp_path: Path, imap_user: Any, smtp_sink: Any, n: int, approval: str = "") -> Path:
    config = imap_config(tmp_path, imap_user, smtp_sink,
                         mailbox={"sort": "keyword"})
    text = config.read_text() + "[approval]\nreject_after_seconds = 0\n" + approval
    config.write_text(text)
    for i in range(n):
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=f"Price question {i}",
            body=f"Hello, how much does product {i} cost?"))
    cli(config, "run", "--once")
    return config


def draft_copies(imap_user: Any, folder: str = "Drafts") -> dict[str, tuple[int, set[str], bytes]]:
    out = {}
    for uid, flags, raw in imap_user.dovecot.fetch_all(imap_user.address, folder):
        msg = email.message_from_bytes(raw, policy=default)
        if msg[HEADER]:
            out[str(msg["Subject"])] = (uid, flags, raw)
    return out


def test_edited_draft_moved_to_approved_is_what_is_sent(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    copies = draft_copies(imap_user)
    uid, flags, raw = copies["Re: Price question 0"]
    assert "\\Draft" in flags
    # The assistant edits it: the mail client saves a new message and deletes the old one.
    edited = raw.replace(b"Thank you for your message", b"Product 0 costs 25 euro. Thanks")
    assert edited != raw
    with imap_user.client() as client:
        client.append("Drafts", edited, flags=[b"\\Draft", b"\\Seen"])
        client.select_folder("Drafts")
        client.delete_messages([uid])
        client.expunge()
        new_uid = max(client.search("ALL"))
        client.move([new_uid], "InboxOps/Approved")
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(1)
    sent = email.message_from_bytes(smtp_sink.messages[0]["data"], policy=default)
    body = sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Product 0 costs 25 euro. Thanks" in body
    assert sent[HEADER] is None  # our bookkeeping header never reaches the client
    assert drafts(config) == []
    assert draft_copies(imap_user, "InboxOps/Approved") == {}
    assert draft_copies(imap_user) == {}


def test_deleted_draft_is_rejected_and_nothing_is_sent(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    uid = draft_copies(imap_user)["Re: Price question 0"][0]
    with imap_user.client() as client:
        client.select_folder("Drafts")
        client.delete_messages([uid])
        client.expunge()
    cli(config, "run", "--once")
    cli(config, "run", "--once")
    assert drafts(config) == []
    assert smtp_sink.messages == []
    db_states = json.loads(cli(config, "outbox", "--json"))
    assert db_states == []


def test_cli_and_mail_client_at_once_send_once(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 2)
    copies = draft_copies(imap_user)
    first, second = sorted(drafts(config), key=lambda d: d["subject"])
    # Both channels approve the first draft: moved in the mail client and approved in the CLI.
    with imap_user.client() as client:
        client.select_folder("Drafts")
        client.move([copies["Re: Price question 0"][0]], "InboxOps/Approved")
    cli(config, "approve", str(first["id"]))
    # The second is approved in the CLI only; its copy must leave Drafts.
    cli(config, "approve", str(second["id"]))
    cli(config, "run", "--once")
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(2)
    assert sorted(str(email.message_from_bytes(m["data"], policy=default)["Subject"])
                  for m in smtp_sink.messages) == ["Re: Price question 0", "Re: Price question 1"]
    assert draft_copies(imap_user) == {}
    assert draft_copies(imap_user, "InboxOps/Approved") == {}


def test_flagging_a_draft_approves_it_when_config_says_flag(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 2, approval='approve_by = "flag"\n')
    copies = draft_copies(imap_user)
    uid, _flags, raw = copies["Re: Price question 0"]
    edited = raw.replace(b"Thank you for your message", b"Product 0 costs 25 euro. Thanks")
    with imap_user.client() as client:
        # Edited and re-saved (new UID), then starred where it is; the other draft is left alone.
        client.append("Drafts", edited, flags=[b"\\Draft", b"\\Seen", b"\\Flagged"])
        client.select_folder("Drafts")
        client.delete_messages([uid])
        client.expunge()
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(1)
    assert len(smtp_sink.messages) == 1
    sent = email.message_from_bytes(smtp_sink.messages[0]["data"], policy=default)
    assert "Product 0 costs 25 euro. Thanks" in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert [d["subject"] for d in drafts(config)] == ["Re: Price question 1"]
    assert set(draft_copies(imap_user)) == {"Re: Price question 1"}  # the approved one left
    folders = imap_user.dovecot.folders(imap_user.address)
    assert "InboxOps/Approved" not in folders  # flag mode creates no approval folder
