"""The daemon's asyncio loop never blocks (issue 10): with a Sent folder that takes 3 s per APPEND
and a busy-calendar feed that takes 10 s to answer, a 50 ms periodic task in the daemon's own
loop stays on time, WATCHDOG=1 keeps coming, and SIGTERM still ends the run within the grace.

Also here: an outbox retry is woken by a scheduled job, not by polling.

The daemon runs in-process (its loop is the test's loop, so the probe measures exactly what the
daemon's signal handling and watchdog would feel), against real Dovecot behind a proxy that holds
APPEND, a real SMTP sink, and a real HTTPS server for the feed.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import signal
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config, maildir_config
from helpers import NotifySocket
from mailfactory import client_mail
from mailservers import SlowAppendProxy, SlowHttpsFeed, TlsFiles

from inboxops.config import load
from inboxops.outbound.outbox import enqueue
from inboxops.service.daemon import STOP_GRACE, Daemon
from inboxops.store import Store

PERIOD = 0.05  # the probe's beat
MAX_LAG = 0.25  # the acceptance limit for its lateness
WATCHDOG_SECONDS = 2.0  # WatchdogSec for this test: a ping every second is expected
EXIT_WITHIN = 10.0  # README: "the process exits 0 within 10 s"

BUSY_ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//staff//EN\r\nBEGIN:VEVENT\r\n"
    b"UID:busy@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T090000Z\r\n"
    b"DTEND:20260101T100000Z\r\nRRULE:FREQ=DAILY\r\nSUMMARY:Standup\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


class LagProbe:
    """A task that sleeps PERIOD again and again, noting how late it wakes (its worst lag)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(PERIOD)
            self.worst = max(self.worst, loop.time() - before - PERIOD)
            self.samples += 1


def queue_reply(db: Path, office: str, n: int) -> None:
    """A reply in the outbox, as an approval puts it there (its Sent copy then goes by APPEND)."""
    message_id = f"<lag-{n}-{secrets.token_hex(4)}@example.test>"
    raw = client_mail(sender=f"Office <{office}>", to="ana@client.example",
                      subject=f"Re: question {n}", message_id=message_id)
    store = Store(db)
    try:
        enqueue(store, "reply", raw, message_id, office, ["ana@client.example"])
    finally:
        store.close()


def filed(db: Path) -> int:
    """Outbox rows sent and filed in Sent."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE state = 'sent' AND "
                                "saved_sent = 1").fetchone()[0])
    finally:
        conn.close()


async def until(run: asyncio.Future[Any], predicate: Callable[[], Any], timeout: float = 90
                ) -> None:
    """Wait for `predicate` (checked off the loop); fail at once if the daemon ended."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if run.done():
            run.result()
            raise AssertionError("the daemon stopped on its own")
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def test_the_loop_stays_live_while_the_sent_folder_and_the_feed_are_slow(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, tls_files: TlsFiles,
    notify: NotifySocket, monkeypatch: pytest.MonkeyPatch,
) -> None:
    office, db = imap_user.address, tmp_path / "inboxops.db"
    with SlowAppendProxy(imap_user.dovecot.imap_port, delay=3.0) as proxy, \
            SlowHttpsFeed(tls_files, BUSY_ICS, delay=10.0) as feed:
        config = imap_config(tmp_path, imap_user, smtp_sink,
                             mailbox={"port": proxy.port, "security": "none", "ca_file": None})
        config.write_text(config.read_text().replace(
            "[meetings]\n", f'[meetings]\nbusy_calendar = "{feed.url}"\n', 1))
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.cert_path))  # trust the feed's cert
        monkeypatch.setenv("NOTIFY_SOCKET", notify.name)
        monkeypatch.setenv("WATCHDOG_USEC", str(int(WATCHDOG_SECONDS * 1e6)))
        monkeypatch.delenv("WATCHDOG_PID", raising=False)
        # A meeting request (its draft reads the slow feed) and a reply to send (its Sent copy
        # is a slow APPEND), both waiting when the daemon starts.
        imap_user.dovecot.append(office, client_mail(
            to=office, subject="Meeting about the contract",
            body="Hello, could we meet next Thursday at 11 to discuss the contract?\n\nAna"))
        queue_reply(db, office, 1)
        daemon = Daemon(load(config))
        probe = LagProbe()

        async def scenario() -> float:
            lag = asyncio.ensure_future(probe.run())
            run = asyncio.ensure_future(daemon.run())
            await until(run, lambda: feed.served >= 1 and filed(db) >= 1)
            # A second send whose Sent copy hangs past the stop grace: SIGTERM during it.
            proxy.delay = 60.0
            held = proxy.held
            await asyncio.to_thread(queue_reply, db, office, 2)
            await until(run, lambda: proxy.held > held)
            asked = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(run, timeout=60)
            stopped_in = time.monotonic() - asked
            lag.cancel()
            return stopped_in

        stopped_in = asyncio.run(scenario())
        pings = notify.times("WATCHDOG=1")

    assert feed.started >= 1 and proxy.passed >= 1  # the slow work did happen meanwhile
    assert probe.samples > 100
    assert probe.worst < MAX_LAG, f"the loop stalled for {probe.worst:.3f} s"
    assert daemon.exit_code == 0
    assert stopped_in < min(STOP_GRACE + 2, EXIT_WITHIN), f"stop took {stopped_in:.1f} s"
    assert notify.times("STOPPING=1")
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert len(pings) > 10 and max(gaps) < WATCHDOG_SECONDS, (len(pings), max(gaps, default=0))


def test_an_outbox_retry_is_woken_by_a_scheduled_job_at_its_time(tmp_path: Path) -> None:
    """No polling for retries: after a pass, APScheduler holds a wake-up at the earliest
    retry time of the outbox, and nothing is sent before it."""
    config = maildir_config(tmp_path)
    queue_reply(tmp_path / "inboxops.db", "office@example.test", 1)
    due = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    conn = sqlite3.connect(tmp_path / "inboxops.db")
    with conn:
        conn.execute("UPDATE outbox SET next_attempt_at = ?", (due.isoformat(),))
    conn.close()
    daemon = Daemon(load(config))

    async def scenario() -> datetime:
        run = asyncio.ensure_future(daemon.run())
        try:
            deadline = time.monotonic() + 20
            while (daemon.scheduler is None
                   or daemon.scheduler.get_job("outbox-retry") is None):
                assert time.monotonic() < deadline and not run.done()
                await asyncio.sleep(0.05)
            return daemon.scheduler.get_job("outbox-retry").next_run_time
        finally:
            daemon.request_stop()
            await run

    assert asyncio.run(scenario()) == due
    assert not list((tmp_path / "outbox").glob("*.eml"))  # not sent before its time
