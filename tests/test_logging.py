"""Logs for journald (SYSD-7): a priority prefix on every line under systemd, no message
bodies or passwords at INFO, and each state change logged once with its id."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config
from helpers import cli, drafts, running_daemon, stop, wait_until
from mailfactory import client_mail

from inboxops.cli import setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("restore_logging")
def test_every_line_has_a_priority_under_systemd(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    setup_logging("DEBUG")
    log = logging.getLogger("inboxops.test")
    log.debug("d")
    log.info("i")
    log.warning("w")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == ["<7>inboxops.test: d", "<6>inboxops.test: i", "<4>inboxops.test: w"]
    assert len(lines) > 5 and all(line.startswith("<3>") for line in lines[3:])  # traceback too
    assert any("ValueError: boom" in line for line in lines)


@pytest.mark.usefixtures("restore_logging")
def test_by_hand_lines_carry_time_and_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.delenv("INVOCATION_ID", raising=False)
    setup_logging("INFO")
    logging.getLogger("inboxops.test").info("hello")
    (line,) = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO inboxops.test: hello", line)


def test_daemon_log_has_each_state_change_once_and_no_body_or_password(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    marker = "Confidential-body-words-7Q2"
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Prices", body=f"Hello, {marker}, send prices please."))
    log_path = tmp_path / "daemon.log"
    env = {**os.environ, "JOURNAL_STREAM": "8:4242"}
    with running_daemon(config, log_path, env=env) as proc:
        (draft,) = wait_until(lambda: drafts(config))
        cli(config, "approve", "--no-send", str(draft["id"]))
        assert smtp_sink.wait_for(1, timeout=30)
        wait_until(lambda: "outbox 1: sent" in log_path.read_text())
        assert stop(proc) == 0
    text = log_path.read_text()
    lines = text.splitlines()
    assert all(re.match(r"<[0-7]>", line) for line in lines), lines
    for change in ("message 1: received", "message 1: processed", f"draft {draft['id']}: pending",
                   "outbox 1: sending", "outbox 1: sent"):
        assert sum(change in line for line in lines) == 1, change
    assert marker not in text and imap_user.password not in text
