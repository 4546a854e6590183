"""Maildir intake, the embedded default: files in new/ and cur/ are messages.

Files are only ever renamed (by sorting, in `inboxops.outbound.mailbox`), never rewritten, so the
client's bytes stay exactly as delivered. `watch` scans the directory every `poll_seconds` (at most
a second) in the daemon's intake thread, as the IMAP source watches its folder.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from inboxops.config import MailboxConfig
from inboxops.errors import MailboxError
from inboxops.intake.first_start import maildir_not_before
from inboxops.intake.sources import Incoming, Record, record_each, wait_beating
from inboxops.store import Store

log = logging.getLogger(__name__)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # moved away by the user's mail client meanwhile
        return None


class MaildirSource:
    """A local Maildir: new files in new/ and cur/ are messages; sorting moves files.

    Files are only ever renamed, never rewritten, so the client's bytes stay exactly as delivered.
    """

    folder = "INBOX"

    def __init__(self, cfg: MailboxConfig) -> None:
        self.cfg = cfg
        self.path = Path(cfg.path)
        self.name = f"maildir:{self.path.resolve()}"
        self.record: Record = record_each
        for sub in ("new", "cur", "tmp"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    def files(self) -> Iterator[tuple[str, Path]]:
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                for entry in entries:
                    if entry.is_file() and not entry.name.startswith("."):
                        yield entry.name.split(":", 1)[0], Path(entry.path)

    def poll(self, store: Store) -> int:
        """Record every file not seen before, oldest first; return how many were new."""
        known = store.known_keys(self.name, self.folder)
        not_before = maildir_not_before(store, self.name, self.folder, self.cfg, bool(known))
        fresh = sorted(
            (mtime, key, path) for key, path in self.files() if key not in known
            and (mtime := _mtime(path)) is not None and mtime >= not_before
        )
        count = 0
        for start in range(0, len(fresh), self.cfg.batch_size):
            batch: list[Incoming] = []  # one batch in memory at a time: a backlog streams
            for _, key, path in fresh[start:start + self.cfg.batch_size]:
                try:
                    batch.append(Incoming(key, path.read_bytes()))
                except FileNotFoundError:  # moved away by the user's mail client meanwhile
                    continue
            # the keys recorded are the checkpoint (known_keys)
            count += self.record(store, self.name, self.folder, batch, lambda _: None)
        return count

    def watch(
        self, store: Store, stop: threading.Event, on_new: Callable[[int], None],
        on_ready: Callable[[], None] | None = None,
        beat: Callable[[], None] = lambda: None,
        health: Callable[[str | None, str], None] = lambda error, mode: None,
    ) -> None:
        """Scan every `poll_seconds` (at most a second: a local scan is cheap) until `stop`.

        Ready after the first scan, even a failed one: an unreadable directory is reported as
        a mailbox outage (health, alerts), not as a service that never starts.
        """
        seconds = min(self.cfg.poll_seconds, 1.0)
        mode = f"scanning every {seconds:g}s"
        while not stop.is_set():
            beat()
            try:
                new = self.poll(store)
            except Exception as e:  # noqa: BLE001 - an outage: recorded, and the next scan retries
                log.warning("cannot read the mailbox: %s", e)
                health(str(e), "")
            else:
                health(None, mode)
                if new:
                    on_new(new)
            if on_ready:
                on_ready()
                on_ready = None
            wait_beating(stop, seconds, beat)

    def check(self) -> str:
        if not os.access(self.path, os.R_OK | os.W_OK):
            raise MailboxError(f"[mailbox] path: {self.path} is not readable and writable")
        return f"Maildir {self.path}: {sum(1 for _ in self.files())} message(s)"
