"""One message through parse → classify → draft → record, driven by its state in the store.

Each recorded message in state `received` is taken once: the outcome (fields, draft, meeting)
is written in one transaction together with the move to `processed`, so a crash part-way simply
leaves it `received` for the next pass. Only bytes that cannot be parsed are `quarantined`; any
other failure (a full disk, a template with a typo, a bug in one stage) can pass, so the message
goes to `retrying` with a growing wait (RETRY_BACKOFF) and is taken again when it is due, until
it works: the assistant sees it in `status` and the digest meanwhile. Nothing here talks to a mail
server, but it blocks (SQLite, and drafting a meeting may read the busy calendar over HTTPS):
the daemon runs it in its worker pool, each thread on its own store (`Pipeline.on`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from inboxops.classifiers.signals import automation_signals
from inboxops.config import Config
from inboxops.errors import InboxopsError, StateError
from inboxops.intake.parse import parse_message
from inboxops.intake.parsepool import ParsePool
from inboxops.intake.sources import Incoming
from inboxops.models import Classification, ParsedMessage
from inboxops.outbound import bookings
from inboxops.outbound.outbox import enqueue
from inboxops.responders import RESPONDERS, Draft, Responder, ack, meetings
from inboxops.responders.busy import feed_busy
from inboxops.responders.compose import reply_subject
from inboxops.responders.render import Renderer
from inboxops.service.triage import Setup, Triaged, build_chain, start, triage, triage_for_ingest
from inboxops.store import Store, drafts, messages
from inboxops.store import meetings as stored_meetings

__all__ = ["Pipeline", "build_chain"]

log = logging.getLogger(__name__)
# The staff's calendar feed is read again after this long (a burst of requests shares one read).
FEED_TTL = timedelta(minutes=5)
# Waits before a message whose processing failed is tried again; the last one repeats forever.
RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
                 timedelta(hours=1))


class Pipeline:
    """Processes messages in state `received`. Pure apart from the store."""

    def __init__(
        self, cfg: Config, store: Store, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.clock = clock
        self.own_addresses = frozenset(cfg.own_addresses)
        self.renderer = Renderer(cfg.replies.templates)
        # Parse AND classify in the worker processes (service.triage): both pure CPU.
        self.parser: ParsePool[Triaged] = ParsePool(
            parser=triage, initializer=start, initargs=(Setup.of(cfg),))
        # [fetched at, busy spans]: one list, shared by the copies `on` makes
        self._feed_cache: list[Any] = [None, []]
        self.responders: dict[str, Responder] = {
            category: cls(cfg, self.renderer) for category, cls in RESPONDERS.items()
        }

    def process_pending(self, limit: int = 500) -> int:
        """Process up to `limit` received (or due retrying) messages, oldest first; return how
        many moved on (one whose failure could not even be noted stays, and is not counted,
        so a caller looping until 0 does not spin on a full disk).

        The outcomes are written in one transaction per run of messages that need no draft (a
        backlog is mostly such: sorted, not answered), each message in a savepoint of its own;
        a message that is drafted is written on its own first, so the next one's draft sees
        its meeting slot and its thread."""
        now = self.clock().isoformat(timespec="seconds")
        rows = messages.oldest_received(self.store, limit, now)
        moved = 0
        run: list[_Outcome] = []
        for pk, result in self.parser.parse([(row["id"], row["raw"]) for row in rows]):
            outcome = self._outcome(pk, result)
            if outcome.responder is not None:
                moved += self._write(run)
                run = []
                moved += self._write([self._drafted(outcome)])
            else:
                run.append(outcome)
                if len(run) >= WRITE_RUN:  # while the workers go on with the next chunks
                    moved += self._write(run)
                    run = []
        return moved + self._write(run)

    def ingest(self, source: str, folder: str, batch: list[Incoming],
               checkpoint: Callable[[Incoming], None]) -> int:
        """Record a batch a source read (`intake.sources.Record`), and with it the outcome of
        each message that needs nothing but sorting: in one write and one event, not a
        `received` row that `process_pending` reads back, parses and rewrites. That is most
        of a backlog (old mail gets no draft, issue 15). The rest is recorded `received`
        and goes the usual way: to be drafted, an iTIP message, an acknowledgement, a
        classification to retry, bytes to quarantine.

        The workers parse and classify while earlier runs are written; each run commits with
        its checkpoint, so a crash neither loses a message nor repeats one. A run is written
        in a few statements (`messages.Run`); a message answering one still waiting in it
        writes it first, so its thread is found as if each message were written alone."""
        count = 0
        run: list[tuple[Incoming, Triaged | Exception]] = []
        for i, result in self.parser.parse([(i, m.raw) for i, m in enumerate(batch)],
                                           parser=triage_for_ingest):  # what _at_once reads
            run.append((batch[i], result))
            if len(run) >= WRITE_RUN:
                count += self._ingest_run(source, folder, run, checkpoint)
                run = []
        return count + self._ingest_run(source, folder, run, checkpoint)

    def _ingest_run(self, source: str, folder: str, run: list[tuple[Incoming, Any]],
                    checkpoint: Callable[[Incoming], None]) -> int:
        if not run:
            return 0
        pks: list[int | None] = []
        with self.store.tx():
            recorded = messages.Run(self.store, source, folder)
            for m, result in run:
                if not isinstance(result, Exception) and any(
                        ref and recorded.holds(ref)
                        for ref in [result.parsed.in_reply_to, *result.parsed.references]):
                    pks += recorded.write()  # its thread is looked up as if the run were written
                processed, detail = self._at_once(result)
                recorded.add(m.key, m.raw, m.uidvalidity, m.uid, processed, detail)
            pks += recorded.write()
            checkpoint(run[-1][0])
        return sum(pk is not None for pk in pks)

    def _at_once(self, result: Triaged | Exception
                 ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The columns of a message recorded processed at once, and its event's detail; (None,
        None) for one that goes the usual way."""
        if isinstance(result, Exception) or self.cfg.replies.auto_ack:
            return None, None
        try:
            outcome = self._outcome(0, result)
            parsed, decision = outcome.parsed, outcome.decision
            if (outcome.responder is not None or parsed is None or decision is None
                    or parsed.calendar_method):
                return None, None
            fields = {**_message_fields(parsed, decision, outcome.suppress),
                      "sort_state": "pending", "thread_key": self._thread_key(parsed)}
        except Exception:  # a bug here must not stop intake: the usual way then
            log.exception("could not decide the outcome at once")
            return None, None
        return fields, {"category": decision.category, "confidence": decision.confidence}

    def close(self) -> None:
        """Stop the parser processes, if any were started."""
        self.parser.close()

    def on(self, store: Store) -> Pipeline:
        """This pipeline on another store connection, for another thread (sqlite3 connections
        stay in their thread): the same parser processes, templates, responders and feed
        cache."""
        if store is self.store:
            return self
        view = copy.copy(self)
        view.store = store
        return view

    def _outcome(self, pk: int, result: Triaged | Exception) -> _Outcome:
        """What to do with one message, decided without writing: quarantine bytes that cannot
        be parsed, retry a classification that failed, else its category (and whether it is
        to be drafted)."""
        if isinstance(result, Exception):
            return _Outcome(pk, quarantine=f"cannot parse: {result}")
        if result.decision is None:
            return _Outcome(pk, retry=result.error or "classification failed")
        parsed, decision = result.parsed, result.decision
        robot, suppress = result.robot, result.robot + result.courtesy
        responder = self.responders.get(decision.category)
        wants_draft = False
        if parsed.calendar_method:
            pass  # iTIP business (ICS-9/10): answers update the meeting; nothing is drafted
        elif decision.confidence < self.cfg.classify.min_confidence or decision.lean:
            decision = _noted(decision, "too unsure to draft: left for the assistant to sort")
        elif responder is not None and not robot and self._too_old(parsed):
            # A backlog of months is history: a draft (and a meeting slot search) only for
            # mail a person would still answer today; `inboxops redraft ID` writes one anyway.
            decision = _noted(decision, f"older than {self.cfg.replies.draft_window_days} "
                              "days: no draft unless asked (inboxops redraft)")
        elif responder is not None and not robot:
            wants_draft = True
        if decision.confidence < self.cfg.classify.review_below:
            # The review lane: sorted to Review, listed as needing you; a draft written in the
            # most likely category is shown as uncertain (drafts, show, digest).
            decision = _noted(decision, f"confidence below {self.cfg.classify.review_below:.2f}"
                              ": needs review")
        return _Outcome(pk, parsed=parsed, decision=decision, suppress=suppress,
                        responder=responder if wants_draft else None)

    def _drafted(self, outcome: _Outcome) -> _Outcome:
        """The outcome with its draft rendered (outside any transaction: drafting a meeting may
        read the busy calendar over HTTPS), or to be retried if drafting failed for now."""
        assert outcome.responder is not None and outcome.parsed and outcome.decision
        try:
            draft, error = self._draft(outcome.pk, outcome.responder, outcome.parsed,
                                       outcome.decision)
        except _Passing as e:
            return _Outcome(outcome.pk, retry=str(e))
        return dataclasses.replace(outcome, draft=draft, error=error, responder=None)

    def _write(self, outcomes: list[_Outcome]) -> int:
        """Write the outcomes in one transaction, each in a savepoint: a message whose writes
        fail is retried later, without undoing the others. How many moved on."""
        if not outcomes:
            return 0
        moved = 0
        try:
            with self.store.tx():
                for outcome in outcomes:
                    moved += self._write_one(outcome)
                    if not self.store.conn.in_transaction:
                        raise _BatchLost  # SQLite ended it (a full disk): nothing was kept
        except Exception as e:  # noqa: BLE001 - the messages stay, taken at the next pass
            log.warning("could not record the outcome of %d message(s) yet: %s",
                        len(outcomes), e)
            return 0
        return moved

    def _write_one(self, outcome: _Outcome) -> bool:
        pk = outcome.pk
        if outcome.quarantine is not None:
            self._quarantine(pk, outcome.quarantine)
            return True
        if outcome.retry is not None:
            return self._retry(pk, outcome.retry)
        try:
            self._record(outcome)
        except Exception as e:  # a bug here must not stop the queue behind it
            if not self.store.conn.in_transaction:
                return False
            log.exception("message %s: processing failed", pk)
            return self._retry(pk, f"processing failed: {type(e).__name__}: {e}")
        return True

    def _quarantine(self, pk: int, reason: str) -> None:
        log.warning("message %s quarantined: %s", pk, reason)
        self.store.transition("messages", pk, WAITING, "quarantined", detail=reason,
                              error=reason)

    def _retry(self, pk: int, reason: str) -> bool:
        """Take the message again after a wait that grows with its attempts."""
        row = self.store.one("SELECT attempts FROM messages WHERE id = ?", (pk,))
        attempts = (row["attempts"] if row else 0) + 1
        at = self.clock() + RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF)) - 1]
        try:
            self.store.transition(
                "messages", pk, WAITING, "retrying", detail=f"attempt {attempts}: {reason}",
                level=logging.WARNING, error=reason, attempts=attempts,
                next_attempt_at=at.isoformat(timespec="seconds"))
        except Exception:  # the store itself failing (a full disk)
            # Nothing was written: the message stays as it was and is taken at the next pass.
            log.exception("message %s: cannot even note the failure (%s)", pk, reason)
            return False
        return True

    def _record(self, outcome: _Outcome) -> None:
        """The outcome of one processed message, in a savepoint of the caller's transaction.
        Most of a backlog has only the move to `processed` to write, and the transition is a
        savepoint of its own: a second one around it would only cost."""
        pk, parsed, decision = outcome.pk, outcome.parsed, outcome.decision
        assert parsed is not None and decision is not None
        draft, error = outcome.draft, outcome.error
        try:
            with (self.store.tx() if parsed.calendar_method or draft or self.cfg.replies.auto_ack
                  else contextlib.nullcontext()):
                if parsed.calendar_method:
                    error = bookings.record_answer(self.store, pk, parsed,
                                                   self.cfg.mailbox.authserv_id)
                meeting = self._insert_meeting(pk, draft) if draft and draft.meeting else None
                if not self.store.transition(
                    "messages", pk, WAITING, "processed",
                    detail={"category": decision.category, "confidence": decision.confidence},
                    **_message_fields(parsed, decision, outcome.suppress),
                    sort_state="pending", error=error, thread_key=self._thread_key(parsed),
                ):
                    raise _AlreadyTaken
                if draft:
                    self._supersede_thread(pk)
                    self._insert_draft(pk, decision, parsed, draft, meeting)
                if decision.confidence >= self.cfg.classify.review_below:
                    self._maybe_ack(pk, parsed, decision.category)
        except _AlreadyTaken:
            return  # another process handled it; the rollback discarded our meeting row
        log.debug(  # the "message N: processed" event line says it at INFO
            "message %s from %s: %s (%.2f)%s", pk, parsed.from_addr, decision.category,
            decision.confidence, " drafted" if draft else "",
        )

    def _draft(
        self, pk: int, responder: Responder, parsed: ParsedMessage, decision: Classification
    ) -> tuple[Draft | None, str | None]:
        """Render a draft. What the message or the calendar decides (no free slot) is a note
        on the message; any other failure can pass (a template being fixed, an unreachable
        busy feed, a bug) and raises _Passing, so the message is tried again later."""
        try:
            busy = self.busy(feed="meeting" in responder.categories)
            return responder.draft(parsed, decision, busy, self.clock()), None
        except StateError as e:
            error = f"no draft: {e}"
            log.warning("message %s: %s", pk, error)
        except InboxopsError as e:
            raise _Passing(f"no draft yet: {e}") from e
        except Exception as e:  # a bug in one responder must not stop the queue
            log.exception("message %s: drafting failed", pk)
            raise _Passing(f"no draft yet: internal error {type(e).__name__}: {e}") from e
        return None, error

    def _too_old(self, parsed: ParsedMessage) -> bool:
        """Is the message older than the drafting window? (no Date: treated as new)"""
        days = self.cfg.replies.draft_window_days
        if not days or parsed.date is None:
            return False
        date = parsed.date if parsed.date.tzinfo else parsed.date.replace(tzinfo=UTC)
        return date < self.clock() - timedelta(days=days)

    def redraft(self, pk: int, reason: str = "corrected by the assistant") -> int | None:
        """Draft again for a message whose category the assistant corrected, or one the
        drafting window left without a draft (asked for: the window does not apply); the new
        draft id."""
        row = self.store.require("messages", pk)
        if drafts.reply_approved(self.store, pk):
            return None  # already answered (or being answered): never a second reply
        raw = messages.raw_of(self.store, pk)
        assert raw is not None  # recorded with the message, in the same transaction
        parsed = parse_message(raw)
        decision = Classification(row["category"], 1.0, [reason])
        responder = self.responders.get(decision.category)
        if (responder is None or parsed.calendar_method
                or automation_signals(parsed, self.own_addresses)):
            return None
        try:
            draft, error = self._draft(pk, responder, parsed, decision)
        except _Passing as e:
            raise InboxopsError(str(e)) from None
        if draft is None:
            raise InboxopsError(error or "no draft")
        with self.store.tx():
            meeting = self._insert_meeting(pk, draft) if draft.meeting else None
            self._supersede_thread(pk)
            return self._insert_draft(pk, decision, parsed, draft, meeting)

    def _maybe_ack(self, pk: int, parsed: ParsedMessage, category: str) -> None:
        """Queue an automatic acknowledgement if config asks for one and nothing forbids it."""
        if not self.cfg.replies.auto_ack:
            return
        reasons = ack.reasons_not_to_ack(self.store, self.cfg, parsed, category, self.clock())
        if reasons:
            if category in self.cfg.replies.auto_ack:
                self.store.event("message", pk, "not acknowledged", reasons)
            return
        message_id, raw, rcpt = ack.build_ack(self.cfg, self.renderer, parsed, category, pk)
        # MAIL FROM <> (LOOP-3): nothing can bounce or auto-reply back to an acknowledgement.
        enqueue(self.store, "ack", raw, message_id, "", [rcpt])

    def _thread_key(self, parsed: ParsedMessage) -> str:
        """The conversation: that of a message (or a reply of ours) it answers, else the
        sender and base subject, so a client who writes three times without replying in
        between is still one conversation."""
        for ref in [parsed.in_reply_to, *reversed(parsed.references)]:
            if not ref:
                continue
            thread = messages.thread_of(self.store, ref)
            if thread:
                return thread
        base = reply_subject(parsed.subject).removeprefix("Re:").strip().lower()
        return f"{parsed.from_addr}|{base}"

    def _supersede_thread(self, pk: int) -> None:
        """One open draft per conversation: earlier pending drafts give way to this one."""
        for old in drafts.pending_in_thread(self.store, pk):
            self.store.transition("drafts", old["id"], ("pending",), "superseded",
                                  detail=f"a newer message in the thread ({pk})")
            if old["meeting_pk"]:
                self.store.transition("meetings", old["meeting_pk"], ("proposed",), "cancelled")

    def busy(self, feed: bool = False) -> list[tuple[datetime, datetime]]:
        """Meetings already proposed or booked that have not ended: the slot finder must not
        clash with them (past ones cannot, and would only slow it down). With `feed`, also
        the staff's busy times from [meetings] busy_calendar, read at most every few minutes."""
        rows = stored_meetings.holding_time(self.store)
        now = self.clock()
        spans = [(datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"]))
                 for r in rows]
        mine = [(start, end) for start, end in spans if end >= now]
        return mine + self._feed_busy(now) if feed else mine

    def _feed_busy(self, now: datetime) -> list[tuple[datetime, datetime]]:
        mcfg = self.cfg.meetings
        if not mcfg.busy_calendar:
            return []
        fetched, spans = self._feed_cache
        if fetched is None or not timedelta(0) <= now - fetched < FEED_TTL:
            spans = feed_busy(mcfg.busy_calendar, mcfg.timezone, now, mcfg.search_days)
            self._feed_cache[:] = [now, spans]
        return list(spans)

    def _insert_meeting(self, pk: int, draft: Draft) -> int:
        assert draft.meeting is not None
        slot = draft.meeting.slots[0]
        staff = draft.meeting.staff or self.cfg.meetings.staff
        attendees = {draft.to_addr: "NEEDS-ACTION", **dict.fromkeys(staff, "NEEDS-ACTION")}
        meeting_pk = stored_meetings.add(
            self.store, pk, meetings.new_uid(self.cfg.domain), slot.start.isoformat(),
            slot.end.isoformat(), self.cfg.meetings.timezone, slot.from_client,
            [(s.start.isoformat(), s.end.isoformat()) for s in draft.meeting.slots[1:]],
            draft.meeting.location, draft.meeting.summary, draft.to_addr, draft.to_name,
            staff, attendees,
        )
        self.store.event("meeting", meeting_pk, "proposed", {"start": slot.start.isoformat()})
        return meeting_pk

    def _insert_draft(
        self, pk: int, decision: Classification, parsed: ParsedMessage, draft: Draft,
        meeting_pk: int | None,
    ) -> int:
        draft_pk = drafts.add(
            self.store, pk, decision.category, parsed.language, draft.to_addr, draft.to_name,
            draft.to_reason, draft.subject, draft.text, draft.html, meeting_pk,
        )
        self.store.event("draft", draft_pk, "pending", {"message": pk})
        return draft_pk


@dataclass(frozen=True)
class _Outcome:
    """What processing decided for one message, before anything is written."""

    pk: int
    quarantine: str | None = None  # the bytes cannot be parsed
    retry: str | None = None  # a failure that can pass
    parsed: ParsedMessage | None = None
    decision: Classification | None = None
    suppress: list[str] = field(default_factory=list)
    responder: Responder | None = None  # to be drafted by this one
    draft: Draft | None = None
    error: str | None = None  # a note on the message (say, no free slot)


def _noted(decision: Classification, note: str) -> Classification:
    return Classification(decision.category, decision.confidence, [*decision.reasons, note])


class _BatchLost(Exception):
    """SQLite rolled the whole transaction back by itself (it does so on a full disk)."""


class _AlreadyTaken(Exception):
    """Raised inside the transaction to roll it back when another process won the race."""


class _Passing(Exception):
    """A failure that can pass (a template, a feed, a bug): the message is retried later."""


WAITING = ("received", "retrying")  # the states a message is taken from
WRITE_RUN = 64  # outcomes written in one transaction (a backlog's batch is written in runs)


def _message_fields(
    parsed: ParsedMessage, decision: Classification, suppress: list[str]
) -> dict[str, Any]:
    return {
        "message_id": parsed.message_id,
        "from_addr": parsed.from_addr,
        "from_name": parsed.from_name,
        "reply_to": parsed.reply_to,
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "language": parsed.language,
        "in_reply_to": parsed.in_reply_to,
        "refs": _json(parsed.references),
        "text": parsed.text,
        "defects": _json(parsed.defects),
        "category": decision.category,
        "confidence": decision.confidence,
        "reasons": _json(decision.reasons),
        "suppress": _json(suppress),
    }


def _json(values: list[str]) -> str:
    """json.dumps of a list of strings, to the character, at a fraction of its cost (four a
    message of a backlog, issue 15): json.dumps quotes each string so, and joins with ", "."""
    if not values:
        return "[]"  # most lists of a backlog are empty
    if all(type(v) is str for v in values):
        return f"[{', '.join(map(encode_basestring_ascii, values))}]"
    return json.dumps(values)
