"""The assistant's queue as the web page reads it, beyond the library's own listings
(approval.pending, bookings.listing, status.report): the filtered queue with counts, one draft
with its message, its outbox rows and history, the outbox list. Reads only: every change goes
through the library functions."""

from __future__ import annotations

import json
from typing import Any

from inboxops.store import Store

QUEUE_STATES = ("pending", "failed")


def queue(
    store: Store, category: str | None = None, language: str | None = None
) -> list[dict[str, Any]]:
    """Drafts that need the assistant, oldest first, optionally filtered; the fields the
    queue table shows (no bodies: 500 rows must stay fast)."""
    return store.query(
        "SELECT d.id, d.state, d.category, d.language, d.to_addr, d.to_name, d.subject,"
        " d.created_at, m.from_addr, m.from_name, m.subject AS original_subject, m.confidence,"
        " m.received_at FROM drafts d JOIN messages m ON m.id = d.message_pk"
        " WHERE d.state IN ('pending', 'failed')"
        " AND (:category IS NULL OR d.category = :category)"
        " AND (:language IS NULL OR d.language = :language) ORDER BY d.id",
        {"category": category, "language": language},
    )


def counts(store: Store) -> dict[str, dict[str, int]]:
    """How many drafts wait, by category and by language (for the filter links)."""
    rows = store.query(
        "SELECT category, language, count(*) AS n FROM drafts"
        " WHERE state IN ('pending', 'failed') GROUP BY category, language"
    )
    out: dict[str, dict[str, int]] = {"category": {}, "language": {}, "all": {"all": 0}}
    for r in rows:
        out["category"][r["category"]] = out["category"].get(r["category"], 0) + r["n"]
        out["language"][r["language"]] = out["language"].get(r["language"], 0) + r["n"]
        out["all"]["all"] += r["n"]
    return out


def draft(store: Store, draft_id: int) -> dict[str, Any] | None:
    """One draft with the message it answers, the reasons decoded from JSON."""
    row = store.one(
        "SELECT d.*, m.id AS message_pk, m.message_id, m.from_addr, m.from_name, m.reply_to,"
        " m.subject AS original_subject, m.date, m.received_at, m.text AS original_text,"
        " m.category AS message_category, m.confidence, m.reasons, m.suppress, m.defects"
        " FROM drafts d JOIN messages m ON m.id = d.message_pk WHERE d.id = ?",
        (draft_id,),
    )
    if row is None:
        return None
    for key in ("reasons", "suppress", "defects"):
        row[key] = json.loads(row[key] or "[]")
    return row


def raw_message(store: Store, draft_id: int) -> bytes | None:
    """The bytes of the message a draft answers (to show its HTML)."""
    row = store.one(
        "SELECT r.raw FROM drafts d JOIN message_raw r ON r.message_pk = d.message_pk"
        " WHERE d.id = ?",
        (draft_id,),
    )
    return bytes(row["raw"]) if row else None


def draft_outbox(store: Store, draft_id: int) -> list[dict[str, Any]]:
    """What became of an approved draft: its outbox rows and their delivery state."""
    return store.query(
        "SELECT id, kind, state, rcpts, attempts, last_error, sent_at FROM outbox"
        " WHERE draft_pk = ? ORDER BY id", (draft_id,),
    )


def draft_history(store: Store, draft_id: int) -> list[dict[str, Any]]:
    """The draft's state changes, oldest first (who approved it, from where, when)."""
    return store.query(
        "SELECT at, event, detail FROM events WHERE entity = 'draft' AND entity_id = ?"
        " ORDER BY id", (draft_id,),
    )


def neighbours(store: Store, draft_id: int) -> tuple[int | None, int | None]:
    """The waiting drafts before and after this one in queue order (for j/k on a draft)."""
    before = store.one(
        "SELECT max(id) AS id FROM drafts WHERE state IN ('pending', 'failed') AND id < ?",
        (draft_id,),
    )
    after = store.one(
        "SELECT min(id) AS id FROM drafts WHERE state IN ('pending', 'failed') AND id > ?",
        (draft_id,),
    )
    return (before["id"] if before else None), (after["id"] if after else None)


def latest_draft(store: Store, message_pk: int) -> int | None:
    """The newest pending draft for a message (after a correction redrafted it)."""
    row = store.one(
        "SELECT max(id) AS id FROM drafts WHERE message_pk = ? AND state = 'pending'",
        (message_pk,),
    )
    return row["id"] if row else None


def outbox(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """Outgoing mail, newest first, with the subject of the draft it came from."""
    return store.query(
        "SELECT o.id, o.kind, o.state, o.rcpts, o.attempts, o.last_error, o.created_at,"
        " o.sent_at, o.draft_pk, d.subject FROM outbox o LEFT JOIN drafts d ON d.id = o.draft_pk"
        " ORDER BY o.id DESC LIMIT ?", (limit,),
    )
