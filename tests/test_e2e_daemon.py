"""The daemon and the CLI as an admin and an assistant use them, against real servers:
IDLE wake-up, SIGTERM, `check`, `approve --edit`, implicit TLS and STARTTLS with AUTH.
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

from configs import imap_config, maildir_config
from helpers import drafts, drop, invoke, running_daemon, stop, wait_until
from mailfactory import client_mail


def test_idle_turns_new_mail_into_a_draft_without_polling(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    # Polling is set to 10 minutes: only IDLE can bring the message in within the wait below.
    config = imap_config(tmp_path, imap_user, smtp_sink, mailbox={"poll_seconds": 600})
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path) as proc:
        wait_until(lambda: "with IDLE" in log_path.read_text())
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject="Stock question", body="Do you have blue ones?"))
        # 30 s is generous for a loaded CI machine and still far below the 600 s poll interval.
        found = wait_until(lambda: drafts(config), timeout=30)
        assert found[0]["subject"] == "Re: Stock question"
        assert stop(proc) == 0
    assert "Traceback" not in log_path.read_text()


def test_check_names_what_is_wrong(tmp_path: Path, imap_user: Any, smtp_sink: Any) -> None:
    good = imap_config(tmp_path, imap_user, smtp_sink)
    result = invoke(good, "check")
    assert result.exit_code == 0, result.output
    assert "mailbox: ok: IMAP" in result.output and "IDLE yes" in result.output
    (tmp_path / "imap-password").write_text("wrong-password\n")
    result = invoke(good, "check")
    assert result.exit_code == 1
    assert "mailbox: FAILED: IMAP login as" in result.output
    assert "wrong-password" not in result.output  # secrets are never printed


def test_check_on_the_embedded_default(tmp_path: Path) -> None:
    result = invoke(maildir_config(tmp_path), "check")
    assert result.exit_code == 0, result.output
    assert "mailbox: ok: Maildir" in result.output


def test_approve_with_edit_sends_the_edited_text(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000000.M1P1.test", client_mail())
    assert invoke(config, "run", "--once").exit_code == 0
    (draft,) = drafts(config)
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "Edited by the assistant.\\n" > "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    result = invoke(config, "approve", "--edit", str(draft["id"]),
                    env={"EDITOR": str(editor), "VISUAL": str(editor)})
    assert result.exit_code == 0, result.output
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    raw = eml.read_bytes()
    assert b"Edited by the assistant." in raw and b"Thank you for your message" not in raw


def test_implicit_tls_imap_and_starttls_smtp_with_auth(
    tmp_path: Path, imap_user: Any, smtp_sink_factory: Any
) -> None:
    sink = smtp_sink_factory(auth={"office-smtp": "smtp-secret"}, tls="starttls")
    config = imap_config(
        tmp_path, imap_user, sink,
        mailbox={"port": imap_user.dovecot.imaps_port, "security": "tls"},
        smtp={"security": "starttls", "ca_file": str(sink.cert_path),
              "username": "office-smtp", "password_env": "TEST_SMTP_PW"},
    )
    imap_user.dovecot.append(imap_user.address, client_mail(to=imap_user.address))
    env = {"TEST_SMTP_PW": "smtp-secret"}
    assert invoke(config, "run", "--once", env=env).exit_code == 0
    (draft,) = drafts(config)
    result = invoke(config, "approve", str(draft["id"]), env=env)
    assert result.exit_code == 0, result.output
    assert sink.wait_for(1)
    assert sink.messages[0]["auth"] == "office-smtp" and sink.messages[0]["tls"]


def test_starttls_is_never_optional(tmp_path: Path, imap_user: Any, smtp_sink: Any) -> None:
    """A server that offers no STARTTLS gets no mail and no password (SMTP-1)."""
    config = imap_config(tmp_path, imap_user, smtp_sink,
                         smtp={"security": "starttls", "username": "u",
                               "password_env": "TEST_SMTP_PW"})
    imap_user.dovecot.append(imap_user.address, client_mail(to=imap_user.address))
    env = {"TEST_SMTP_PW": "pw"}
    assert invoke(config, "run", "--once", env=env).exit_code == 0
    (draft,) = drafts(config)
    result = invoke(config, "approve", str(draft["id"]), env=env)
    assert result.exit_code == 0
    assert smtp_sink.messages == []
    outbox = json.loads(invoke(config, "outbox", "--json").output)
    assert outbox[0]["state"] == "queued" and "STARTTLS" in outbox[0]["last_error"]


def test_unit_file_takes_passwords_as_credentials() -> None:
    """Sanity of the unit file: passwords come as credentials, never Environment=."""
    unit = (Path(__file__).resolve().parent.parent / "deploy" / "inboxops.service").read_text()
    assert "LoadCredential" in unit and "PASSWORD=" not in unit
    assert "Type=notify" in unit and "Restart=on-failure" in unit


def test_daemon_reconnects_after_the_server_drops_it(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink, mailbox={"poll_seconds": 600})
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path) as proc:
        wait_until(lambda: "with IDLE" in log_path.read_text())
        kicked = subprocess.run(
            ["doveadm", "-c", str(imap_user.dovecot.conf_path), "kick", imap_user.address],
            capture_output=True, text=True, check=False,
        )
        assert kicked.returncode == 0, kicked.stderr
        wait_until(lambda: "IMAP connection problem" in log_path.read_text())
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject="After the drop", body="Do you have red ones?"))
        found = wait_until(lambda: drafts(config))
        assert found[0]["subject"] == "Re: After the drop"
        assert log_path.read_text().count("with IDLE") >= 2
        assert stop(proc) == 0


def test_password_from_systemd_credentials_never_in_the_environment(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    """SYSD-4: with LoadCredential= the password is a file in $CREDENTIALS_DIRECTORY."""
    import os

    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "INBOXOPS_IMAP_PASSWORD").write_text(imap_user.password)
    config = imap_config(tmp_path, imap_user, smtp_sink, mailbox={
        "password_file": None, "password_env": "INBOXOPS_IMAP_PASSWORD", "poll_seconds": 600})
    env = {k: v for k, v in os.environ.items() if k != "INBOXOPS_IMAP_PASSWORD"}
    env["CREDENTIALS_DIRECTORY"] = str(creds)
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path, env=env) as proc:
        wait_until(lambda: "with IDLE" in log_path.read_text())
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
        assert imap_user.password.encode() not in environ
        assert stop(proc) == 0
    assert imap_user.password not in log_path.read_text()
