"""Several mailboxes on one machine, shared-nothing (issue 11, item 4): the template unit
inboxops@.service passes systemd's checks for two instance names, and two daemons with two
configs run side by side against two Dovecot users without touching each other's state or mail.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config
from helpers import cli, drafts, running_daemon, stop, wait_until
from mailfactory import client_mail
from mailservers import ImapUser, unique_address

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
TEMPLATE = DEPLOY / "inboxops@.service"
# What may differ between the single unit and the template: the rest (the hardening above all)
# must be the same, so the two cannot drift apart.
PER_INSTANCE = ("Description=", "ExecStart=", "StateDirectory=", "WorkingDirectory=",
                "LoadCredentialEncrypted=", "User=", "Environment=INBOXOPS_INSTANCE=")


def check_unit(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd", pytrace=False)
    return subprocess.run([str(DEPLOY / "check-unit"), *args], capture_output=True, text=True,
                          timeout=180, check=False)


def test_template_unit_verifies_for_two_instances() -> None:
    result = check_unit(str(TEMPLATE), "office", "support")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("office", "support"):
        assert f"verify inboxops@{name}.service: ok" in result.stdout
        level = re.search(rf"security inboxops@{name}.service: ([0-9.]+) (\w+)", result.stdout)
        assert level and level.group(2) in {"PERFECT", "SAFE", "OK"}, result.stdout


def test_a_broken_template_fails_the_check(tmp_path: Path) -> None:
    broken = TEMPLATE.read_text().replace("StateDirectory=", "StateDirektory=")
    (tmp_path / "inboxops@.service").write_text(broken)
    result = check_unit(str(tmp_path / "inboxops@.service"))
    assert result.returncode != 0 and "StateDirektory" in result.stderr


def test_each_instance_has_its_own_config_state_and_user() -> None:
    unit = TEMPLATE.read_text()
    for line in ("ExecStart=/usr/local/bin/inboxops --config /etc/inboxops/%i.toml run",
                 "StateDirectory=inboxops/%i", "WorkingDirectory=/var/lib/inboxops/%i",
                 "User=inboxops-%i", "Environment=INBOXOPS_INSTANCE=%i"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), line
    single = (DEPLOY / "inboxops.service").read_text()

    def shared(text: str) -> list[str]:
        return [line for line in text.splitlines()
                if line and not line.startswith("#") and not line.startswith(PER_INSTANCE)]

    assert shared(unit) == shared(single)


def _second_user(imap_user: ImapUser) -> ImapUser:
    user = ImapUser(unique_address("support"), secrets.token_urlsafe(12), imap_user.dovecot)
    imap_user.dovecot.add_user(user.address, user.password)
    return user


def _instance(base: Path, name: str, user: ImapUser, sink: Any) -> Path:
    base.mkdir()
    path = imap_config(base, user, sink, mailbox={"sort": "folder", "poll_seconds": 1})
    return path.rename(base / f"{name}.toml")


def _all_mail(user: ImapUser) -> list[tuple[str, bytes]]:
    """(folder, raw) for every message in every selectable folder of the account."""
    with user.client() as client:
        names = [name for flags, _sep, name in client.list_folders()
                 if b"\\Noselect" not in flags and b"\\NonExistent" not in flags]
    return [(name, raw) for name in names
            for _uid, _flags, raw in user.dovecot.fetch_all(user.address, name)]


def _stored(config: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(config.parent / "inboxops.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_two_daemons_side_by_side_share_nothing(
    tmp_path: Path, imap_user: ImapUser, smtp_sink: Any
) -> None:
    support_user = _second_user(imap_user)
    dovecot = imap_user.dovecot
    office = _instance(tmp_path / "office", "office", imap_user, smtp_sink)
    support = _instance(tmp_path / "support", "support", support_user, smtp_sink)
    env = {k: v for k, v in os.environ.items() if k != "INBOXOPS_INSTANCE"}
    with (
        running_daemon(office, tmp_path / "office.log",
                       env={**env, "INBOXOPS_INSTANCE": "office"}) as office_proc,
        running_daemon(support, tmp_path / "support.log",
                       env={**env, "INBOXOPS_INSTANCE": "support"}) as support_proc,
    ):
        for log in ("office.log", "support.log"):
            wait_until(lambda log=log: "inboxops ready" in (tmp_path / log).read_text())
        for i in range(2):
            dovecot.append(imap_user.address, client_mail(
                to=imap_user.address, subject=f"Office price question {i}",
                sender=f"Client {i} <client{i}@client.example>",
                body=f"Hello, how much does product {i} cost?"))
        dovecot.append(support_user.address, client_mail(
            to=support_user.address, subject="Support price question",
            sender="Dana <dana@client.example>", body="Hello, how much does the service cost?"))
        wait_until(lambda: len(drafts(office)) == 2 and len(drafts(support)) == 1)

        assert {d["subject"] for d in drafts(office)} == {
            "Re: Office price question 0", "Re: Office price question 1"}
        assert [d["subject"] for d in drafts(support)] == ["Re: Support price question"]
        # Each store holds only its own mailbox's messages, read from its own account.
        assert sorted(s for (s,) in _stored(office, "SELECT subject FROM messages")) == [
            "Office price question 0", "Office price question 1"]
        assert _stored(support, "SELECT subject FROM messages") == [("Support price question",)]

        cli(office, "approve", str(drafts(office)[0]["id"]))
        assert smtp_sink.wait_for(1)
        assert len(drafts(support)) == 1  # the other instance's queue is untouched

        statuses = {name: json.loads(cli(path, "status", "--json"))
                    for name, path in (("office", office), ("support", support))}
        assert statuses["office"]["instance"]["name"] == "office"  # from the file name
        assert statuses["support"]["instance"]["name"] == "support"
        assert statuses["office"]["daemon"]["pid"] == office_proc.pid
        assert statuses["support"]["daemon"]["pid"] == support_proc.pid
        assert "instance:       support (" in cli(support, "status")
        assert stop(office_proc) == 0 and stop(support_proc) == 0

    sent = smtp_sink.messages
    assert len(sent) == 1 and sent[0]["mail_from"] == imap_user.address
    # Mail stays in its own account: each user's folders hold only its own messages and drafts.
    for user, own, other in ((imap_user, "Office", "Support"),
                             (support_user, "Support", "Office")):
        mail = _all_mail(user)
        assert not [f for f, raw in mail if f"{other} price question".encode() in raw]
        assert {f for f, raw in mail if f"{own} price question".encode() in raw} >= {
            "Drafts", "InboxOps/Inquiry"}
