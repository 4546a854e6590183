"""The embedded default end to end: Maildir in, outbox directory out, no servers; the daemon
run as a user would (a subprocess, stopped with SIGTERM), and hostile mail that must not stop it.
"""

from __future__ import annotations

import email
import json
import signal
import time
from datetime import datetime, timedelta
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from configs import maildir_config
from helpers import Crash, cli, crash, drafts, drop, running_daemon, stop, wait_until
from mailfactory import client_mail

from inboxops.cli import main

BROKEN_MIME = (
    b"From: Broken Sender <broken@client.example>\r\n"
    b"Subject: =?x-unknown?q?Reclama=FEie?=\r\n"
    b"Content-Type: multipart/mixed\r\n"  # no boundary
    b"Message-ID: <broken@client.example>\r\n\r\n"
    b"--nothing\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nprodusul este defect\r\n"
)
UNKNOWN_CHARSET = (
    b"From: Ion <ion@client.example>\r\nSubject: Intrebare pret\r\n"
    b"Message-ID: <charset@client.example>\r\n"
    b"Content-Type: text/plain; charset=x-made-up\r\n\r\n"
    b"Buna ziua, cat costa serviciul de intretinere? Multumesc\r\n"
)

# An encoded word whose bytes are not UTF-8, plus raw 8-bit bytes in a header and the body.
BAD_NAME = (
    b"From: =?utf-8?q?=C8?= <vasile@client.example>\r\nSubject: Pret pentru 3 bucati\r\n"
    b"X-Note: \xc8\xff\r\nMessage-ID: <badname@client.example>\r\n\r\n"
    b"Buna ziua, cat costa? \xc8\xff\r\n"
)


def test_maildir_flow_drafts_approves_and_writes_the_outbox(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    original = client_mail(
        sender="Maria Ionescu <maria@client.example>", subject="Reclamație comanda 5512",
        body="Bună ziua,\n\nProdusul din comanda 5512 a ajuns stricat și nu funcționează. "
             "Sunt foarte nemulțumită.\n\nMaria",
    )
    path = drop(tmp_path / "mail", "1700000000.M1P1.test", original)

    cli(config, "run", "--once")

    (draft,) = json.loads(cli(config, "drafts", "--json"))
    assert draft["category"] == "complaint" and draft["language"] == "ro"
    assert draft["subject"] == "Re: Reclamație comanda 5512"
    assert "Bună ziua, Maria Ionescu" in draft["body"] and "5512" in draft["body"]
    assert not path.exists()  # sorted into the category folder, bytes untouched
    moved = tmp_path / "mail" / ".InboxOps.Complaint" / "new" / path.name
    assert moved.read_bytes() == original

    shown = cli(config, "show", str(draft["id"]))
    assert "complaint" in shown and "maria@client.example" in shown

    cli(config, "approve", str(draft["id"]))

    (eml,) = (tmp_path / "outbox").glob("*.eml")
    reply = email.message_from_bytes(eml.read_bytes(), policy=default)
    assert reply["In-Reply-To"] == email.message_from_bytes(original, policy=default)[
        "Message-ID"]
    assert reply["To"].addresses[0].addr_spec == "maria@client.example"
    assert json.loads(cli(config, "drafts", "--json")) == []


def test_reject_sends_nothing(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000001.M1P1.test", client_mail())
    cli(config, "run", "--once")
    (draft,) = json.loads(cli(config, "drafts", "--json"))
    cli(config, "reject", str(draft["id"]))
    cli(config, "run", "--once")
    assert list((tmp_path / "outbox").glob("*.eml")) == []
    result = CliRunner().invoke(main, ["--config", str(config), "approve", str(draft["id"])])
    assert result.exit_code == 1 and "rejected, not pending" in result.output


def test_malformed_mail_is_recorded_with_defects_and_the_loop_goes_on(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000002.M1P1.test", BROKEN_MIME)
    drop(tmp_path / "mail", "1700000003.M1P1.test", UNKNOWN_CHARSET)
    drop(tmp_path / "mail", "1700000004.M1P1.test", b"")
    drop(tmp_path / "mail", "1700000005.M1P1.test", client_mail())
    drop(tmp_path / "mail", "1700000006.M1P1.test", BAD_NAME)

    cli(config, "run", "--once")

    import sqlite3

    db = sqlite3.connect(tmp_path / "inboxops.db")
    rows = {r[0]: r[1:] for r in db.execute(
        "SELECT source_key, state, defects, category, error FROM messages")}
    assert len(rows) == 5  # nothing dropped
    assert rows["1700000006.M1P1.test"][0] == "processed"
    broken = rows["1700000002.M1P1.test"]
    assert broken[0] == "processed" and json.loads(broken[1])
    charset = rows["1700000003.M1P1.test"]
    assert charset[0] == "processed" and "x-made-up" in charset[1]
    assert rows["1700000004.M1P1.test"][0] == "quarantined"
    subjects = {d["subject"] for d in json.loads(cli(config, "drafts", "--json"))}
    assert "Re: Question about prices" in subjects
    assert "Re: Intrebare pret" in subjects
    assert "Re: Pret pentru 3 bucati" in subjects


def test_daemon_processes_dropped_mail_and_stops_cleanly(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    with running_daemon(config, tmp_path / "daemon.log") as proc:
        wait_until(lambda: "inboxops ready" in (tmp_path / "daemon.log").read_text())
        drop(tmp_path / "mail", "1700000010.M1P1.test", client_mail(subject="Price list"))
        found = wait_until(lambda: drafts(config))
        assert found[0]["subject"] == "Re: Price list"
        assert stop(proc) == 0
    assert "stopping" in (tmp_path / "daemon.log").read_text()


def test_killed_daemon_resumes_without_doubles(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    for i in range(5):
        drop(tmp_path / "mail", f"17000001{i:02d}.M1P1.test",
             client_mail(subject=f"Order question {i}", body=f"Is item {i} in stock?"))
    with running_daemon(config) as proc:
        wait_until(lambda: drafts(config))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    for i in range(5, 8):
        drop(tmp_path / "mail", f"17000001{i:02d}.M1P1.test",
             client_mail(subject=f"Order question {i}", body=f"Is item {i} in stock?"))
    cli(config, "run", "--once")
    pending = drafts(config)
    assert sorted(d["subject"] for d in pending) == [f"Re: Order question {i}" for i in range(8)]
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.eml"))


def test_outbox_directory_send_is_settled_exactly_once_after_crashes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import sqlite3

    from inboxops.outbound.outbox import Outbox, OutboxDirTransport

    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000020.M1P1.test", client_mail(subject="One"))
    drop(tmp_path / "mail", "1700000021.M1P1.test", client_mail(subject="Two"))
    cli(config, "run", "--once")
    one, two = json.loads(cli(config, "drafts", "--json"))
    db = sqlite3.connect(tmp_path / "inboxops.db")

    cli(config, "approve", "--no-send", str(one["id"]))
    monkeypatch.setattr(Outbox, "_mark_sent", crash)  # file written, state not saved
    with pytest.raises(Crash):
        cli(config, "run", "--once")
    cli(config, "approve", "--no-send", str(two["id"]))
    monkeypatch.setattr(OutboxDirTransport, "send", crash)  # killed before writing
    with pytest.raises(Crash):
        cli(config, "run", "--once")
    monkeypatch.undo()
    with db:
        db.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00+00:00' "
                   "WHERE state = 'sending'")
    cli(config, "run", "--once")
    cli(config, "run", "--once")

    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2  # each reply exactly once: one confirmed, one written on recovery
    states = [r[0] for r in db.execute("SELECT state FROM outbox ORDER BY id")]
    assert states == ["sent", "sent"]


def test_digest_is_sent_once_a_day_by_the_daemon_even_across_restarts(tmp_path: Path) -> None:
    from configs import base_sections, write_config

    sections = base_sections(tmp_path)
    # A digest time that has just passed (in the office's timezone): due at start-up.
    at = (datetime.now(ZoneInfo("Europe/Bucharest")) - timedelta(minutes=5)).strftime("%H:%M")
    sections["digest"] = {"to": ["manager@example.test"], "time": at, "enabled": True}
    sections["mailbox"] = {"kind": "maildir", "path": str(tmp_path / "mail"), "sort": "off"}
    sections["smtp"] = {"kind": "outbox-dir", "path": str(tmp_path / "outbox"),
                        "from": "Office <office@example.test>"}
    config = write_config(tmp_path / "config.toml", sections)

    def digests() -> list[Path]:
        return [p for p in (tmp_path / "outbox").glob("*-digest-*.eml")]

    for i in range(2):  # start, let it settle, stop; then again: a restart the same day
        # New mail each time: its draft shows the daemon is up and has done a pass (on a
        # loaded machine, start-up alone can take longer than a fixed sleep).
        drop(tmp_path / "mail", f"170000003{i}.M1P1.test", client_mail(subject=f"Question {i}"))
        log = tmp_path / f"daemon-{i}.log"
        with running_daemon(config, log) as proc:
            wait_until(lambda log=log: "inboxops ready" in log.read_text())  # handler installed
            wait_until(digests)
            wait_until(lambda n=i + 1: len(drafts(config)) == n)
            time.sleep(1.5)
            assert stop(proc) == 0
    (digest,) = digests()
    mime = email.message_from_bytes(digest.read_bytes(), policy=default)
    assert mime["Auto-Submitted"] == "auto-generated"
    assert mime["To"].addresses[0].addr_spec == "manager@example.test"


def test_a_meeting_whose_slot_has_passed_cannot_be_approved(tmp_path: Path) -> None:
    import sqlite3

    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000040.M1P1.test", client_mail(
        subject="Meeting request", body="Could we schedule a meeting next Tuesday at 3pm?"))
    cli(config, "run", "--once")
    (draft,) = json.loads(cli(config, "drafts", "--json"))
    assert draft["category"] == "meeting"
    db = sqlite3.connect(tmp_path / "inboxops.db")
    with db:
        db.execute("UPDATE meetings SET start = '2020-01-07T15:00:00+02:00'")
    result = CliRunner().invoke(main, ["--config", str(config), "approve", str(draft["id"])])
    assert result.exit_code == 1 and "has passed" in result.output
    assert list((tmp_path / "outbox").glob("*.eml")) == []


def test_one_open_draft_per_thread(tmp_path: Path) -> None:
    """A client who writes three times in an hour gets one reply, to the latest message."""
    config = maildir_config(tmp_path)
    first = client_mail(subject="Delivery question", body="When will order 7781 arrive?",
                        message_id="<t1@client.example>")
    drop(tmp_path / "mail", "1700000050.M1P1.test", first)
    cli(config, "run", "--once")
    drop(tmp_path / "mail", "1700000051.M1P1.test", client_mail(
        subject="Re: Delivery question", body="Any news about order 7781?",
        message_id="<t2@client.example>"))
    drop(tmp_path / "mail", "1700000052.M1P1.test", client_mail(
        subject="Different words, same thread", body="Could you tell me where order 7781 is?",
        message_id="<t3@client.example>", headers={"In-Reply-To": "<t2@client.example>",
                                                    "References": "<t1@client.example> "
                                                                  "<t2@client.example>"}))
    drop(tmp_path / "mail", "1700000053.M1P1.test", client_mail(
        sender="Someone Else <else@client.example>", subject="Delivery question",
        body="When will my order arrive?", message_id="<o1@client.example>"))
    cli(config, "run", "--once")
    pending = drafts(config)
    assert sorted(d["message_id"] for d in pending) == ["<o1@client.example>",
                                                         "<t3@client.example>"]
    ours = next(d for d in pending if d["message_id"] == "<t3@client.example>")
    assert "Could you tell me where order 7781 is" in ours["body"]


def test_a_byte_identical_duplicate_is_remembered_and_told_once_not_reread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bytes under a second file name: not taken twice (IMAP-1), and no longer
    read again at every scan; one 'duplicate' event names it (issue 12, item 14)."""
    from inboxops import config as config_module
    from inboxops.intake.maildir import MaildirSource
    from inboxops.store import Store

    cfg = config_module.load(maildir_config(tmp_path))
    raw = client_mail(subject="Twice")
    drop(tmp_path / "mail", "1700000001.M1P1.test", raw)
    copy = drop(tmp_path / "mail", "1700000002.M2P2.test", raw)
    store = Store(cfg.store.path)
    source = MaildirSource(cfg.mailbox)
    reads: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: reads.append(p) or real(p))
    assert source.poll(store) == 1
    assert len(reads) == 2
    reads.clear()
    for _ in range(3):  # the scans that follow, a second apart in the daemon
        assert source.poll(store) == 0
    assert copy not in reads and reads == []
    (event,) = store.query("SELECT entity_id, detail FROM events WHERE event = 'duplicate'")
    assert event["entity_id"] == 1 and "1700000002.M2P2.test" in event["detail"]
    assert store.one("SELECT count(*) AS n FROM messages")["n"] == 1  # type: ignore[index]
