"""Daemon plumbing without servers: systemd notification and the digest schedule."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from inboxops import config
from inboxops.service.daemon import sd_notify
from inboxops.service.scheduler import (
    build_scheduler,
    digest_due,
    digest_slot,
    next_digest_time,
    wake_at,
)
from inboxops.service.systemd import Heartbeats, feed_watchdog


@pytest.mark.parametrize("abstract", [False, True])
def test_sd_notify_reaches_the_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, abstract: bool
) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        if abstract:
            name = f"inboxops-test-{tmp_path.name}"
            server.bind("\0" + name)
            monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        else:
            path = tmp_path / "notify"
            server.bind(str(path))
            monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        server.settimeout(2)
        sd_notify("READY=1")
        assert server.recv(100) == b"READY=1"


def test_sd_notify_without_systemd_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    sd_notify("READY=1")  # must not raise


def test_digest_due_uses_the_office_timezone() -> None:
    cfg = config.default()
    cfg.digest.time = "08:00"
    # 05:59 UTC is 07:59 in Bucharest (UTC+2 in winter); 06:00 UTC is 08:00.
    assert not digest_due(cfg, datetime(2026, 11, 27, 5, 59, tzinfo=UTC))
    assert digest_due(cfg, datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
    cfg.digest.enabled = False
    assert not digest_due(cfg, datetime(2026, 11, 27, 12, 0, tzinfo=UTC))


def test_a_missed_digest_is_due_within_the_grace_and_keyed_by_its_own_day() -> None:
    cfg = config.default()
    cfg.digest.time = "23:30"
    cfg.digest.grace_hours = 2
    # 21:30 UTC is 23:30 in Bucharest; a daemon back at 00:45 local sends the 27th's digest.
    assert digest_slot(cfg, datetime(2026, 11, 27, 21, 29, tzinfo=UTC)) is None
    assert digest_slot(cfg, datetime(2026, 11, 27, 21, 30, tzinfo=UTC)) == date(2026, 11, 27)
    assert digest_slot(cfg, datetime(2026, 11, 27, 22, 45, tzinfo=UTC)) == date(2026, 11, 27)
    # Beyond the grace that day's digest is skipped: the next one covers the gap.
    assert digest_slot(cfg, datetime(2026, 11, 27, 23, 31, tzinfo=UTC)) is None


def test_next_digest_time_is_the_next_local_occurrence_across_dst() -> None:
    cfg = config.default()
    cfg.digest.time = "08:00"
    # Bucharest leaves summer time on 25 Oct 2026: 08:00 is 05:00 UTC before, 06:00 after.
    nxt = next_digest_time(cfg, datetime(2026, 10, 24, 6, 0, tzinfo=UTC))
    assert nxt is not None and nxt.astimezone(UTC) == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    nxt = next_digest_time(cfg, datetime(2026, 10, 24, 4, 0, tzinfo=UTC))
    assert nxt is not None and nxt.astimezone(UTC) == datetime(2026, 10, 24, 5, 0, tzinfo=UTC)
    cfg.digest.enabled = False
    assert next_digest_time(cfg, datetime(2026, 10, 24, 4, 0, tzinfo=UTC)) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def one_watchdog_round(heartbeats: Heartbeats, server: socket.socket) -> list[str]:
    """Run feed_watchdog for one round; what it told systemd."""
    async def scenario() -> None:
        stopping = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, stopping.set)
        await feed_watchdog(heartbeats, 60, stopping)

    asyncio.run(scenario())
    received = []
    server.settimeout(0.5)
    with contextlib.suppress(TimeoutError):
        while True:
            received.append(server.recv(200).decode())
            server.settimeout(0.05)
    return received


def test_watchdog_pings_only_while_every_loop_makes_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    heartbeats = Heartbeats(["fetch", "work"], clock=clock)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(tmp_path / "notify"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        clock.now += 59
        assert heartbeats.stale(60) == []
        assert one_watchdog_round(heartbeats, server) == ["WATCHDOG=1"]
        heartbeats.beat("fetch")  # the fetch loop goes on; the work (send) loop is stuck
        clock.now += 30
        assert heartbeats.stale(60) == ["work"]
        sent = one_watchdog_round(heartbeats, server)
        assert "WATCHDOG=1" not in sent and any("hung: work" in m for m in sent)
        heartbeats.beat("work")
        assert one_watchdog_round(heartbeats, server) == ["WATCHDOG=1"]


def test_a_bounded_wait_counts_as_progress_until_its_patience_runs_out() -> None:
    clock = FakeClock()
    heartbeats = Heartbeats(["fetch", "work"], clock=clock)
    with heartbeats.waiting("work", patience=90):  # e.g. a slow Sent folder, in the worker pool
        clock.now += 80
        heartbeats.beat("fetch")
        assert heartbeats.stale(60) == []  # 80 s without a beat, but waiting on purpose
        clock.now += 70
        heartbeats.beat("fetch")
        assert heartbeats.stale(60) == []  # patience ran out 60 s ago: not yet stale
        clock.now += 5
        assert heartbeats.stale(60) == ["work"]  # a call past every timeout: a hang
    assert heartbeats.stale(60) == []  # the wait ended: that is progress


def test_the_scheduler_keeps_every_timed_job_of_the_daemon() -> None:
    """APScheduler is the one timekeeper: each periodic job is there and running (not paused),
    and an outbox retry wakes the work loop at its time."""
    async def noop() -> None:
        return None

    async def scenario() -> tuple[dict[str, float | None], datetime | None]:
        scheduler = build_scheduler(config.default(), digest=noop, wake=noop, pass_seconds=1,
                                    folders=noop, alive=noop)
        scheduler.start()
        try:
            due = datetime.now(UTC) + timedelta(minutes=5)
            wake_at(scheduler, due, noop)
            wake_at(scheduler, due + timedelta(minutes=1), noop)  # replaces: one retry job
            jobs = {job.id: job for job in scheduler.get_jobs()}
            retry = jobs.pop("outbox-retry").next_run_time
            periods = {job.id: job.trigger.interval.total_seconds()
                       if job.next_run_time is not None else None for job in jobs.values()}
            return periods, retry
        finally:
            scheduler.shutdown(wait=False)

    periods, retry = asyncio.run(scenario())
    assert periods == {"chores": 30, "pass": 1, "folders": 60, "alive": 30}  # none paused
    assert retry is not None and retry.astimezone(UTC) > datetime.now(UTC) + timedelta(minutes=5)
