"""`inboxops run`: wires config, store, sources, pipeline, outbox and scheduler; handles signals.

The one concurrency rule: **the asyncio loop never blocks.** The loop handles signals, feeds
the watchdog, talks SMTP (aiosmtplib) and orders the work; it never waits on I/O that may take
long, so a slow server can delay the mail but never SIGTERM, the watchdog or the other work.

- Blocking I/O is a job for ONE bounded pool of worker threads (`service.workers`), which the
  loop awaits: IMAP commands (sorting, the Sent copy, \\Answered, drafts, moved mail), HTTP
  (the busy calendar feed, read while drafting), and SQLite batches (processing received mail,
  the digest, reminders, alerts and status). A job runs on the store connection of its own
  thread (sqlite3 connections cannot cross threads), never on the loop's.
- The loop's own connection serves only the single-row updates that bracket an SMTP send
  (claim, dot-sent, sent; in order with the protocol, microseconds in WAL mode), and the
  "stopped" note at exit.
- CPU-bound parsing runs in worker processes (`intake.parsepool`), with a time limit on every
  message, whatever the batch size.
- Intake watches the mailbox in a thread of its own (IMAP IDLE holds its connection; a Maildir
  is scanned every second), and wakes the work loop when it recorded mail.
- APScheduler (`service.scheduler`) keeps all the time: the digest and reminders, the look at
  the category folders, an outbox retry when it falls due, the "alive" note, and the pass every
  few seconds that picks up what other processes (the CLI) queued. The work loop itself only
  waits to be woken: by intake or by one of those jobs.

systemd (SYSD-1..6) is told READY=1 once config, store and the first mailbox login are fine,
before any leftover or backlog is worked off (STATUS= shows its progress), STATUS= on
changes, WATCHDOG=1 only while the fetch and work loops both make progress (a work loop
awaiting the pool counts as such for JOB_PATIENCE), and STOPPING=1 on SIGTERM. A stop
gives the current step STOP_GRACE seconds to finish; then it is cancelled (an in-flight send's
outbox row is checkpointed: requeued, or `unknown` if its "." went out), blocking calls still
running in the pool are left to end with the process, IMAP logs out and the process exits 0.
SIGHUP reloads the templates and the [classify] and [replies] settings from the config file.
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
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from inboxops.classifiers.corrections import reclassify
from inboxops.config import Config, load
from inboxops.errors import InboxopsError
from inboxops.intake.sources import Incoming, Source, open_source, record_each
from inboxops.outbound.mailbox import Mailbox, open_mailbox
from inboxops.outbound.outbox import Outbox, open_transport
from inboxops.service import health, memory
from inboxops.service.digest import queue_digest
from inboxops.service.pipeline import Pipeline
from inboxops.service.scheduler import build_scheduler, digest_slot, wake_at
from inboxops.service.sla import queue_reminders
from inboxops.service.systemd import (
    Heartbeats,
    feed_watchdog,
    hang_if_asked,
    sd_notify,
    watchdog_seconds,
)
from inboxops.service.workers import Workers
from inboxops.store import Store, drafts, messages, outbox

__all__ = ["Daemon", "sd_notify"]

log = logging.getLogger(__name__)
T = TypeVar("T")
WORK_INTERVAL = 5.0  # seconds between passes when nothing wakes the loop
STOP_GRACE = 5.0  # seconds an in-flight send may take after SIGTERM (then it is checkpointed)
INTAKE_GRACE = 3.0  # seconds the intake thread gets to leave IDLE and log out at a stop
CLOSE_GRACE = 1.0  # seconds the connection kept for actions gets to log out at a stop
# A work loop awaiting a blocking job counts as making progress for this long: more than the
# timeouts such a job has (IMAP read 60 s, the busy feed 15 s, a parse 20 s per message).
JOB_PATIENCE = 90.0
SORT_EVERY = 1000  # messages processed in a backlog between two sorting rounds
SORT_PAGE = 2000  # rows of a sorting round read from the store at a time
WORK_BATCH = 400  # messages taken from the store per step of the work loop
BACKLOG_BATCH = 100  # a batch this big read by intake means a backlog is being worked off
PASS_RECORD_INTERVAL = 30.0  # seconds between notes of a healthy poll in the store


class Daemon:
    """The long-running service. `once=True` makes one full pass and returns (for cron/tests)."""

    def __init__(self, cfg: Config) -> None:
        memory.bound_arenas()  # before any thread starts (issue 15)
        self.cfg = cfg
        self.store = Store(cfg.store.path)  # the loop's own connection: see the rule above
        self.workers = Workers(cfg.store.path)
        self.source: Source = open_source(cfg.mailbox)
        self.mailbox: Mailbox = open_mailbox(self.source)
        imap = self.mailbox if cfg.mailbox.kind == "imap" else None
        self.outbox = Outbox(self.store, open_transport(cfg.smtp, imap, self._io), self.mailbox,
                             offload=self._io)
        self.pipeline = Pipeline(cfg, self.store)
        self._views = threading.local()  # each worker thread's Pipeline.on(its store)
        # Intake records what needs only sorting processed at once (Pipeline.ingest).
        self.source.record = self._ingest
        self._loop: asyncio.AbstractEventLoop | None = None  # the service's, once it runs
        self._ingested = 0  # processed by intake since the work loop was last woken
        # Intake is working through a backlog (set by a big batch, cleared when its look at
        # the mailbox ends): the Drafts folder is filled after it, so sorting keeps up.
        self._backlog = False
        self.scheduler: AsyncIOScheduler | None = None
        self.stop_event = threading.Event()
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.exit_code = 0
        self._folders_due = cfg.mailbox.sort == "folder"  # the first pass looks at them
        self._chores_error: str | None = None  # logged once, not every chore pass
        self.heartbeats = Heartbeats(["fetch", "work"])
        self._told_ready = self._told_stopping = self._reload_requested = False
        self._passes = self._passes_noted = 0
        self._status = ""
        self._last_ok: tuple[str, float] | None = None  # mode and time of the last poll noted
        # the mail-client round: (draft event mark, folder marks) after the last one, and when
        # the folders were last looked at
        self._mail_client_seen: tuple[int, tuple[Any, ...]] | None = None
        self._mail_client_looked = 0.0

    async def _io(self, fn: Callable[[Store], T]) -> T:
        """Run a blocking step of the work loop in the pool; waiting for it is progress."""
        with self.heartbeats.waiting("work", JOB_PATIENCE):
            return await self.workers.run(fn)

    def _pipeline_on(self, store: Store) -> Pipeline:
        """The pipeline on this worker thread's store (made again after a reload)."""
        base, view = getattr(self._views, "pipeline", (None, None))
        if base is not self.pipeline or view is None or view.store is not store:
            view = self.pipeline.on(store)
            self._views.pipeline = (self.pipeline, view)
        return view

    # one pass ---------------------------------------------------------------------------------

    async def work(self) -> None:
        """Process what was recorded, sort it in the mailbox, send what is due."""
        unsorted = done = 0
        # A stop ends the backlog between two batches (each is written as it goes).
        while not self.stopping.is_set() and (processed := await self._io(self._process_batch)):
            self.heartbeats.beat("work")  # a long backlog is progress, not a hang
            unsorted += processed
            done += processed
            if self._told_ready:  # SYSD-2: a backlog worked off after READY=1 shows progress
                left = await self._io(lambda store: messages.count_in_state(store, "received"))
                if left:
                    sd_notify(f"STATUS=working off the backlog: {done} processed, {left} left")
            if unsorted >= SORT_EVERY and not self.stopping.is_set():
                # A backlog is sorted as it goes, so a stop leaves little undone.
                unsorted = 0
                if not await self._io(health.open_outage):
                    await self._io(self._sort_pending)
        if self.stopping.is_set():
            return  # the chores and the outbox are the next start's
        # While the watcher knows the mailbox is unreachable, the mailbox chores would only fail
        # and log a warning each (every few seconds, for as long as the outage lasts).
        if not await self._io(health.open_outage):
            await self._io(self._sort_pending)
            if not self._backlog:  # 1,000 APPENDs would hold the sorting of the rest
                await self.sync_mail_client()
            if self._folders_due:
                self._folders_due = False
                await self._io(self._learn_from_folders)
        await self.outbox.deliver()

    def _ingest(self, store: Store, source: str, folder: str, batch: list[Incoming],
                checkpoint: Callable[[Incoming], None]) -> int:
        """`intake.sources.Record`, in the intake thread (it blocks on the parse workers and
        SQLite, like the rest of that thread's work, never on the loop)."""
        if len(batch) < BACKLOG_BATCH:  # new mail as it comes: the usual way, at once
            return record_each(store, source, folder, batch, checkpoint)
        self._backlog = True
        count = self._pipeline_on(store).ingest(source, folder, batch, checkpoint)
        self._ingested += count
        if self._ingested >= SORT_EVERY and self._loop is not None:
            # A backlog is sorted as it goes (a pass of the work loop), not once at its end.
            self._ingested = 0
            self._call_in_loop(self._loop, self.wake.set)
        return count

    def _process_batch(self, store: Store) -> int:
        return self._pipeline_on(store).process_pending(limit=WORK_BATCH)

    def _sort_pending(self, store: Store) -> None:
        """Sort what is processed, SORT_PAGE rows at a time: a leftover of any size is never
        in memory at once. A page not wholly done (a stop, a lost connection) ends the round."""
        review_below = self.cfg.classify.review_below

        def mark(ids: list[int]) -> None:  # per batch: a stop between two redoes nothing
            with store.tx():
                messages.mark_sorted(store, ids, review_below)

        after = 0
        while not self.stop_event.is_set():
            rows = messages.to_sort(store, self.source.name, review_below, after, SORT_PAGE)
            if not rows:
                return
            after = rows[-1]["id"]
            try:
                done = self.mailbox.apply_categories(rows, on_done=mark, stop=self.stop_event)
            except Exception as e:  # noqa: BLE001 - sorting is retried on the next pass
                log.warning("could not sort %d message(s) in the mailbox yet: %s", len(rows), e)
                return
            memory.trim()  # the page's buffers are freed: their pages go back (issue 15)
            if len(done) < len(rows):
                return

    async def sync_mail_client(self) -> None:
        """Drafts out to the assistant's Drafts folder, decisions back from it: when drafts
        changed here, a removal timer runs, or the folders changed (looked at every
        [approval] check_seconds), not every pass: an idle daemon stays quiet."""
        if not self.mailbox.syncs_drafts or not self.cfg.approval.mail_client:
            return
        try:
            if await self._io(self._mail_client_due):
                await self._io(lambda store: self.mailbox.sync_drafts(store, self.cfg))
                await self._io(self._mail_client_synced)
        except Exception as e:  # noqa: BLE001 - the CLI still works; retried on the next pass
            self._mail_client_seen = None
            log.warning("could not sync drafts with the mail client: %s", e)

    def _mail_client_due(self, store: Store) -> bool:
        seen = self._mail_client_seen
        event, missing = drafts.sync_mark(store)
        if seen is None or missing or event != seen[0]:
            return True
        if time.monotonic() - self._mail_client_looked < self.cfg.approval.check_seconds:
            return False
        self._mail_client_looked = time.monotonic()
        return self.mailbox.folder_marks(self.cfg) != seen[1]

    def _mail_client_synced(self, store: Store) -> None:
        """What the round left behind (its own drafts and copies), to compare with later."""
        self._mail_client_seen = (drafts.sync_mark(store)[0], self.mailbox.folder_marks(self.cfg))
        self._mail_client_looked = time.monotonic()

    def _learn_from_folders(self, store: Store) -> None:
        """Messages the assistant moved between category folders are corrections."""
        try:
            moved = self.mailbox.moved_by_user(store)
        except Exception as e:  # noqa: BLE001 - retried at the next look
            log.warning("could not check the category folders: %s", e)
            return
        for message_id, category in moved:
            try:
                self._moved(store, message_id, category)
            except Exception:  # one odd message must not hide the others' corrections
                log.exception("could not learn from %s moved to %s", message_id, category)

    def _moved(self, store: Store, message_id: str, category: str) -> None:
        row = messages.latest_processed(store, self.source.name, message_id)
        if row is None or row["filed_category"] == category:
            return  # not ours, or where we filed it ourselves
        with store.tx():
            messages.set_filed_category(store, row["id"], category)
        if row["category"] == category:
            return  # already corrected from the CLI: the folder just caught up
        reclassify(store, row["id"], category, origin="folder")
        log.info("message %s moved to %s by the assistant: learned", row["id"], category)
        try:
            self._pipeline_on(store).redraft(row["id"])
        except InboxopsError as e:
            log.warning("message %s: %s", row["id"], e)

    async def digest(self) -> None:
        """The periodic chores: the day's digest once its time has come (late within the
        grace, never twice: the store decides), and reminders about overdue complaints."""
        try:
            queued = await self.workers.run(self._chores)
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
            return  # cut short by the stop (APScheduler would log it as a failed job)
        except InboxopsError as e:  # e.g. a broken template: say so (once), try again
            if str(e) != self._chores_error:
                log.error("digest or reminders: %s", e)
            self._chores_error = str(e)
            return
        except Exception:  # a bug here must not stop the chores for good
            log.exception("digest or reminders failed; trying again in the next pass")
            return
        self._chores_error = None
        if queued:
            self.wake.set()

    def _chores(self, store: Store) -> bool:
        now = datetime.now(UTC)
        day = digest_slot(self.cfg, now)
        queued = day is not None and queue_digest(store, self.cfg, now, day=day)
        reminded = queue_reminders(store, self.cfg, self.pipeline.renderer, now)
        return bool(queued or reminded)

    async def run_once(self) -> None:
        try:
            await self.outbox.recover()
            await self.workers.run(self.source.poll)
            while await self.workers.run(self._process_batch):
                pass  # the digest and reminders below see every recorded message
            await self.digest()  # for `run --once` from cron: the digest if due, and reminders
            await self.work()
        finally:
            self.pipeline.close()  # the parser workers (intake uses them too)
            with contextlib.suppress(Exception):
                await self.workers.run(lambda _s: self.mailbox.close())
            await self.workers.shutdown(STOP_GRACE)

    # the service ------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        await self.workers.run(lambda store: health.set_status(
            store, pid=os.getpid(), started_at=health.now_iso(), source=self.source.name,
            mode="starting", stopped_at=None))
        sd_notify("STATUS=starting: connecting to the mailbox")
        self.workers.submit(lambda _store: self.pipeline.parser.warm())  # the first mail is quick
        await self.outbox.recover()
        ready = asyncio.Event()
        thread = threading.Thread(target=self._watch, args=(loop, ready), daemon=True,
                                  name="intake-watch")
        thread.start()
        limit = watchdog_seconds()
        self.scheduler = build_scheduler(
            self.cfg, digest=self.digest, wake=self._wake,
            pass_seconds=min(WORK_INTERVAL, (limit or 20) / 4),
            folders=self._folders if self.cfg.mailbox.sort == "folder" else None,
            alive=self._alive,
        )
        self.scheduler.start()  # its chores job also runs now: a digest missed while down goes out
        watchdog = (asyncio.ensure_future(feed_watchdog(self.heartbeats, limit, self.stopping))
                    if limit else None)
        try:
            while not self.stopping.is_set():
                if ready.is_set():
                    self._tell_ready()
                if self._reload_requested:
                    self._reload_requested = False
                    self.reload()
                self.heartbeats.beat("work")
                self.wake.clear()  # before the pass: a wake-up during it means "pass again"
                await self._one_pass(ready)
                self.heartbeats.beat("work")
                if not thread.is_alive() and not self.stopping.is_set():
                    # Intake is dead: exit non-zero so systemd restarts us (SYSD-3).
                    log.error("the IMAP watcher stopped unexpectedly; exiting for a restart")
                    self.exit_code = 1
                    break
                await self._until_woken()
        finally:
            self._notify_stopping()
            log.info("stopping")
            self.scheduler.shutdown(wait=False)
            self.stop_event.set()
            if watchdog is not None:
                watchdog.cancel()
            # At once and side by side, each within its grace: the watcher leaves IDLE (or its
            # scan) and logs out, the kept connection for actions logs out, and the pool's
            # threads finish (one after the other, they added up to seconds past the grace).
            since = loop.time()
            closing = asyncio.ensure_future(asyncio.wait_for(
                self.workers.run(lambda _s: self.mailbox.close()), CLOSE_GRACE))
            deadline = loop.time() + INTAKE_GRACE
            while thread.is_alive() and loop.time() < deadline:
                await asyncio.sleep(0.02)
            with contextlib.suppress(Exception):
                await closing
            await self.workers.shutdown(grace=max(0.0, since + CLOSE_GRACE - loop.time()))
            with contextlib.suppress(Exception):
                health.set_status(self.store, mode="stopped", stopped_at=health.now_iso())
            self.pipeline.close()
            self.store.close()

    async def _until_woken(self) -> None:
        """Wait for a wake-up (intake, a scheduler job, SIGHUP) or a stop."""
        waiters = [asyncio.ensure_future(self.wake.wait()),
                   asyncio.ensure_future(self.stopping.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _one_pass(self, ready: asyncio.Event) -> None:
        """One work pass and its bookkeeping; on SIGTERM it gets STOP_GRACE seconds, then is
        cancelled (the outbox checkpoints the row it was sending, see Outbox.deliver)."""
        task = asyncio.ensure_future(self._pass(ready))
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

    async def _pass(self, ready: asyncio.Event) -> None:
        try:
            await self.work()
        finally:
            self._passes += 1
        if self.stopping.is_set():
            return
        await self._after_pass(ready.is_set())
        if self._passes_noted == 0:
            await self._alive()  # the first sign of life at once, not ALIVE_SECONDS later

    async def _after_pass(self, ready: bool) -> None:
        """Alerts that are due, the next outbox retry, STATUS= for systemd."""
        try:
            alerts, counts, outage, retry = await self._io(self._bookkeeping)
        except Exception:  # bookkeeping must never stop the service
            log.exception("could not update the service status")
            return
        if alerts:
            self.wake.set()  # send them now
        if retry is not None and self.scheduler is not None:
            due = datetime.fromisoformat(retry)
            if due > datetime.now(UTC):  # what is due now, this pass already tried
                wake_at(self.scheduler, due, self._wake)
        if not ready:
            return
        state = (f"mailbox unreachable since {outage['started_at']}: {outage['last_error']}"
                 if outage else "watching for mail")
        status = f"{state}; {counts['drafts']} draft(s) waiting, {counts['outbox']} to send"
        if status != self._status:
            self._status = status
            sd_notify(f"STATUS={status}")

    def _bookkeeping(
        self, store: Store
    ) -> tuple[bool, dict[str, Any], dict[str, Any] | None, str | None]:
        alerts = bool(health.check_alerts(store, self.cfg, self.source.name))
        to_send, retry = outbox.to_send(store)
        # A message retrying after a passing failure wakes the loop too, at its time.
        retry = min(filter(None, (retry, messages.next_retry(store))), default=None)
        counts = {"drafts": drafts.count_by_state(store, ("pending",)).get("pending", 0),
                  "outbox": to_send}
        return alerts, counts, health.open_outage(store), retry

    # scheduler jobs (coroutines on the loop: they wake the work loop or use the pool) ---------

    async def _wake(self) -> None:
        self.wake.set()

    async def _folders(self) -> None:
        """Time for a look at the category folders: in the next pass."""
        self._folders_due = True
        self.wake.set()

    async def _alive(self) -> None:
        """The "alive" note for `inboxops status`, when the work loop passed since the last."""
        if self._passes == self._passes_noted:
            return  # no pass since: a stuck work loop must not look alive
        self._passes_noted = self._passes
        try:
            await self.workers.run(lambda store: health.set_status(
                store, last_pass_at=health.now_iso()))
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise  # cut short by the stop: not a failure worth a traceback
        except Exception:  # bookkeeping must never stop the service
            log.exception("could not update the service status")

    # signals ----------------------------------------------------------------------------------

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
        self.workers.submit(lambda _store: pipeline.parser.warm())
        log.info("reloaded templates from %s and the classifier rules", cfg.replies.templates)
        self._status = ""

    # intake (its own thread) ------------------------------------------------------------------

    def _watch(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Event) -> None:
        store = Store(self.cfg.store.path, migrate=False)  # migrated at start

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
        self._tell_ready()  # now, not after the pass under way (a backlog may take minutes)
        self.wake.set()

    def _tell_ready(self) -> None:
        """SYSD-1: config, store and the first mailbox login (and SELECT) are fine; mail left
        over (or a backlog) is worked off after this, with STATUS= showing the progress."""
        if self._told_ready or self.stopping.is_set():
            return
        sd_notify("READY=1\nSTATUS=watching for mail")
        log.info("inboxops ready: %s", self.source.name)
        self._told_ready = True

    def _mailbox_health(self, store: Store, error: str | None, mode: str) -> None:
        """Record a poll's outcome for `status` and alerts; tell systemd when it changes."""
        if error is None and self._backlog:
            self._backlog = False  # a look ended: whatever intake was walking through is in
            self.pipeline.parser.shrink()  # its second parse worker is not needed now
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
