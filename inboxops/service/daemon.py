"""`inboxops run`: wires config, store, sources, pipeline, outbox and scheduler; handles signals.

Intake runs in a thread of its own, whatever the source (imapclient blocks and IDLE needs its own
connection; a Maildir is scanned every second). Whenever mail is recorded, or every few seconds
anyway, the work loop processes received messages, sorts them in the mailbox and drains the outbox.

systemd (SYSD-1..6) is told READY=1 once config, store and the first mailbox login are fine,
STATUS= on changes, WATCHDOG=1 only while the fetch and work loops both make progress, and
STOPPING=1 on SIGTERM. A stop gives an in-flight send STOP_GRACE seconds to finish; then it is
cancelled and its outbox row checkpointed (requeued, or `unknown` if DATA had begun), IMAP logs
out and the process exits 0. SIGHUP reloads the templates and the [classify] and [replies]
settings from the config file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from inboxops.classifiers.corrections import reclassify
from inboxops.config import Config, load
from inboxops.errors import InboxopsError
from inboxops.intake.sources import Source, open_source
from inboxops.outbound.mailbox import Mailbox, open_mailbox
from inboxops.outbound.outbox import Outbox, open_transport
from inboxops.service import health
from inboxops.service.digest import queue_digest
from inboxops.service.pipeline import Pipeline
from inboxops.service.scheduler import build_scheduler, digest_slot
from inboxops.service.sla import queue_reminders
from inboxops.service.systemd import (
    Heartbeats,
    feed_watchdog,
    hang_if_asked,
    sd_notify,
    watchdog_seconds,
)
from inboxops.store import Store

__all__ = ["Daemon", "sd_notify"]

log = logging.getLogger(__name__)
WORK_INTERVAL = 5.0  # seconds between passes when nothing wakes the loop
FOLDER_CHECK_INTERVAL = 60.0  # seconds between looks for mail moved between category folders
STOP_GRACE = 5.0  # seconds an in-flight send may take after SIGTERM (then it is checkpointed)
PASS_RECORD_INTERVAL = 30.0  # seconds between notes of "the work loop is alive" in the store


class Daemon:
    """The long-running service. `once=True` makes one full pass and returns (for cron/tests)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.store = Store(cfg.store.path)
        self.source: Source = open_source(cfg.mailbox)
        self.mailbox: Mailbox = open_mailbox(self.source)
        imap = self.mailbox if cfg.mailbox.kind == "imap" else None
        self.outbox = Outbox(self.store, open_transport(cfg.smtp, imap), self.mailbox)
        self.pipeline = Pipeline(cfg, self.store)
        self.stop_event = threading.Event()
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.exit_code = 0
        self._folders_checked = -FOLDER_CHECK_INTERVAL
        self._chores_error: str | None = None  # logged once, not every chore pass
        self.heartbeats = Heartbeats(["fetch", "work"])
        self._told_ready = self._told_stopping = self._reload_requested = False
        self._pass_recorded = -PASS_RECORD_INTERVAL
        self._status = ""
        self._last_ok: tuple[str, float] | None = None  # mode and time of the last poll noted

    # one pass ---------------------------------------------------------------------------------

    async def work(self) -> None:
        """Process what was recorded, sort it in the mailbox, send what is due."""
        while self.pipeline.process_pending(limit=100):
            self.heartbeats.beat("work")  # a long backlog is progress, not a hang
            await asyncio.sleep(0)  # let signals and other tasks in between batches
        # While the watcher knows the mailbox is unreachable, the mailbox chores would only fail
        # and log a warning each (every few seconds, for as long as the outage lasts).
        if not health.open_outage(self.store):
            await self.sort_pending()
            await self.sync_mail_client()
            await self.learn_from_folders()
        await self.outbox.deliver()

    async def sort_pending(self) -> None:
        # The review lane is a sort target like a category (InboxOps/Review, $Review).
        target = "CASE WHEN confidence < ? THEN 'review' ELSE category END"
        rows = self.store.query(
            f"SELECT id, source_key, uid, uidvalidity, {target} AS category FROM messages "
            "WHERE sort_state = 'pending' AND state = 'processed' AND source = ? ORDER BY id",
            (self.cfg.classify.review_below, self.source.name),
        )
        if not rows:
            return
        try:
            done = await asyncio.to_thread(self.mailbox.apply_categories, rows)
        except Exception as e:  # noqa: BLE001 - sorting is retried on the next pass
            log.warning("could not sort %d message(s) in the mailbox yet: %s", len(rows), e)
            return
        with self.store.tx():
            for pk in done:
                self.store.conn.execute(
                    f"UPDATE messages SET sort_state = 'done', filed_category = {target} "
                    "WHERE id = ?", (self.cfg.classify.review_below, pk)
                )

    async def sync_mail_client(self) -> None:
        """Drafts out to the assistant's Drafts folder, decisions back from it."""
        if not self.mailbox.syncs_drafts or not self.cfg.approval.mail_client:
            return
        try:
            await asyncio.to_thread(self._sync_in_thread)
        except Exception as e:  # noqa: BLE001 - the CLI still works; retried on the next pass
            log.warning("could not sync drafts with the mail client: %s", e)

    def _sync_in_thread(self) -> None:
        store = Store(self.cfg.store.path)
        try:
            self.mailbox.sync_drafts(store, self.cfg)
        finally:
            store.close()

    async def learn_from_folders(self) -> None:
        """Messages the assistant moved between category folders are corrections."""
        if self.cfg.mailbox.sort != "folder":
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
        store = Store(self.cfg.store.path)
        try:
            return self.mailbox.moved_by_user(store)
        finally:
            store.close()

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
        try:
            while self.pipeline.process_pending(limit=100):
                pass  # the digest and reminders below see every recorded message
        finally:
            self.pipeline.close()  # parser workers, if the backlog started any
        await self.digest()  # for `run --once` from cron: the digest if due, and reminders
        await self.work()

    # the service ------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        health.set_status(self.store, pid=os.getpid(), started_at=health.now_iso(),
                          source=self.source.name, mode="starting", stopped_at=None)
        sd_notify("STATUS=starting: connecting to the mailbox")
        await self.outbox.recover()
        ready = asyncio.Event()
        # Intake watches in a thread of its own (IMAP IDLE holds its connection; a Maildir is
        # scanned every second), and wakes the work loop when it recorded mail.
        thread = threading.Thread(target=self._watch, args=(loop, ready), daemon=True,
                                  name="intake-watch")
        thread.start()
        scheduler = build_scheduler(self.cfg, digest=self.digest)
        scheduler.start()  # its chores job also runs now: a digest missed while down goes out
        limit = watchdog_seconds()
        watchdog = (asyncio.ensure_future(feed_watchdog(self.heartbeats, limit, self.stopping))
                    if limit else None)
        try:
            while not self.stopping.is_set():
                if ready.is_set() and not self._told_ready:
                    # SYSD-1: config, store and the first mailbox login (and SELECT) are fine.
                    sd_notify("READY=1\nSTATUS=watching for mail")
                    log.info("inboxops ready: %s", self.source.name)
                    self._told_ready = True
                if self._reload_requested:
                    self._reload_requested = False
                    self.reload()
                self.heartbeats.beat("work")
                self.wake.clear()  # before the pass: a wake-up during it means "pass again"
                await self._one_pass()
                self.heartbeats.beat("work")
                if not thread.is_alive() and not self.stopping.is_set():
                    # Intake is dead: exit non-zero so systemd restarts us (SYSD-3).
                    log.error("the IMAP watcher stopped unexpectedly; exiting for a restart")
                    self.exit_code = 1
                    break
                self._after_pass(ready.is_set())
                waiters = [asyncio.ensure_future(self.wake.wait()),
                           asyncio.ensure_future(self.stopping.wait())]
                await asyncio.wait(waiters, timeout=min(WORK_INTERVAL, (limit or 20) / 4),
                                   return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
        finally:
            self._notify_stopping()
            log.info("stopping")
            scheduler.shutdown(wait=False)
            self.stop_event.set()
            if watchdog is not None:
                watchdog.cancel()
            # the watcher leaves IDLE (or its scan) and logs out within a second
            await asyncio.to_thread(thread.join, 3)
            with contextlib.suppress(Exception):
                health.set_status(self.store, mode="stopped", stopped_at=health.now_iso())
            self.pipeline.close()
            self.store.close()

    async def _one_pass(self) -> None:
        """One work pass; on SIGTERM it gets STOP_GRACE seconds, then is cancelled (the outbox
        checkpoints the row it was sending, see Outbox.deliver)."""
        task = asyncio.ensure_future(self.work())
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait([task, stop], return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait([task], timeout=STOP_GRACE)
            if not task.done():
                log.warning("stopping: the current step did not finish in %.0fs; cancelled",
                            STOP_GRACE)
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if not self.stopping.is_set():
                    raise
            except InboxopsError as e:
                log.error("%s", e)
            except Exception:  # a bug in one pass must not end the service; log and go on
                log.exception("unexpected error in the work loop")
        finally:
            stop.cancel()

    def _after_pass(self, ready: bool) -> None:
        """Alerts that are due, the "alive" note for `inboxops status`, STATUS= for systemd."""
        try:
            if health.check_alerts(self.store, self.cfg, self.source.name):
                self.wake.set()  # send them now
            if time.monotonic() - self._pass_recorded >= PASS_RECORD_INTERVAL:
                self._pass_recorded = time.monotonic()
                health.set_status(self.store, last_pass_at=health.now_iso())
            counts = self.store.one(
                "SELECT (SELECT count(*) FROM drafts WHERE state = 'pending') AS drafts, "
                "(SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')) AS outbox")
        except Exception:  # bookkeeping must never stop the service
            log.exception("could not update the service status")
            return
        assert counts is not None
        if not ready:
            return
        outage = health.open_outage(self.store)
        state = (f"mailbox unreachable since {outage['started_at']}: {outage['last_error']}"
                 if outage else "watching for mail")
        status = f"{state}; {counts['drafts']} draft(s) waiting, {counts['outbox']} to send"
        if status != self._status:
            self._status = status
            sd_notify(f"STATUS={status}")

    def request_stop(self) -> None:
        self._notify_stopping()
        self.stop_event.set()
        self.stopping.set()

    def _notify_stopping(self) -> None:
        if not self._told_stopping:
            self._told_stopping = True
            sd_notify("STOPPING=1\nSTATUS=stopping")

    def request_reload(self) -> None:
        self._reload_requested = True
        self.wake.set()

    def reload(self) -> None:
        """SIGHUP: re-read templates and the [classify] and [replies] settings. Mailbox, SMTP
        and store settings need a restart; a broken file keeps the running settings."""
        path = self.cfg.source_path
        try:
            fresh = load(path) if path else self.cfg
            cfg = self.cfg.model_copy(update={"classify": fresh.classify,
                                              "replies": fresh.replies})
            pipeline = Pipeline(cfg, self.store)
        except InboxopsError as e:
            log.error("reload failed, keeping the running templates and rules: %s", e)
            sd_notify("STATUS=reload failed: see the log")
            return
        self.pipeline.close()
        self.cfg, self.pipeline = cfg, pipeline
        log.info("reloaded templates from %s and the classifier rules", cfg.replies.templates)
        self._status = ""

    def _watch(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Event) -> None:
        store = Store(self.cfg.store.path)

        def beat() -> None:
            hang_if_asked(self.stop_event)  # test-only hook: a no-op unless its variable is set
            self.heartbeats.beat("fetch")

        try:
            self.source.watch(
                store, self.stop_event,
                on_new=lambda n: self._call_in_loop(loop, self.wake.set),
                on_ready=lambda: self._call_in_loop(loop, lambda: self._ready(ready)),
                beat=beat,
                health=lambda error, mode: self._mailbox_health(store, error, mode),
            )
        finally:
            store.close()

    def _ready(self, ready: asyncio.Event) -> None:
        ready.set()
        self.wake.set()  # tell systemd now, not after the current wait

    def _mailbox_health(self, store: Store, error: str | None, mode: str) -> None:
        """Record a poll's outcome for `status` and alerts; tell systemd when it changes."""
        if error is None and self._last_ok is not None and self._last_ok[0] == mode and \
                time.monotonic() - self._last_ok[1] < PASS_RECORD_INTERVAL:
            return  # nothing new: a Maildir scan every second need not write every second
        try:
            if error is None:
                health.mailbox_ok(store, self.source.name, mode)
                self._last_ok = (mode, time.monotonic())
            else:
                self._last_ok = None
                health.mailbox_failed(store, self.source.name, error)
        except Exception:  # bookkeeping must never stop intake
            log.exception("could not record the mailbox state")
        if error is not None:
            sd_notify(f"STATUS=mailbox unreachable: {error}; retrying")

    @staticmethod
    def _call_in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], object]) -> None:
        loop.call_soon_threadsafe(fn)
