"""Any folder layout (issue 11, item 3): folder names follow the server's NAMESPACE prefix and
hierarchy separator. The whole path (sort into folders, approve by moving the draft, Sent copy,
\\Answered) runs on Dovecot with "/" (the default), with "." and with the Courier-style
"INBOX." prefix; `check` names the folders it will use, and fails naming the folder the
server refuses to create, with the server's answer."""

from __future__ import annotations

import email
import secrets
from collections.abc import Iterator
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config
from helpers import cli, drafts, invoke
from mailfactory import client_mail
from mailservers import DovecotInstance, ImapUser, SmtpSinkFactory, unique_address

from inboxops.errors import MailboxError
from inboxops.outbound.folders import Layout

LAYOUTS = {"default": ("/", ""), "dots": (".", ""), "courier": (".", "INBOX.")}


def test_names_follow_prefix_and_separator() -> None:
    courier, dots, slash = Layout("INBOX.", "."), Layout("", "."), Layout("", "/")
    assert courier.name("InboxOps/Approved") == "INBOX.InboxOps.Approved"
    assert dots.name("InboxOps/Approved") == "InboxOps.Approved"
    assert slash.name("InboxOps/Approved") == "InboxOps/Approved"
    assert courier.name("INBOX") == dots.name("inbox") == "INBOX"
    # Names already written the server's way (configs fixed by hand) are kept.
    assert courier.name("INBOX.InboxOps.Approved") == "INBOX.InboxOps.Approved"
    assert courier.name("InboxOps.Approved") == "INBOX.InboxOps.Approved"
    assert Layout("", None).name("InboxOps/Approved") == "InboxOps/Approved"
    with pytest.raises(MailboxError, match=r"'v1\.0' contains '\.'"):
        dots.name("InboxOps/v1.0/Approved")


@pytest.fixture(scope="module", params=list(LAYOUTS))
def layout_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, DovecotInstance]]:
    separator, prefix = LAYOUTS[request.param]
    with DovecotInstance(separator=separator, prefix=prefix) as server:
        yield request.param, server


def _user(server: DovecotInstance) -> ImapUser:
    user = ImapUser(unique_address("office"), secrets.token_urlsafe(12), server)
    server.add_user(user.address, user.password)
    return user


def _flags_of(server: DovecotInstance, user: ImapUser, folder: str, subject: str) -> set[str]:
    for _uid, flags, raw in server.fetch_all(user.address, folder):
        if email.message_from_bytes(raw, policy=default)["Subject"] == subject:
            return flags
    raise AssertionError(f"{subject!r} not in {folder}")


def test_sort_approve_by_move_sent_and_answered(
    layout_server: tuple[str, DovecotInstance], smtp_sink_factory: SmtpSinkFactory,
    tmp_path: Path,
) -> None:
    kind, server = layout_server
    layout = Layout(server.prefix, server.separator)
    user, sink = _user(server), smtp_sink_factory(lmtp=server)
    config = imap_config(tmp_path, user, sink, mailbox={"sort": "folder"})
    inquiry, approved = layout.name("InboxOps/Inquiry"), layout.name("InboxOps/Approved")
    drafts_folder, sent = layout.name("Drafts"), layout.name("Sent")

    checked = cli(config, "check")
    assert f"separator {server.separator}" in checked, checked
    assert f"categories {inquiry}, " in checked and f"approved {approved}" in checked
    assert f"drafts {drafts_folder}" in checked and f"sent {sent}" in checked
    assert "append and move ok" in checked
    names = server.folders(user.address)
    assert inquiry in names and approved in names
    if kind != "default":
        assert not [n for n in names if "/" in n], names  # nothing created the wrong way
    with user.client() as client:  # the check's test message is gone again
        selectable = [n for flags, _sep, n in client.list_folders()
                      if b"\\Noselect" not in flags and b"\\NonExistent" not in flags]
    assert not [n for n in selectable for _u, _f, raw in server.fetch_all(user.address, n)
                if b"X-InboxOps-Check" in raw]

    server.append(user.address, client_mail(to=user.address, subject="Price of the service",
                                            body="Hello, how much does the service cost?"))
    cli(config, "run", "--once")
    (draft,) = drafts(config)
    assert draft["category"] == "inquiry"
    assert _flags_of(server, user, inquiry, "Price of the service") == set()  # sorted, unread
    assert server.fetch_all(user.address, "INBOX") == []

    # The assistant approves in their mail client: the draft moves to the approved folder.
    with user.client() as client:
        client.select_folder(drafts_folder)
        (uid,) = client.search(["HEADER", "X-InboxOps-Draft", ""])
        client.move([uid], approved)
    for _ in range(3):  # collect the approval, send, file in Sent and mark \Answered
        cli(config, "run", "--once")
        if sink.messages and server.fetch_all(user.address, sent):
            break
    assert len(sink.messages) == 1
    reply = email.message_from_bytes(sink.messages[0]["data"], policy=default)
    assert reply["Subject"] == "Re: Price of the service"
    assert [raw for _u, _f, raw in server.fetch_all(user.address, sent)] == [
        sink.messages[0]["data"]]
    assert "\\Answered" in _flags_of(server, user, inquiry, "Price of the service")
    assert drafts(config) == []
    assert server.fetch_all(user.address, approved) == []


def test_check_names_the_folder_the_server_refuses(
    tmp_path: Path, imap_user: ImapUser, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    config.write_text(config.read_text() + '[approval]\napproved_folder = "Approval/v1.0"\n')
    result = invoke(config, "check")
    assert result.exit_code == 1
    assert "folders: FAILED: cannot create folder 'Approval/v1.0': the server said:" in (
        result.output), result.output
    assert "Character not allowed in mailbox name" in result.output
