"""Approval in the assistant's own mail client, against a real Dovecot and aiosmtpd: drafts
appear in Drafts, an edited copy moved to InboxOps/Approved is what goes out, a deleted one is
rejected, and the CLI and the mail client never both act on one draft."""

from __future__ import annotations

import email
import json
import sqlite3
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


# -- issue 12: approval that never destroys the assistant's work ------------------------------


def events(tmp_path: Path, event: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(tmp_path / "inboxops.db")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(
            "SELECT entity, entity_id, detail FROM events WHERE event = ? ORDER BY id", (event,))]
    finally:
        db.close()


def draft_states(tmp_path: Path) -> dict[int, str]:
    db = sqlite3.connect(tmp_path / "inboxops.db")
    try:
        return dict(db.execute("SELECT id, state FROM drafts ORDER BY id").fetchall())
    finally:
        db.close()


def resave(
    raw: bytes, *, drop: tuple[str, ...] = (), headers: dict[str, str] | None = None,
    body: bytes | None = None, ctype: str = "text/plain; charset=utf-8",
) -> bytes:
    """A copy as a mail client re-saves it: some headers dropped or changed, and perhaps a new
    body (raw bytes, with its Content-Type), written the way that client writes it."""
    head, _, old_body = raw.partition(b"\r\n\r\n")
    lines: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] += b"\r\n" + line
        else:
            lines.append(line)
    replaced = {k.lower(): v for k, v in (headers or {}).items()}
    mime = ("content-type", "content-transfer-encoding") if body is not None else ()
    kept = [line for line in lines
            if line.split(b":", 1)[0].decode().strip().lower()
            not in {d.lower() for d in drop} | set(replaced) | set(mime)]
    kept += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
    if body is not None:
        kept += [f"Content-Type: {ctype}".encode(), b"Content-Transfer-Encoding: 8bit"]
    return b"\r\n".join(kept) + b"\r\n\r\n" + (body if body is not None else old_body)


def recall(imap_user: Any, uid: int) -> None:
    """neomutt's <recall-message>: the draft leaves Drafts while the assistant edits it."""
    with imap_user.client() as client:
        client.select_folder("Drafts")
        client.delete_messages([uid])
        client.expunge()


def put(imap_user: Any, folder: str, raw: bytes, flags: tuple[bytes, ...] = (b"\\Seen",)) -> None:
    with imap_user.client() as client:
        client.append(folder, raw, flags=list(flags))


def sent_messages(smtp_sink: Any) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m["data"], policy=default)  # type: ignore[misc]
            for m in smtp_sink.messages]


def plain(msg: email.message.EmailMessage) -> str:
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return str(text).replace("\r\n", "\n")


EDIT = b"Product 0 costs 25 euro. Thanks"


def test_recalled_draft_saved_to_approved_after_the_timeout_is_revived_and_sent_once(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    uid, _flags, raw = draft_copies(imap_user)["Re: Price question 0"]
    recall(imap_user, uid)
    cli(config, "run", "--once")  # reject_after_seconds = 0: the timeout has passed
    assert list(draft_states(tmp_path).values()) == ["rejected"]
    assert smtp_sink.messages == []
    # The edit is done: neomutt saves it, with our header, where the assistant sends it.
    put(imap_user, "InboxOps/Approved", raw.replace(b"Thank you for your message", EDIT))
    cli(config, "run", "--once")
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(1)
    assert len(smtp_sink.messages) == 1
    assert EDIT.decode() in plain(sent_messages(smtp_sink)[0])
    assert list(draft_states(tmp_path).values()) == ["sent"]
    assert draft_copies(imap_user, "InboxOps/Approved") == {}
    assert events(tmp_path, "copy_kept") == []


def test_copy_of_a_draft_already_sent_is_kept_and_reported_never_expunged(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    uid, _flags, raw = draft_copies(imap_user)["Re: Price question 0"]
    with imap_user.client() as client:
        client.select_folder("Drafts")
        client.move([uid], "InboxOps/Approved")
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(1)
    # A second, edited copy of the same draft approved after it went out: kept and reported.
    put(imap_user, "InboxOps/Approved", raw.replace(b"Thank you for your message", EDIT))
    cli(config, "run", "--once")
    cli(config, "run", "--once")

    assert len(smtp_sink.messages) == 1
    assert list(draft_copies(imap_user, "InboxOps/Approved")) == ["Re: Price question 0"]
    kept = events(tmp_path, "copy_kept")
    assert len(kept) == 1  # told once, not on every pass
    assert "already sent" in json.loads(kept[0]["detail"])["reason"]
    assert kept[0]["entity_id"] == 1


def test_cli_rejection_wins_over_an_unedited_copy_but_an_edited_one_is_kept(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 2)
    copies = draft_copies(imap_user)
    with imap_user.client() as client:
        client.select_folder("Drafts")
        client.move([copies["Re: Price question 0"][0]], "InboxOps/Approved")
    uid, _flags, raw = copies["Re: Price question 1"]
    recall(imap_user, uid)
    put(imap_user, "InboxOps/Approved", resave(raw, headers={"To": "Ion <ion@client.example>"}))
    for d in drafts(config):
        cli(config, "reject", str(d["id"]))
    cli(config, "run", "--once")

    assert smtp_sink.messages == []
    assert list(draft_copies(imap_user, "InboxOps/Approved")) == ["Re: Price question 1"]
    (kept,) = events(tmp_path, "copy_kept")
    assert "is already rejected (by cli)" in kept["detail"]


def test_copy_without_the_id_header_is_found_by_in_reply_to(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 2)
    uid, _flags, raw = draft_copies(imap_user)["Re: Price question 0"]
    # Roundcube re-saves the edit without our header and deletes the original: the draft
    # times out; then the assistant moves the edited copy to Approved.
    edited = resave(raw.replace(b"Thank you for your message", EDIT), drop=(HEADER,))
    assert b"In-Reply-To" in edited and HEADER.encode() not in edited
    put(imap_user, "Drafts", edited, (b"\\Draft", b"\\Seen"))
    recall(imap_user, uid)
    cli(config, "run", "--once")
    assert sorted(draft_states(tmp_path).values()) == ["pending", "rejected"]
    with imap_user.client() as client:
        client.select_folder("Drafts")
        mine = [u for u, d in client.fetch(client.search("ALL"), ["BODY.PEEK[]"]).items()
                if EDIT in d[b"BODY[]"]]
        client.move(mine, "InboxOps/Approved")
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(1)
    assert len(smtp_sink.messages) == 1
    sent = sent_messages(smtp_sink)[0]
    assert EDIT.decode() in plain(sent)
    assert str(sent["Subject"]) == "Re: Price question 0"
    assert imap_user.dovecot.fetch_all(imap_user.address, "InboxOps/Approved") == []
    assert [d["subject"] for d in drafts(config)] == ["Re: Price question 1"]


def test_copy_without_id_and_threading_headers_is_found_by_subject_and_recipient(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 2)
    _uid, _flags, raw = draft_copies(imap_user)["Re: Price question 1"]
    original = email.message_from_bytes(raw, policy=default)
    edited = resave(raw.replace(b"Thank you for your message", EDIT),
                    drop=(HEADER, "In-Reply-To", "References"))
    put(imap_user, "InboxOps/Approved", edited)
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(1)
    sent = sent_messages(smtp_sink)[0]
    assert str(sent["Subject"]) == "Re: Price question 1"
    assert EDIT.decode() in plain(sent)
    # The threading headers are ours, rebuilt from the client's message, not the copy's.
    assert sent["In-Reply-To"] == original["In-Reply-To"]
    assert sent["References"] == original["References"]
    assert imap_user.dovecot.fetch_all(imap_user.address, "InboxOps/Approved") == []


def test_ambiguous_copy_is_left_in_place_and_reported(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    uid, _flags, raw = draft_copies(imap_user)["Re: Price question 0"]
    recall(imap_user, uid)
    cli(config, "run", "--once")  # the first draft times out
    # The client writes again with the same subject (not a reply): a second draft.
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Price question 0", body="Any news on product 0?"))
    cli(config, "run", "--once")
    assert sorted(draft_states(tmp_path).values()) == ["pending", "rejected"]
    edited = resave(raw.replace(b"Thank you for your message", EDIT),
                    drop=(HEADER, "In-Reply-To", "References"))
    put(imap_user, "InboxOps/Approved", edited)
    cli(config, "run", "--once")
    cli(config, "run", "--once")

    assert smtp_sink.messages == []
    left = imap_user.dovecot.fetch_all(imap_user.address, "InboxOps/Approved")
    assert [r for _u, _f, r in left] == [edited]
    kept = events(tmp_path, "copy_kept")
    assert len(kept) == 1 and kept[0]["entity_id"] is None
    assert json.loads(kept[0]["detail"])["reason"].startswith("ambiguous: drafts 1, 2")
    assert sorted(draft_states(tmp_path).values()) == ["pending", "rejected"]


def test_client_mail_put_in_approved_is_no_draft_and_is_kept(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    draft = email.message_from_bytes(draft_copies(imap_user)["Re: Price question 0"][2],
                                     policy=default)
    # A client's follow-up in the same thread, moved there by mistake: not ours to send.
    put(imap_user, "InboxOps/Approved", client_mail(
        to=imap_user.address, subject="Re: Price question 0", body="And the delivery time?",
        headers={"In-Reply-To": str(draft["In-Reply-To"]),
                 "References": str(draft["References"])}))
    cli(config, "run", "--once")

    assert smtp_sink.messages == []
    assert len(imap_user.dovecot.fetch_all(imap_user.address, "InboxOps/Approved")) == 1
    (kept,) = events(tmp_path, "copy_kept")
    assert "not written as" in kept["detail"]
    assert [d["subject"] for d in drafts(config)] == ["Re: Price question 0"]


def test_subject_to_and_cc_edits_are_what_the_server_receives(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    uid, _flags, raw = draft_copies(imap_user)["Re: Price question 0"]
    original = email.message_from_bytes(raw, policy=default)
    edited = resave(raw, headers={
        "Subject": "=?utf-8?q?Re:_Pre=C8=9Bul_produsului_0?=",
        "To": "Ana Popescu <ana@client.example>, Ion Pop <ion@client.example>",
        "Cc": "=?utf-8?q?=C8=98tefan?= <stefan@client.example>",
        "References": "<forged@elsewhere.example>",
    })
    recall(imap_user, uid)
    put(imap_user, "InboxOps/Approved", edited)
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(1)
    sent = sent_messages(smtp_sink)[0]
    assert str(sent["Subject"]) == "Re: Prețul produsului 0"
    assert [a.addr_spec for a in sent["To"].addresses] == ["ana@client.example",
                                                            "ion@client.example"]
    assert [(a.display_name, a.addr_spec) for a in sent["Cc"].addresses] == [
        ("Ștefan", "stefan@client.example")]
    assert sorted(smtp_sink.messages[0]["rcpt_tos"]) == [
        "ana@client.example", "ion@client.example", "stefan@client.example"]
    assert sent["References"] == original["References"]  # threading stays ours
    assert sent["In-Reply-To"] == original["In-Reply-To"]
    assert all(b < 0x80 for b in smtp_sink.messages[0]["data"])
    assert draft_copies(imap_user, "InboxOps/Approved") == {}


def test_header_injection_in_an_edit_is_refused_and_the_copy_kept(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    uid, _flags, raw = draft_copies(imap_user)["Re: Price question 0"]
    edited = resave(raw, headers={"Subject": "=?utf-8?q?Re:_x=0ABcc:_spy@evil.example?="})
    recall(imap_user, uid)
    put(imap_user, "InboxOps/Approved", edited)
    cli(config, "run", "--once")

    assert smtp_sink.messages == []
    assert len(imap_user.dovecot.fetch_all(imap_user.address, "InboxOps/Approved")) == 1
    (kept,) = events(tmp_path, "copy_kept")
    assert "Subject contains a line-breaking or control character" in kept["detail"]


def test_format_flowed_copies_go_out_without_soft_break_spaces(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 2)
    copies = draft_copies(imap_user)
    bodies = {
        # Thunderbird: soft breaks after a space, DelSp=no.
        "Re: Price question 0": (b"Product 0 costs 25 euro and ships within three \r\n"
                                 b"working days of the order.\r\n", "format=flowed"),
        # DelSp=yes: the space before each soft break was added by the client.
        "Re: Price question 1": (b"Product 1 costs 30 euro and ships within three  \r\n"
                                 b"working days of the or \r\nder.\r\n",
                                 "format=flowed; delsp=yes"),
    }
    for subject, (body, params) in bodies.items():
        uid, _flags, raw = copies[subject]
        recall(imap_user, uid)
        put(imap_user, "InboxOps/Approved",
            resave(raw, body=body, ctype=f"text/plain; charset=utf-8; {params}"))
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(2)
    texts = sorted(plain(m) for m in sent_messages(smtp_sink))
    assert texts == [
        "Product 0 costs 25 euro and ships within three working days of the order.\n",
        "Product 1 costs 30 euro and ships within three working days of the order.\n",
    ]


def test_html_only_edit_goes_out_with_a_derived_text_part(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1)
    uid, _flags, raw = draft_copies(imap_user)["Re: Price question 0"]
    html = b"<html><body><p>Product 0 costs <b>25 euro</b>.</p><p>Thanks</p></body></html>"
    recall(imap_user, uid)
    put(imap_user, "InboxOps/Approved", resave(raw, body=html, ctype="text/html; charset=utf-8"))
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(1)
    sent = sent_messages(smtp_sink)[0]
    assert plain(sent) == "Product 0 costs 25 euro.\n\nThanks\n"
    assert "<b>25 euro</b>" in sent.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_flagged_resave_after_the_timeout_revives_the_draft_in_flag_mode(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = setup(tmp_path, imap_user, smtp_sink, 1, approval='approve_by = "flag"\n')
    uid, _flags, raw = draft_copies(imap_user)["Re: Price question 0"]
    recall(imap_user, uid)
    cli(config, "run", "--once")
    assert list(draft_states(tmp_path).values()) == ["rejected"]
    # Saved back to Drafts after the long edit: the draft comes back, and is not tidied away.
    put(imap_user, "Drafts", raw.replace(b"Thank you for your message", EDIT),
        (b"\\Draft", b"\\Seen"))
    cli(config, "run", "--once")
    assert list(draft_states(tmp_path).values()) == ["pending"]
    assert list(draft_copies(imap_user)) == ["Re: Price question 0"]
    with imap_user.client() as client:
        client.select_folder("Drafts")
        client.add_flags(client.search("ALL"), [b"\\Flagged"])
    cli(config, "run", "--once")

    assert smtp_sink.wait_for(1)
    assert EDIT.decode() in plain(sent_messages(smtp_sink)[0])
    assert draft_copies(imap_user) == {}
