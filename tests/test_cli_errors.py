"""Every CLI command turns an expected failure into one line and a non-zero exit, never a
traceback: a damaged or read-only database, an id out of range, a meeting moved to year 9999,
a file in a missing folder. And `check` renders every template, naming the one that fails.

Commands run in-process with catch_exceptions=False, so an exception the CLI let through fails
the test; the read-only store is a real read-only mount, in a mount namespace of its own."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from configs import maildir_config

from inboxops.cli import main
from inboxops.defaults import TEMPLATES
from inboxops.store import Store

# Every command that opens the store, with arguments that reach it. (eval, eval-times and
# web passwd never open it.)
COMMANDS = [
    ["run", "--once"], ["status"], ["drafts"], ["show", "1"], ["approve", "1"], ["reject", "1"],
    ["digest"], ["digest", "--send-now"], ["backfill", "--since", "2d"], ["classify", "{eml}"],
    ["messages"], ["reclassify", "1", "inquiry"], ["meetings"],
    ["meetings", "reschedule", "1", "2030-01-08 10:00"], ["meetings", "cancel", "1"],
    ["outbox"], ["outbox", "resolve", "1", "--sent"], ["web", "--port", "1"],
]


def run(config: Path, *args: str) -> tuple[int, list[str]]:
    """Exit code and non-empty output lines (stdout and stderr) of one command."""
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def one_line(config: Path, *args: str) -> str:
    code, lines = run(config, *args)
    assert code != 0 and len(lines) == 1, (args, code, lines)
    assert lines[0].startswith("error: "), (args, lines)
    return lines[0]


def damage(path: Path, how: str) -> None:
    if how == "not a database":
        path.write_bytes(os.urandom(8192))
        return
    Store(path).close()  # a real database, its pages then overwritten (a disk fault)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096:] = os.urandom(len(data) - 4096)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["not a database", "malformed"])
def test_every_command_on_a_damaged_database_says_so_in_one_line(
    tmp_path: Path, how: str
) -> None:
    config = maildir_config(tmp_path)
    eml = tmp_path / "m.eml"
    eml.write_bytes(b"From: a@client.example\r\nSubject: x\r\n\r\nHello\r\n")
    damage(tmp_path / "inboxops.db", how)
    for command in COMMANDS:
        line = one_line(config, *(a.format(eml=eml) for a in command))
        assert "is damaged" in line and "Fix: restore it from a backup" in line, command
    code, lines = run(config, "check")  # check goes on with the other steps, and fails
    assert code == 1 and any(line.startswith("store: FAILED: the database") for line in lines)
    assert any(line.startswith("templates: ok") for line in lines), lines


def test_a_read_only_store_says_what_to_fix_in_one_line(tmp_path: Path) -> None:
    """The state folder mounted read-only (as with systemd's ProtectSystem=strict and no
    StateDirectory): each command says it cannot write, and what to fix."""
    state = tmp_path / "state"
    state.mkdir()
    config = maildir_config(tmp_path)
    config.write_text(config.read_text().replace(
        str(tmp_path / "inboxops.db"), str(state / "inboxops.db")))
    Store(state / "inboxops.db").close()
    for command in (["status"], ["drafts"], ["reject", "1"], ["run", "--once"],
                    ["digest", "--send-now"]):
        script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", script, str(state), sys.executable, "-m", "inboxops",
             "--config", str(config), *command],
            capture_output=True, text=True, timeout=60, check=False)
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        assert proc.returncode == 1 and len(lines) == 1, (command, proc.stdout, proc.stderr)
        assert lines[0].startswith(f"error: cannot write the database {state}"), lines
        assert "Fix: give the user running inboxops write access" in lines[0]


def meeting_store(tmp_path: Path) -> Path:
    config = maildir_config(tmp_path)
    store = Store(tmp_path / "inboxops.db")
    pk = store.record_incoming("test", "INBOX", "1", b"Subject: x\r\n\r\nx")
    store.conn.execute(
        'INSERT INTO meetings (message_pk, uid, sequence, start, "end", timezone, from_client,'
        " alternatives, location, summary, client_addr, client_name, staff, attendees, state,"
        " created_at) VALUES (?, 'u@x', 0, '2030-01-08T10:00:00+02:00', '2030-01-08T11:00:00"
        "+02:00', 'Europe/Bucharest', 1, '[]', 'Office', 'Meeting', 'ana@client.example',"
        " 'Ana', ?, '{}', 'invited', 'now')", (pk, json.dumps(["staff@example.test"])))
    store.close()
    return config


@pytest.mark.parametrize(("args", "said"), [
    (["show", "99999999999999999999"], "not in the range"),
    (["approve", "0"], "not in the range"),
    (["reject", "99999999999999999999"], "not in the range"),
    (["reclassify", "99999999999999999999", "inquiry"], "not in the range"),
    (["meetings", "cancel", "99999999999999999999"], "not in the range"),
    (["outbox", "resolve", "99999999999999999999", "--sent"], "not in the range"),
    (["messages", "--limit", "99999999999999999999"], "not in the range"),
    (["show", "123456"], "no draft with id 123456"),
    (["meetings", "reschedule", "1", "9999-12-31 23:00"], "more than 2 years ahead"),
    (["meetings", "reschedule", "1", "9999-12-31T23:59:59-12:00"], "more than 2 years ahead"),
    (["meetings", "reschedule", "1", "next tuesday"], "write it as YYYY-MM-DD HH:MM"),
    (["digest", "--html", "{tmp}/no/such/folder/digest.html"], "create the folder"),
])
def test_bad_input_gets_one_line_and_a_non_zero_exit(
    tmp_path: Path, args: list[str], said: str
) -> None:
    config = meeting_store(tmp_path)
    line = one_line(config, *(a.format(tmp=tmp_path) for a in args))
    assert said in line, line


def test_check_renders_every_template_set_and_names_the_broken_ones(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    text = config.read_text().replace(str(TEMPLATES), str(templates))
    config.write_text(text)
    code, lines = run(config, "check")
    assert code == 0, lines
    assert "18 template sets render in en, ro" in "\n".join(lines)
    # A typo in a Romanian HTML reply, a filter given the wrong type in the English reminder,
    # and a variable the Romanian invitation does not get: each named, the rest still checked.
    html = templates / "complaint.ro.body.html"
    html.write_text(html.read_text().replace("{{ signature }}", "{{ signatur }}"))
    reminder = templates / "reminder.en.body.txt"
    reminder.write_text(reminder.read_text() + '{{ "%d"|format(company) }}\n')
    invitation = templates / "invitation.ro.subject.txt"
    invitation.write_text("{{ meeting.room }}")
    code, lines = run(config, "check")
    (failed,) = [line for line in lines if line.startswith("templates: FAILED")]
    assert code == 1
    for name in ("complaint.ro.body.html", "reminder.en.body.txt", "invitation.ro.subject.txt"):
        assert name in failed, (name, failed)
    assert "complaint.en" not in failed and "digest" not in failed


def test_check_fails_on_placeholder_identities_and_acks_that_cannot_go_out(
    tmp_path: Path,
) -> None:
    config = maildir_config(tmp_path)
    text = config.read_text()
    code, lines = run(config, "check")
    assert code == 0 and "identity: ok: mail from office@example.test" in "\n".join(lines)
    placeholders = (text.replace('from = "Office <office@example.test>"', "")
                    .replace('to = ["manager@example.test"]', "")
                    .replace("enabled = false", "enabled = true"))
    config.write_text(placeholders)  # nothing leaves the outbox folder: said, not failed
    code, lines = run(config, "check")
    assert code == 0, lines
    (identity,) = [line for line in lines if line.startswith("identity: ok: not set yet")]
    assert "[smtp] from is not set (still office@example.com)" in identity
    config.write_text(placeholders.replace('kind = "outbox-dir"', 'kind = "smtp"\nhost = '
                                           '"127.0.0.1"\nport = 9\nsecurity = "none"')
                      .replace("[replies]\n", "[replies]\nauto_ack = ['complaint']\n"))
    code, lines = run(config, "check")
    assert code == 1
    (identity,) = [line for line in lines if line.startswith("identity: FAILED")]
    assert "[smtp] from is not set (still office@example.com)" in identity
    assert "[digest] to is not set (still manager@example.com)" in identity
    assert 'Fix: from = "Office <office@your-domain>"' in identity
    (acks,) = [line for line in lines if line.startswith("automatic mail: FAILED")]
    assert "authserv_id is empty" in acks and "no acknowledgement is sent" in acks
