"""Complaints that wait too long: which are overdue, and one reminder to the assistant for each.

A complaint is answered when a reply to it, or to a later message of the same conversation, was
approved (or deliberately rejected): answering the latest message of a thread answers the ones
before it. A conversation that is still open after `[sla] complaint_hours` is overdue; it is
highlighted in the digest and, if `[sla] remind` names someone, reminded once. The reminder row
and the reminder mail are written in one transaction, so restarts neither lose nor repeat it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from inboxops.config import Config
from inboxops.outbound.outbox import enqueue
from inboxops.responders import compose
from inboxops.responders.render import Renderer
from inboxops.store import Store, digests, messages

log = logging.getLogger(__name__)
DECIDED = ("approved", "sent", "failed", "rejected")  # someone answered, or chose not to
MAX_LISTED = 50  # one reminder never lists more; the rest follow in the next one


def overdue_complaints(store: Store, cfg: Config, now: datetime) -> list[dict[str, Any]]:
    """Open complaint conversations past the SLA, oldest first: one row per conversation, for
    its earliest unanswered message, with `age_hours`, `over_hours` and `messages` (count)."""
    sla = timedelta(hours=cfg.sla.complaint_hours)
    cutoff = (now - sla).astimezone(UTC).isoformat(timespec="seconds")
    rows = messages.unanswered_complaints(store, cutoff, DECIDED)
    tz = ZoneInfo(cfg.meetings.timezone)
    threads: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["thread"] in threads:
            threads[row["thread"]]["messages"] += 1
            threads[row["thread"]]["draft_id"] = row["draft_id"] or threads[row["thread"]][
                "draft_id"]
            continue
        received = datetime.fromisoformat(row["received_at"])
        age = (now - received).total_seconds() / 3600
        threads[row["thread"]] = {
            **row, "received_at": received.astimezone(tz), "age_hours": age,
            "over_hours": age - cfg.sla.complaint_hours, "messages": 1,
        }
    return list(threads.values())


def queue_reminders(
    store: Store, cfg: Config, renderer: Renderer, now: datetime | None = None
) -> int | None:
    """Queue one reminder mail for the complaints that became overdue and were never reminded;
    at most one such mail per `remind_every_minutes`. The outbox id, or None."""
    if not cfg.sla.remind:
        return None
    now = now or datetime.now(UTC)
    every = timedelta(minutes=cfg.sla.remind_every_minutes)
    with store.tx():  # BEGIN IMMEDIATE: two processes cannot both decide to remind
        last = digests.last_reminder_at(store)
        if last and now - datetime.fromisoformat(last) < every:
            return None
        reminded = digests.reminded(store)
        due = [c for c in overdue_complaints(store, cfg, now) if c["id"] not in reminded]
        if not due:
            return None
        due = due[:MAX_LISTED]
        context = {"complaints": due, "sla_hours": cfg.sla.complaint_hours,
                   "company": cfg.replies.company}
        subject, text, _ = renderer.render_set("reminder", cfg.digest.language, context,
                                               html=False)
        message_id = compose.new_message_id(cfg.domain)
        sender = cfg.smtp.from_address
        raw = compose.build_message(
            sender=sender, to=[compose.address(a) for a in cfg.sla.remind], subject=subject,
            text=text, message_id=message_id, auto_submitted="auto-generated",
        )
        pk = enqueue(store, "reminder", raw, message_id, sender.addr_spec, list(cfg.sla.remind))
        at = now.astimezone(UTC).isoformat(timespec="seconds")
        digests.add_reminders(store, [c["id"] for c in due], at, pk)
        for c in due:
            store.event("message", c["id"], "reminded", {"outbox": pk})
    log.info("reminder about %d overdue complaint(s) queued as outbox %s", len(due), pk)
    return pk

