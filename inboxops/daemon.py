"""`inboxops run`: wires config, store, sources, pipeline, outbox and scheduler; handles signals.

Intake runs in a thread for IMAP (imapclient blocks; IDLE needs its own connection) or as a
scheduled directory scan for Maildir. Whenever mail is recorded, or every few seconds anyway, the
work loop processes received messages, sorts them in the mailbox and drains the outbox. SIGTERM
stops intake, lets the current step finish and exits 0 (SYSD-6); systemd is told READY, STATUS,
STOPPING and WATCHDOG through $NOTIFY_SOCKET (SYSD-2).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from . import mailclient
from .config import Config
from .corrections import reclassify
from .digest import queue_digest
from .errors import InboxopsError
from .fetch import ImapSource, Source, open_source
from .pipeline import Pipeline
from .scheduler import build_scheduler, digest_slot
from .send import Outbox, open_transport
from .sla import queue_reminders
from .store import Store

log = logging.getLogger(__name__)
WORK_INTERVAL = 5.0  # seconds between passes when nothing wakes the loop
FOLDER_CHECK_INTERVAL = 60.0  # seconds between looks for mail moved between category folders


def sd_notify(message: str) -> None:
    """Tell systemd about our state, if it is listening (no systemd-python needed)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(address)
            s.sendall(message.encode())
    except OSError as e:
        log.debug("sd_notify failed: %s", e)


class Daemon:
    """The long-running service. `once=True` makes one full pass and returns (for cron/tests)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.store = Store(cfg.store.path)
        self.source: Source = open_source(cfg.mailbox)
        imap = self.source if cfg.mailbox.kind == "imap" else None
        self.outbox = Outbox(self.store, open_transport(cfg.smtp, imap), self.source)
        self.pipeline = Pipeline(cfg, self.store)
        self.stop_event = threading.Event()
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.exit_code = 0
        self._folders_checked = -FOLDER_CHECK_INTERVAL
        self._chores_error: str | None = None  # logged once, not every chore pass

    # one pass ---------------------------------------------------------------------------------

    async def work(self) -> None:
        """Process what was recorded, sort it in the mailbox, send what is due."""
        while self.pipeline.process_pending(limit=100):
            await asyncio.sleep(0)  # let signals and other tasks in between batches
        await self.sort_pending()
        await self.sync_mail_client()
        await self.learn_from_folders()
        await self.outbox.deliver()

    async def sort_pending(self) -> None:
        rows = self.store.query(
            "SELECT id, source_key, uid, uidvalidity, category FROM messages "
            "WHERE sort_state = 'pending' AND state = 'processed' AND source = ? ORDER BY id",
            (self.source.name,),
        )
        if not rows:
            return
        try:
            done = await asyncio.to_thread(self.source.apply_categories, rows)
        except Exception as e:  # noqa: BLE001 - sorting is retried on the next pass
            log.warning("could not sort %d message(s) in the mailbox yet: %s", len(rows), e)
            return
        with self.store.tx():
            for pk in done:
                self.store.conn.execute(
                    "UPDATE messages SET sort_state = 'done', filed_category = category "
                    "WHERE id = ?", (pk,)
                )

    async def sync_mail_client(self) -> None:
        """Drafts out to the assistant's Drafts folder, decisions back from it."""
        if not isinstance(self.source, ImapSource) or not self.cfg.approval.mail_client:
            return
        try:
            await asyncio.to_thread(self._sync_in_thread)
        except Exception as e:  # noqa: BLE001 - the CLI still works; retried on the next pass
            log.warning("could not sync drafts with the mail client: %s", e)

    def _sync_in_thread(self) -> None:
        assert isinstance(self.source, ImapSource)
        store = Store(self.cfg.store.path)
        try:
            mailclient.sync(store, self.cfg, self.source)
        finally:
            store.close()

    async def learn_from_folders(self) -> None:
        """Messages the assistant moved between category folders are corrections."""
        if not isinstance(self.source, ImapSource) or self.cfg.mailbox.sort != "folder":
            return
        if time.monotonic() - self._folders_checked < FOLDER_CHECK_INTERVAL:
            return  # one look a minute is plenty for a human moving mail
        self._folders_checked = time.monotonic()
        try:
            moved = await asyncio.to_thread(self._moved_in_thread)
        except Exception as e:  # noqa: BLE001 - retried on the next pass
            log.warning("could not check the category folders: %s", e)
            return
        for message_id, category in moved:
            try:
                self._moved(message_id, category)
            except Exception:  # one odd message must not hide the others' corrections
                log.exception("could not learn from %s moved to %s", message_id, category)

    def _moved(self, message_id: str, category: str) -> None:
        row = self.store.one(
            "SELECT id, category, filed_category FROM messages WHERE message_id = ? AND "
            "source = ? AND state = 'processed' ORDER BY id DESC LIMIT 1",
            (message_id, self.source.name),
        )
        if row is None or row["filed_category"] == category:
            return  # not ours, or where we filed it ourselves
        with self.store.tx():
            self.store.conn.execute("UPDATE messages SET filed_category = ? WHERE id = ?",
                                    (category, row["id"]))
        if row["category"] == category:
            return  # already corrected from the CLI: the folder just caught up
        reclassify(self.store, row["id"], category, origin="folder")
        log.info("message %s moved to %s by the assistant: learned", row["id"], category)
        try:
            self.pipeline.redraft(row["id"])
        except InboxopsError as e:
            log.warning("message %s: %s", row["id"], e)

    def _moved_in_thread(self) -> list[tuple[str, str]]:
        assert isinstance(self.source, ImapSource)
        store = Store(self.cfg.store.path)
        try:
            return self.source.moved_by_user(store)
        finally:
            store.close()

    async def poll(self) -> None:
        """Scheduled directory scan (Maildir): record new files, then wake the work loop."""
        if await asyncio.to_thread(self._poll_in_thread):
            self.wake.set()

    def _poll_in_thread(self) -> int:
        store = Store(self.cfg.store.path)
        try:
            return self.source.poll(store)
        finally:
            store.close()

    async def digest(self) -> None:
        """The periodic chores: the day's digest once its time has come (late within the
        grace, never twice: the store decides), and reminders about overdue complaints."""
        now = datetime.now(UTC)
        try:
            day = digest_slot(self.cfg, now)
            queued = day is not None and queue_digest(self.store, self.cfg, now, day=day)
            reminded = queue_reminders(self.store, self.cfg, self.pipeline.renderer, now)
        except InboxopsError as e:  # e.g. a broken template: say so (once), try again
            if str(e) != self._chores_error:
                log.error("digest or reminders: %s", e)
            self._chores_error = str(e)
            return
        except Exception:  # a bug here must not stop the chores for good
            log.exception("digest or reminders failed; trying again in the next pass")
            return
        self._chores_error = None
        if queued or reminded:
            self.wake.set()

    async def run_once(self) -> None:
        await self.outbox.recover()
        await asyncio.to_thread(self._poll_in_thread)
        while self.pipeline.process_pending(limit=100):
            pass  # the digest and reminders below see every recorded message
        await self.digest()  # for `run --once` from cron: the digest if due, and reminders
        await self.work()

    # the service ------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        await self.outbox.recover()
        ready = asyncio.Event()
        thread = None
        if isinstance(self.source, ImapSource):
            thread = threading.Thread(target=self._watch_imap, args=(loop, ready), daemon=True,
                                      name="imap-watch")
            thread.start()
            scheduler = build_scheduler(self.cfg, digest=self.digest, poll=None, poll_seconds=60)
        else:
            await self.poll()
            ready.set()
            scheduler = build_scheduler(self.cfg, digest=self.digest, poll=self.poll,
                                        poll_seconds=min(self.cfg.mailbox.poll_seconds, 1.0))
        scheduler.start()  # its chores job also runs now: a digest missed while down goes out
        watchdog = self._watchdog_interval()
        try:
            while not self.stopping.is_set():
                if ready.is_set() and not getattr(self, "_told_ready", False):
                    sd_notify("READY=1\nSTATUS=watching for mail")
                    log.info("inboxops ready: %s", self.source.name)
                    self._told_ready = True
                try:
                    await self.work()
                except InboxopsError as e:
                    log.error("%s", e)
                except Exception:  # a bug in one pass must not end the service; log and go on
                    log.exception("unexpected error in the work loop")
                if thread is not None and not thread.is_alive() and not self.stopping.is_set():
                    # Intake is dead: exit non-zero so systemd restarts us (SYSD-3).
                    log.error("the IMAP watcher stopped unexpectedly; exiting for a restart")
                    self.exit_code = 1
                    break
                if watchdog:
                    sd_notify("WATCHDOG=1")
                self.wake.clear()
                waiters = [asyncio.ensure_future(self.wake.wait()),
                           asyncio.ensure_future(self.stopping.wait())]
                await asyncio.wait(waiters, timeout=min(WORK_INTERVAL, watchdog or WORK_INTERVAL),
                                   return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
        finally:
            sd_notify("STOPPING=1")
            log.info("stopping")
            scheduler.shutdown(wait=False)
            self.stop_event.set()
            if thread is not None:
                await asyncio.to_thread(thread.join, 10)
            self.store.close()

    def request_stop(self) -> None:
        self.stop_event.set()
        self.stopping.set()

    def _watch_imap(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Event) -> None:
        assert isinstance(self.source, ImapSource)
        store = Store(self.cfg.store.path)
        try:
            self.source.watch(
                store, self.stop_event,
                on_new=lambda n: self._call_in_loop(loop, self.wake.set),
                on_ready=lambda: self._call_in_loop(loop, ready.set),
            )
        finally:
            store.close()

    @staticmethod
    def _call_in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], object]) -> None:
        loop.call_soon_threadsafe(fn)

    @staticmethod
    def _watchdog_interval() -> float | None:
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and int(pid) != os.getpid()):
            return None
        return int(usec) / 2e6
