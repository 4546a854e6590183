"""OAuth2 against real servers (issue 11, item 2): Dovecot with its `oauth2` passdb asking the
test's authorization server (token introspection), aiosmtpd taking XOAUTH2/OAUTHBEARER, and
`inboxops auth login`, `check`, `run` driven as a user would, in their own processes."""

from __future__ import annotations

import email
import json
import os
import re
import secrets
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import pytest
from authserver import AuthServer
from configs import imap_config
from helpers import cli, running_daemon, stop, wait_until
from mailfactory import client_mail
from mailservers import BearerCheck, DovecotInstance, ImapUser, SmtpSink, unique_address

ADMIN = "it-admin@example.test"


@pytest.fixture(scope="module")
def authserver() -> Iterator[AuthServer]:
    server = AuthServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def oauth_dovecot(authserver: AuthServer) -> Iterator[DovecotInstance]:
    with DovecotInstance(oauth2_introspection_url=f"{authserver.url}/introspect") as dovecot:
        yield dovecot


@pytest.fixture
def user(oauth_dovecot: DovecotInstance, authserver: AuthServer) -> Iterator[ImapUser]:
    """A mailbox whose password nobody uses: it is signed in to with OAuth2 only."""
    authserver.lifetime = 3600.0
    account = ImapUser(unique_address("office"), secrets.token_urlsafe(12), oauth_dovecot)
    oauth_dovecot.add_user(account.address, account.password)
    yield account


@pytest.fixture
def sinks() -> Iterator[Any]:
    """SMTP sinks, stopped after the test: `sinks()` plain, `sinks(bearer=check)` OAuth2."""
    started: list[SmtpSink] = []

    def make(bearer: BearerCheck | None = None, **kwargs: Any) -> SmtpSink:
        sink = SmtpSink(bearer=bearer, **kwargs).start()
        started.append(sink)
        return sink

    yield make
    for sink in started:
        sink.stop()


def oauth_keys(server: AuthServer) -> dict[str, Any]:
    return {"auth": "oauth2", "provider": "generic", "client_id": "inboxops-test",
            **server.endpoints(), "password_file": None}


def oauth_config(tmp: Path, user: ImapUser, sink: SmtpSink, server: AuthServer,
                 smtp_oauth: bool = True, **mailbox: Any) -> Path:
    smtp = {"username": user.address, **oauth_keys(server)} if smtp_oauth else {}
    config = imap_config(tmp, user, sink, mailbox={**oauth_keys(server), **mailbox}, smtp=smtp)
    (tmp / "imap-password").unlink()  # no password anywhere: OAuth2 or nothing
    return config


def auth_login(config: Path, server: AuthServer, user: str, *flags: str) -> str:
    """`inboxops auth login` in its own process; the test signs in with the code it prints
    (device flow) or follows the address it prints (loopback flow), as a person would."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "inboxops", "--config", str(config), "auth", "login", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    shown = []
    for line in proc.stderr:
        shown.append(line)
        if code := re.search(r"enter the code (\d+)", line):
            server.approve(code.group(1), user)
            break
        if line.startswith(server.url + "/authorize?"):
            # The browser: the server signs the login_hint in and redirects to the loopback
            # listener, whose page says so.
            page = httpx.get(line.strip(), follow_redirects=True, timeout=10)
            assert page.status_code == 200 and "Signed in" in page.text
            break
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, "".join(shown) + err
    return "".join(shown) + err + out


def every_token(server: AuthServer) -> list[str]:
    return [*server.access, *(g.refresh_token for g in server.grants)]


def recorded(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT message_id FROM messages ORDER BY id")]


def test_first_login_with_device_code_then_imap_and_smtp_use_bearer_tokens(
    tmp_path: Path, user: ImapUser, authserver: AuthServer, sinks: Any
) -> None:
    sink = sinks(bearer=authserver.check)
    config = oauth_config(tmp_path, user, sink, authserver)
    failed = subprocess.run([sys.executable, "-m", "inboxops", "--config", str(config), "check"],
                            capture_output=True, text=True)
    assert failed.returncode == 1
    assert "auth login --mailbox" in failed.stderr and "not signed in" in failed.stderr

    said = auth_login(config, authserver, user.address)
    token_file = tmp_path / f"oauth-generic-{user.address}.json"  # beside inboxops.db
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert "signed in: [mailbox], [smtp]" in said
    assert len(authserver.grants) == 1  # one sign-in serves both sections
    assert not any(t in said for t in every_token(authserver))

    checked = cli(config, "check")
    assert "mailbox: ok" in checked and "smtp: ok: connected and logged in" in checked
    assert "method=OAUTHBEARER" in user.dovecot.log()  # preferred where offered
    assert sink.bearer_logins[-1] == ("OAUTHBEARER", user.address, True)

    user.dovecot.append(user.address, client_mail(subject="Price list?",
                                                   body="Hello, could you send prices?"))
    cli(config, "run", "--once")
    draft = json.loads(cli(config, "drafts", "--json"))[0]
    cli(config, "approve", str(draft["id"]))
    assert sink.wait_for(1)
    assert sink.messages[0]["auth"] == user.address


def test_first_login_with_loopback_redirect_and_xoauth2_only_smtp(
    tmp_path: Path, user: ImapUser, authserver: AuthServer, sinks: Any
) -> None:
    sink = sinks(bearer=authserver.check, bearer_mechanisms=("XOAUTH2",))
    config = oauth_config(tmp_path, user, sink, authserver)
    said = auth_login(config, authserver, user.address, "--flow", "loopback", "--no-browser")
    assert "code=" not in said  # the one-time code is never printed
    checked = cli(config, "check")
    assert "smtp: ok: connected and logged in" in checked
    assert sink.bearer_logins == [("XOAUTH2", user.address, True)]


def test_token_expiring_every_few_seconds_while_idle_misses_and_doubles_nothing(
    tmp_path: Path, user: ImapUser, authserver: AuthServer, sinks: Any
) -> None:
    sink = sinks()
    config = oauth_config(tmp_path, user, sink, authserver, smtp_oauth=False)
    with config.open("a") as f:
        f.write('[log]\nlevel = "DEBUG"\n')
    authserver.lifetime = 3.0
    auth_login(config, authserver, user.address, "--mailbox")
    log = tmp_path / "daemon.log"
    sent = []
    with running_daemon(config, log) as proc:
        wait_until(lambda: "inboxops ready" in log.read_text())
        started = time.monotonic()
        while time.monotonic() - started < 12:  # four lifetimes, mail arriving throughout
            msg_id = f"<idle-{len(sent)}-{secrets.token_hex(4)}@client.example>"
            user.dovecot.append(user.address, client_mail(
                subject=f"Question {len(sent)}", body="Hello, a question.", message_id=msg_id))
            sent.append(msg_id)
            time.sleep(0.7)
        wait_until(lambda: len(recorded(tmp_path / "inboxops.db")) >= len(sent))
        time.sleep(1)  # time for a doubled record to show up
        assert stop(proc) == 0
    assert sorted(recorded(tmp_path / "inboxops.db")) == sorted(sent)
    text = log.read_text()
    assert text.count("expires soon: signing in again") >= 3
    assert "watching INBOX on 127.0.0.1 with IDLE" in text
    assert authserver.refreshes() >= 3
    ours = [i for i in authserver.introspections if i.user == user.address]
    assert ours and not [i for i in ours if i.expired]  # always signed in before expiry
    assert not any(t in text for t in every_token(authserver))


def test_revoked_sign_in_alerts_without_crash_loop_and_recovers_after_auth_login(
    tmp_path: Path, user: ImapUser, authserver: AuthServer, sinks: Any
) -> None:
    sink = sinks()  # the alert still goes out: SMTP needs no token here
    config = oauth_config(tmp_path, user, sink, authserver, smtp_oauth=False)
    with config.open("a") as f:
        f.write(f'[alerts]\nto = ["{ADMIN}"]\nmailbox_down_minutes = 0.02\n')
    authserver.lifetime = 2.0
    auth_login(config, authserver, user.address, "--mailbox")
    fix = f"inboxops --config {config} auth login --mailbox"
    log = tmp_path / "daemon.log"
    with running_daemon(config, log) as proc:
        wait_until(lambda: "inboxops ready" in log.read_text())
        authserver.revoke(user.address)
        wait_until(lambda: sink.messages)
        alert = email.message_from_bytes(sink.messages[0]["data"], policy=default)
        assert "unreachable" in str(alert["Subject"]) and alert["To"] == ADMIN
        assert fix in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert fix in log.read_text()  # the journal line
        status = json.loads(cli(config, "status", "--json"))
        assert fix in status["mailbox"]["last_error"]
        refreshes = authserver.refreshes()
        time.sleep(4)
        assert proc.poll() is None  # still running: no crash, no restart loop
        assert authserver.refreshes() - refreshes <= 3  # backing off, not hammering

        auth_login(config, authserver, user.address, "--mailbox")
        wait_until(lambda: len(sink.messages) >= 2, timeout=20)
        recovery = email.message_from_bytes(sink.messages[1]["data"], policy=default)
        assert "reachable again" in str(recovery["Subject"])
        msg_id = f"<after-{secrets.token_hex(4)}@client.example>"
        user.dovecot.append(user.address, client_mail(subject="Back?", body="Hello again.",
                                                       message_id=msg_id))
        wait_until(lambda: msg_id in recorded(tmp_path / "inboxops.db"))
        status_text = cli(config, "status")
        assert stop(proc) == 0
    everything = log.read_text() + status_text + json.dumps(status)
    assert not any(t in everything for t in every_token(authserver))


def test_a_sign_in_revoked_before_the_start_is_waited_on_not_restarted(
    tmp_path: Path, user: ImapUser, authserver: AuthServer, sinks: Any
) -> None:
    sink = sinks()
    config = oauth_config(tmp_path, user, sink, authserver, smtp_oauth=False)
    auth_login(config, authserver, user.address, "--mailbox")
    authserver.revoke(user.address)  # e.g. a password change while the service was down
    fix = f"inboxops --config {config} auth login --mailbox"
    log = tmp_path / "daemon.log"
    with running_daemon(config, log) as proc:
        wait_until(lambda: fix in log.read_text())
        time.sleep(3)
        assert proc.poll() is None  # waiting for a sign-in, not exiting for systemd to restart
        auth_login(config, authserver, user.address, "--mailbox")
        msg_id = f"<after-{secrets.token_hex(4)}@client.example>"
        user.dovecot.append(user.address, client_mail(subject="Back?", body="Hello again.",
                                                       message_id=msg_id))
        wait_until(lambda: msg_id in recorded(tmp_path / "inboxops.db"), timeout=30)
        assert stop(proc) == 0
