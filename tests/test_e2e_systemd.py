"""The daemon as systemd runs it, against real Dovecot and aiosmtpd: a fake $NOTIFY_SOCKET
(a unix datagram socket bound here) receives what systemd would (SYSD-1..6).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config, maildir_config
from helpers import NotifySocket, cli, drafts, drop, running_daemon, stop, wait_until
from mailfactory import client_mail

from inboxops.defaults import TEMPLATES
from inboxops.service.daemon import WORK_BATCH


def systemd_env(notify: NotifySocket, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHDOG_USEC", "WATCHDOG_PID")}
    return {**env, "NOTIFY_SOCKET": notify.name, **extra}


def imap_sessions_ended(user: Any) -> list[str]:
    """Dovecot's disconnect lines for this user once there is one per login, else []."""
    lines = user.dovecot.log().splitlines()
    logins = [line for line in lines if "Login: user=<" + user.address + ">" in line]
    ended = [line for line in lines if f"imap({user.address})" in line and "Disconnected" in line]
    return ended if logins and len(ended) == len(logins) else []


def test_ready_only_after_the_first_login(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, notify: NotifySocket
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    (tmp_path / "imap-password").write_text("not-the-password\n")
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path, env=systemd_env(notify)) as proc:
        wait_until(lambda: log_path.read_text().count("IMAP connection problem") >= 2)
        assert "READY=1" not in notify.lines()  # the unit stays "activating" (SYSD-1)
        assert any(line.startswith("STATUS=mailbox unreachable") for line in notify.lines())
        (tmp_path / "imap-password").write_text(imap_user.password + "\n")
        wait_until(lambda: "READY=1" in notify.lines())
        # the intake thread logs this right after telling the loop it is ready: wait for it
        wait_until(lambda: "watching INBOX" in log_path.read_text(), timeout=10)
        assert stop(proc) == 0
    assert "STOPPING=1" in notify.lines()
    assert "not-the-password" not in log_path.read_text()


def test_ready_comes_before_the_leftovers_are_worked_off(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, notify: NotifySocket
) -> None:
    """READY=1 once the mailbox is reached and the store open; mail waiting there is recorded
    and processed after it, with STATUS= showing the progress (a big backlog must not make a
    Type=notify start time out)."""
    with imap_user.client() as c:
        for i in range(WORK_BATCH + 50):  # two work batches
            c.append("INBOX", client_mail(subject=f"order {i}", to=imap_user.address))
    config = imap_config(tmp_path, imap_user, smtp_sink)
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path, env=systemd_env(notify)) as proc:
        wait_until(lambda: log_path.read_text().count(": processed") >= WORK_BATCH + 50,
                   timeout=120)
        assert stop(proc) == 0
    text = log_path.read_text()
    assert text.index("inboxops ready") < text.index(": received")  # before even recording
    lines = notify.lines()
    ready = lines.index("READY=1")
    assert any(line.startswith("STATUS=working off the backlog") for line in lines[ready:])


def test_watchdog_pings_stop_while_the_fetch_loop_hangs(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, notify: NotifySocket
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    hang = tmp_path / "hang-fetch"
    # WatchdogSec=4: pings every 2 s; long enough that a pass on a loaded machine is no hang.
    env = systemd_env(notify, WATCHDOG_USEC="4000000", INBOXOPS_TEST_HANG_FETCH=str(hang))
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path, env=env) as proc:
        wait_until(lambda: "READY=1" in notify.lines())
        wait_until(lambda: notify.lines().count("WATCHDOG=1") >= 2)  # healthy: every ~2 s
        hang.touch()
        wait_until(lambda: "the fetch loop made no progress" in log_path.read_text())
        silent_from = time.monotonic()
        time.sleep(5)  # over two ping periods: systemd would have restarted us by now
        assert "WATCHDOG=1" not in notify.lines(since=silent_from)
        assert "the work loop" not in log_path.read_text()  # only the hung loop is blamed
        hang.unlink()  # the loop goes on: the pings come back
        resumed_from = time.monotonic()
        wait_until(lambda: "WATCHDOG=1" in notify.lines(since=resumed_from))
        assert stop(proc) == 0
    assert "STOPPING=1" in notify.lines()


def test_sigterm_lets_a_send_that_completes_in_time_finish(
    tmp_path: Path, imap_user: Any, smtp_sink_factory: Any, notify: NotifySocket
) -> None:
    """SYSD-6, the other half: a send the server completes within the grace period is not
    cut off; the row is `sent`, the reply arrived once, and the exit is still clean."""
    sink = smtp_sink_factory(lmtp=imap_user.dovecot)
    config = imap_config(tmp_path, imap_user, sink, smtp={"timeout": 60})
    imap_user.dovecot.append(imap_user.address, client_mail(to=imap_user.address))
    with running_daemon(config, tmp_path / "daemon.log", env=systemd_env(notify)) as proc:
        (draft,) = wait_until(lambda: drafts(config))
        sink.stall("DATA")
        cli(config, "approve", "--no-send", str(draft["id"]))
        assert sink.wait_stalled(30), "the daemon never started the send"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "STOPPING=1" in notify.lines())
        sink.release()  # the server answers while the daemon is stopping
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 10
    (row,) = json.loads(cli(config, "outbox", "--json"))
    assert row["state"] == "sent", row
    assert len(sink.messages) == 1


@pytest.mark.parametrize(("held_at", "expected_state"), [("DATA", "unknown"), ("RCPT", "queued")])
def test_sigterm_during_a_send_exits_0_within_10s_and_settles_the_outbox(
    tmp_path: Path, imap_user: Any, smtp_sink_factory: Any, notify: NotifySocket,
    held_at: str, expected_state: str,
) -> None:
    """SYSD-6: a send the server holds gets a few seconds, then is checkpointed: requeued if
    DATA never began (the server cannot have it), `unknown` once it had (never resent blindly)."""
    sink = smtp_sink_factory(lmtp=imap_user.dovecot)
    config = imap_config(tmp_path, imap_user, sink, smtp={"timeout": 60})
    imap_user.dovecot.append(imap_user.address, client_mail(to=imap_user.address))
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path, env=systemd_env(notify)) as proc:
        (draft,) = wait_until(lambda: drafts(config))
        sink.stall(held_at)
        cli(config, "approve", "--no-send", str(draft["id"]))
        assert sink.wait_stalled(30), "the daemon never started the send"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 10
    assert "STOPPING=1" in notify.lines()
    assert "Traceback" not in log_path.read_text()
    # Every IMAP session the daemon opened ended with LOGOUT, the IDLE watcher's included.
    sessions = wait_until(lambda: imap_sessions_ended(imap_user))
    assert all("Disconnected: Logged out" in line for line in sessions), sessions
    (row,) = json.loads(cli(config, "outbox", "--json"))
    assert row["state"] == expected_state, row
    sink.release()
    time.sleep(0.5)  # let a released transaction finish, if the server still had one
    copies_before_restart = len(sink.messages)
    assert copies_before_restart == 0  # the held transaction was abandoned, not completed
    with running_daemon(config, tmp_path / "daemon2.log", env=systemd_env(notify)) as proc:
        if expected_state == "queued":  # provably unsent: sent after the restart, once
            assert sink.wait_for(1, timeout=30)
            wait_until(lambda: json.loads(cli(config, "outbox", "--json"))[0]["state"] == "sent")
        else:  # maybe delivered: left for a human (`outbox resolve`), never resent on its own
            wait_until(lambda: "ready" in (tmp_path / "daemon2.log").read_text())
            time.sleep(2)
        assert stop(proc) == 0
    (row,) = json.loads(cli(config, "outbox", "--json"))
    assert row["state"] == ("sent" if expected_state == "queued" else "unknown")
    assert len(sink.messages) == (1 if expected_state == "queued" else 0)


def test_sighup_reloads_templates_and_survives_a_broken_config(
    tmp_path: Path, notify: NotifySocket
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    config = maildir_config(tmp_path)
    text = config.read_text().replace(str(TEMPLATES), str(templates))
    config.write_text(text)
    log_path = tmp_path / "daemon.log"
    with running_daemon(config, log_path, env=systemd_env(notify)) as proc:
        wait_until(lambda: "READY=1" in notify.lines())
        drop(tmp_path / "mail", "1.M1.test", client_mail(subject="First price question"))
        wait_until(lambda: len(drafts(config)) == 1)
        body = templates / "inquiry.en.body.txt"
        body.write_text(body.read_text() + "\nP.S. Reloaded on SIGHUP.\n")
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded templates" in log_path.read_text())
        drop(tmp_path / "mail", "2.M2.test", client_mail(subject="Second price question",
                                                         sender="Ion <ion@client.example>"))
        found = wait_until(lambda: [d for d in drafts(config) if "Second" in d["subject"]])
        assert "Reloaded on SIGHUP" in found[0]["body"]
        first = [d for d in drafts(config) if "First" in d["subject"]]
        assert "Reloaded on SIGHUP" not in first[0]["body"]
        config.write_text(text + "\n[classify]\nno_such_key = 1\n")
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload failed" in log_path.read_text())
        config.write_text(text)  # for the CLI below; the daemon reads it only on SIGHUP
        drop(tmp_path / "mail", "3.M3.test", client_mail(subject="Third price question",
                                                         sender="Dan <dan@client.example>"))
        found = wait_until(lambda: [d for d in drafts(config) if "Third" in d["subject"]])
        assert "Reloaded on SIGHUP" in found[0]["body"]  # the running settings stayed
        assert proc.poll() is None
        assert stop(proc) == 0
