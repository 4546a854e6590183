"""Mailbox sources: what intake needs from a mailbox, whichever kind config names.

A source records each new message in the store before anything acts on it, and remembers
(folder, UIDVALIDITY, last UID) so each message is taken exactly once, without relying on \\Seen
and without setting it (BODY.PEEK, IMAP-6). Both kinds watch the same way: `watch` runs in the
daemon's intake thread until asked to stop, so the daemon never needs to know which kind it has.
Writing to the mailbox (sorting, the Sent copy, \\Answered) is outbound's job
(`inboxops.outbound.mailbox`).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from imapclient.exceptions import IMAPClientError

from inboxops.config import MailboxConfig
from inboxops.store import Store

log = logging.getLogger(__name__)

NETWORK_ERRORS = (IMAPClientError, OSError, ssl.SSLError, EOFError)


@dataclass(frozen=True)
class Incoming:
    """One message as a source read it: its key there (UIDVALIDITY:UID, a Maildir name)."""

    key: str
    raw: bytes
    uidvalidity: int | None = None
    uid: int | None = None


class Record(Protocol):
    """Records a batch a source read, oldest first, each message in a transaction together
    with `checkpoint(message)` for the last of it (how far the source got: a crash then
    neither loses nor repeats a message); how many were new."""

    def __call__(self, store: Store, source: str, folder: str, batch: list[Incoming],
                 checkpoint: Callable[[Incoming], None]) -> int: ...


def record_each(store: Store, source: str, folder: str, batch: list[Incoming],
                checkpoint: Callable[[Incoming], None]) -> int:
    """The plain way: every message recorded as `received`, for the work loop to process;
    the batch and its checkpoint in one transaction. (The daemon records a backlog's mail
    that needs no draft processed at once: `service.pipeline.Pipeline.ingest`.)"""
    count = 0
    with store.tx():
        for m in batch:
            if store.record_incoming(source, folder, m.key, m.raw, uidvalidity=m.uidvalidity,
                                     uid=m.uid) is not None:
                count += 1
        if batch:
            checkpoint(batch[-1])
    return count


class Source(Protocol):
    """What the daemon, `run --once` and `check` need from a mailbox."""

    name: str
    folder: str
    record: Record  # how a batch read is recorded (the daemon may put its own)

    def poll(self, store: Store) -> int:
        """One pass: record what is new; return how many messages were new."""
        ...

    def watch(
        self, store: Store, stop: threading.Event, on_new: Callable[[int], None],
        on_ready: Callable[[], None] | None = None,
        beat: Callable[[], None] = lambda: None,
        health: Callable[[str | None, str], None] = lambda error, mode: None,
    ) -> None:
        """Record new mail until `stop` is set. `beat` at least every second while making
        progress (the watchdog's evidence), `health(None, mode)` after each successful look,
        `health(error, "")` after each failure, `on_ready` once, when the mailbox is first
        reached (before what is waiting there is recorded)."""
        ...

    def check(self) -> str:
        """A one-line description of the mailbox as reached now; raises MailboxError."""
        ...


def open_source(cfg: MailboxConfig) -> Source:
    """The source config names."""
    if cfg.kind == "maildir":
        from inboxops.intake.maildir import MaildirSource

        return MaildirSource(cfg)
    from inboxops.intake.imap import ImapSource

    return ImapSource(cfg)


def note_mailbox_error(store: Store, error: Exception) -> None:
    """Keep a mailbox error in the event log for the digest; never fails the caller."""
    try:
        store.event("mailbox", None, "error", str(error) or type(error).__name__)
    except Exception as e:  # noqa: BLE001 - e.g. database locked: the log line is enough
        log.debug("could not record the mailbox error: %s", e)


def wait_beating(
    stop: threading.Event, seconds: float, beat: Callable[[], None],
    until: Callable[[], bool] = lambda: False,
) -> None:
    """Wait `seconds` (or until `stop`, or `until()` is true), beating every second: waiting on
    purpose is progress."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0 or until():
            return
        beat()
        stop.wait(min(1.0, left))
