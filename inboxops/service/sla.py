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
from inboxops.outbound.approval import enqueue
from inboxops.responders import compose
from inboxops.responders.render import Renderer
from inboxops.store import Store

log = logging.getLogger(__name__)
DECIDED = ("approved", "sent", "failed", "rejected")  # someone answered, or chose not to
MAX_LISTED = 50  # one reminder never lists more; the rest follow in the next one


def overdue_complaints(store: Store, cfg: Config, now: datetime) -> list[dict[str, Any]]:
    """Open complaint conversations past the SLA, oldest first: one row per conversation, for
    its earliest unanswered message, with `age_hours`, `over_hours` and `messages` (count)."""
    sla = timedelta(hours=cfg.sla.complaint_hours)
    cutoff = (now - sla).astimezone(UTC).isoformat(timespec="seconds")
    marks = ", ".join("?" * len(DECIDED))
    rows = store.query(
        "SELECT m.id, m.from_addr, m.from_name, m.subject, m.received_at,"
        " COALESCE(m.thread_key, 'message:' || m.id) AS thread,"
        " (SELECT max(d.id) FROM drafts d WHERE d.message_pk = m.id AND d.state = 'pending')"
        " AS draft_id"
        " FROM messages m WHERE m.category = 'complaint' AND m.state = 'processed'"
        " AND m.received_at < ? AND NOT EXISTS (SELECT 1 FROM drafts d JOIN messages m2"
        f"  ON m2.id = d.message_pk WHERE d.state IN ({marks}) AND m2.id >= m.id"
        "  AND (m2.id = m.id OR m2.thread_key = m.thread_key))"
        " ORDER BY m.id",
        (cutoff, *DECIDED),
    )
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
        last = store.one("SELECT max(at) AS at FROM reminders WHERE outbox_pk IS NOT NULL")
        if last and last["at"] and now - datetime.fromisoformat(last["at"]) < every:
            return None
        reminded = {r["message_pk"] for r in store.query("SELECT message_pk FROM reminders")}
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
        for c in due:
            store.conn.execute("INSERT INTO reminders VALUES (?, ?, ?, ?)",
                               (f"complaint:{c['id']}", c["id"], at, pk))
            store.event("message", c["id"], "reminded", {"outbox": pk})
    log.info("reminder about %d overdue complaint(s) queued as outbox %s", len(due), pk)
    return pk

