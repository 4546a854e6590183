"""First start on a full mailbox, and `inboxops backfill`, against a real Dovecot: only the
configured mail is taken at first, the rest on demand with progress, and an interrupted
backfill resumes without taking or processing any message twice."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from configs import imap_config, maildir_config
from helpers import Crash, cli, drop, invoke
from mailfactory import client_mail

from inboxops.cli import main


def subjects(db_path: Path) -> list[str]:
    db = sqlite3.connect(db_path)
    try:
        return sorted(r[0] for r in db.execute("SELECT subject FROM messages"))
    finally:
        db.close()


def test_first_start_ignoring_existing_mail_takes_only_new_mail(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink, mailbox={"first_start": "none"})
    for i in range(3):
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=f"Old question {i}"))
    cli(config, "run", "--once")
    assert subjects(tmp_path / "inboxops.db") == []
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="New question"))
    cli(config, "run", "--once")
    cli(config, "run", "--once")
    assert subjects(tmp_path / "inboxops.db") == ["New question"]


def test_first_start_takes_recent_days_and_backfill_takes_the_rest_once(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink,
                         mailbox={"first_start": "recent", "first_start_days": 7})
    now = datetime.now(UTC)
    for i in range(3):
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=f"Old question {i}"), msg_time=now - timedelta(days=30))
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Ancient question"), msg_time=now - timedelta(days=90))
    for i in range(2):
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=f"Recent question {i}"),
            msg_time=now - timedelta(days=1))
    cli(config, "run", "--once")
    assert subjects(tmp_path / "inboxops.db") == ["Recent question 0", "Recent question 1"]

    out = cli(config, "backfill", "--since", "60d")
    assert "5 message(s) in the period, 3 taken now" in out
    db = tmp_path / "inboxops.db"
    assert len(subjects(db)) == 5 and "Ancient question" not in subjects(db)
    states = sqlite3.connect(db).execute("SELECT DISTINCT state FROM messages").fetchall()
    assert states == [("processed",)]

    out = cli(config, "backfill", "--since", "60d")  # again: nothing is taken twice
    assert "5 message(s) in the period, 0 taken now" in out
    assert len(subjects(db)) == 5
    cli(config, "run", "--once")
    assert len(subjects(db)) == 5

    result = invoke(config, "backfill")  # nothing to resume
    assert result.exit_code == 1 and "no interrupted backfill" in result.output


def test_interrupted_backfill_resumes_and_processes_every_message_once(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inboxops.service.pipeline import Pipeline

    count = 400
    config = imap_config(tmp_path, imap_user, smtp_sink,
                         mailbox={"first_start": "none", "batch_size": 50})
    with imap_user.client() as client:  # one session: 400 separate logins would be slow
        for i in range(count):
            client.append("INBOX", client_mail(
                to=imap_user.address, subject=f"Question about order {10000 + i}",
                body=f"Hello, when will order {10000 + i} arrive? Thank you."))
    cli(config, "run", "--once")  # first start: the backlog is left for the backfill
    assert subjects(tmp_path / "inboxops.db") == []

    real = Pipeline._outcome
    calls = {"n": 0}

    def process_then_die(self: Pipeline, pk: int, parsed: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 170:
            raise Crash  # kill -9 in the middle of a batch
        return real(self, pk, parsed)

    monkeypatch.setattr(Pipeline, "_outcome", process_then_die)
    with pytest.raises(Crash):
        CliRunner().invoke(main, ["--config", str(config), "backfill", "--since", "7d"],
                           catch_exceptions=False)
    monkeypatch.setattr(Pipeline, "_outcome", real)
    db = sqlite3.connect(tmp_path / "inboxops.db")
    total, done, finished = db.execute("SELECT total, done, finished_at FROM backfills"
                                       ).fetchone()
    assert (total, finished) == (count, None) and 0 < done < count

    result = CliRunner().invoke(main, ["--config", str(config), "backfill"],
                                catch_exceptions=False)  # resumes the same period
    assert result.exit_code == 0, result.output
    assert "(resumed)" in result.output and f"{count} message(s) in the period" in result.output
    assert f"{count}/{count} (100%)" in result.stderr and "left" in result.stderr

    keys = [r[0] for r in db.execute("SELECT source_key FROM messages")]
    assert len(keys) == count == len(set(keys))
    processed = db.execute(
        "SELECT entity_id, count(*) FROM events WHERE entity = 'message' AND event IN "
        "('processed', 'quarantined') GROUP BY entity_id").fetchall()
    assert len(processed) == count and {n for _, n in processed} == {1}
    per_message = db.execute("SELECT count(*) FROM drafts GROUP BY message_pk").fetchall()
    assert len(per_message) == count and {n for (n,) in per_message} == {1}
    assert db.execute("SELECT finished_at IS NOT NULL FROM backfills").fetchone() == (1,)


def test_maildir_first_start_and_backfill(tmp_path: Path) -> None:
    config = maildir_config(tmp_path, first_start="recent", first_start_days=3)
    old = drop(tmp_path / "mail", "1600000000.M1P1.test", client_mail(subject="Old question"))
    week_ago = (datetime.now() - timedelta(days=7)).timestamp()
    os.utime(old, (week_ago, week_ago))
    drop(tmp_path / "mail", "1700000001.M1P1.test", client_mail(subject="New question"))
    cli(config, "run", "--once")
    assert subjects(tmp_path / "inboxops.db") == ["New question"]
    assert "1 taken now" in cli(config, "backfill", "--since", "2w")
    assert subjects(tmp_path / "inboxops.db") == ["New question", "Old question"]


def test_since_accepts_days_weeks_and_dates() -> None:
    from datetime import date

    from inboxops.errors import InboxopsError
    from inboxops.intake.backfill import parse_since

    today = date(2026, 11, 27)
    assert parse_since("30d", today) == date(2026, 10, 28)
    assert parse_since("2w", today) == date(2026, 11, 13)
    assert parse_since("2026-10-01", today) == date(2026, 10, 1)
    with pytest.raises(InboxopsError, match="30d"):
        parse_since("a month", today)


def test_progress_estimates_the_time_left_from_the_rate_so_far() -> None:
    import io

    from inboxops.intake.backfill import Progress

    clock = [100.0]
    out = io.StringIO()
    progress = Progress(out, tty=False, clock=lambda: clock[0])
    progress(1000, 5000)  # resumed: 1000 were done by an earlier run, not counted in the rate
    clock[0] += 20
    progress(2000, 5000)  # 1000 in 20 s: 50 msg/s, 3000 left: 60 s
    clock[0] += 60
    progress(5000, 5000)
    lines = out.getvalue().splitlines()
    assert lines[1].endswith("2000/5000 (40%), 50 msg/s, about 60 s left")
    assert lines[2].endswith("5000/5000 (100%), 50 msg/s")
