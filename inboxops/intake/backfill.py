"""`inboxops backfill --since 30d`: take the mail of a past period on demand, with progress.

A backfill is a row in the `backfills` table (the period's absolute start date, how many
messages it holds, how many are done), so an interrupted one resumes where it stopped. It never
takes a message twice: each is recorded through the store, which knows every (folder, UID) and
every message's hash, and processing is driven by the message's state, claimed with a
conditional UPDATE. The daemon may run meanwhile; it sorts the backfilled mail in the mailbox.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO

from inboxops.config import Config
from inboxops.errors import InboxopsError
from inboxops.intake.imap import ImapSource
from inboxops.intake.maildir import MaildirSource
from inboxops.intake.sources import Source, open_source
from inboxops.store import Store, intake, messages

log = logging.getLogger(__name__)
ProgressFn = Callable[[int, int], None]
# Processes up to N recorded messages and says how many it took; the service's pipeline, passed
# in by the caller so intake never imports the stages above it.
ProcessFn = Callable[[int], int]


@dataclass
class Backfill:
    """One backfill job: its period's start, and how far it got."""

    id: int
    since: date
    total: int
    done: int
    resumed: bool
    taken: int = 0  # messages recorded by this run


def parse_since(text: str, today: date) -> date:
    """ "30d", "2w" or "2026-10-01" as the first day of the period."""
    m = re.fullmatch(r"\s*(\d+)\s*([dw])\s*", text.lower())
    if m:
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        return today - timedelta(days=days)
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InboxopsError(
            f'--since {text!r}: expected a number of days or weeks ("30d", "2w") or a date '
            '("2026-10-01")'
        ) from None


def start_or_resume(store: Store, source: str, folder: str, since: date | None) -> Backfill:
    """The unfinished backfill of this folder (when `since` is None or names the same day),
    else a new one from `since`."""
    row = intake.unfinished_backfill(store, source, folder)
    if row and (since is None or since.isoformat() == row["since"]):
        return Backfill(row["id"], date.fromisoformat(row["since"]), row["total"] or 0,
                        row["done"], resumed=True)
    if since is None:
        raise InboxopsError("no interrupted backfill to resume: say how far back, e.g. "
                            "inboxops backfill --since 30d")
    # A different period was asked for: the old job gives way.
    pk = intake.start_backfill(store, source, folder, since.isoformat(),
                               replaces=row["id"] if row else None)
    return Backfill(pk, since, 0, 0, resumed=False)


def run(cfg: Config, store: Store, since: date | None, progress: ProgressFn,
        process: ProcessFn) -> Backfill:
    """Record and process every message of the period not taken yet; resumable at any point."""
    source = open_source(cfg.mailbox)
    job = start_or_resume(store, source.name, source.folder, since)
    return _run(store, source, job, process, progress)


def _run(store: Store, source: Source, job: Backfill, process: ProcessFn,
         progress: ProgressFn) -> Backfill:
    _drain(process)  # what an interrupted run recorded but did not process
    if isinstance(source, ImapSource):
        steps = _imap(source, store, job)
    else:
        assert isinstance(source, MaildirSource)
        steps = _maildir(source, store, job)
    next(steps, None)  # the period is listed: its total and what is done already are known
    progress(job.done, job.total)
    for _ in steps:
        _drain(process)
        intake.backfill_progress(store, job.id, job.total, job.done)
        progress(job.done, job.total)
    intake.finish_backfill(store, job.id, job.total, job.done, job.taken)
    log.info("backfill %s since %s finished: %d message(s), %d taken now", job.id, job.since,
             job.total, job.taken)
    return job


def _drain(process: ProcessFn) -> None:
    while process(200):
        pass


def _imap(source: ImapSource, store: Store, job: Backfill) -> Iterator[None]:
    """Record the period's messages batch by batch; yield after each batch."""
    with source.session() as client:
        _, validity = source.select(client, readonly=True)
        uids = sorted(client.search(["SINCE", job.since]))
        known = messages.known_keys(store, source.name, source.folder)
        todo = [u for u in uids if f"{validity}:{u}" not in known]
        job.total, job.done = len(uids), len(uids) - len(todo)
        yield
        for batch in source._batches(client, todo):
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            with store.tx():  # a batch is recorded whole or not at all
                for uid in batch:
                    data = fetched.get(uid)
                    if data and b"BODY[]" in data and messages.record_incoming(
                        store, source.name, source.folder, f"{validity}:{uid}", data[b"BODY[]"],
                        uidvalidity=validity, uid=uid,
                    ) is not None:
                        job.taken += 1
            job.done += len(batch)
            del fetched
            yield


def _maildir(source: MaildirSource, store: Store, job: Backfill) -> Iterator[None]:
    """The same for a Maildir: files modified since the period's first day."""
    start = datetime(job.since.year, job.since.month, job.since.day, tzinfo=UTC).timestamp()
    known = messages.known_keys(store, source.name, source.folder)
    files: list[tuple[float, str, Path]] = []
    for key, path in source.files():
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            continue
        if mtime >= start:
            files.append((mtime, key, path))
    todo = sorted(f for f in files if f[1] not in known)
    job.total, job.done = len(files), len(files) - len(todo)
    yield
    size = source.cfg.batch_size
    for at in range(0, len(todo), size):
        with store.tx():
            for _, key, path in todo[at:at + size]:
                try:
                    raw = path.read_bytes()
                except FileNotFoundError:
                    continue
                if messages.record_incoming(store, source.name, source.folder, key,
                                            raw) is not None:
                    job.taken += 1
        job.done += len(todo[at:at + size])
        yield


class Progress:
    """A progress line on stderr with the rate and an estimate of the time left: redrawn in
    place on a terminal, one line per tenth of the way otherwise (logs, pipes)."""

    def __init__(self, stream: IO[str], tty: bool, clock: Callable[[], float] = time.monotonic):
        self.stream, self.tty, self.clock = stream, tty, clock
        self.start: tuple[float, int] | None = None
        self.shown_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.start is None:
            self.start = (now, done)
        elapsed, gained = now - self.start[0], done - self.start[1]
        rate = gained / elapsed if elapsed > 0 and gained > 0 else None
        fraction = done / total if total else 1.0
        left = (total - done) / rate if rate else None
        eta = "" if left is None or done >= total else f", about {_duration(left)} left"
        speed = f", {rate:.0f} msg/s" if rate else ""
        bar = "#" * int(fraction * 30)
        line = f"backfill [{bar:<30}] {done}/{total} ({fraction:.0%}){speed}{eta}"
        tenth = int(fraction * 10)
        if self.tty:
            self.stream.write("\r" + line.ljust(90) + ("\n" if done >= total else ""))
        elif tenth != self.shown_tenth:
            self.stream.write(line + "\n")
        self.shown_tenth = tenth
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
