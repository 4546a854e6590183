"""The `drafts` table: replies waiting for the assistant, and what became of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inboxops.store.clock import now_iso

if TYPE_CHECKING:
    from inboxops.store import Store


def add(
    store: Store, message_pk: int, category: str, language: str, to_addr: str, to_name: str,
    to_reason: str, subject: str, body_text: str, body_html: str | None,
    meeting_pk: int | None,
) -> int:
    """Insert a `pending` draft answering `message_pk`; its id (the caller logs the event)."""
    cur = store.conn.execute(
        "INSERT INTO drafts (message_pk, category, language, to_addr, to_name, to_reason,"
        " subject, body_text, body_html, meeting_pk, state, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        (message_pk, category, language, to_addr, to_name, to_reason, subject, body_text,
         body_html, meeting_pk, now_iso()),
    )
    pk = cur.lastrowid
    assert pk is not None
    return pk


def exists(store: Store, pk: int) -> bool:
    """Whether there is a draft with this id."""
    return store.one("SELECT 1 FROM drafts WHERE id = ?", (pk,)) is not None


def needing_the_assistant(store: Store) -> list[dict[str, Any]]:
    """Drafts waiting for a decision, or approved but refused for good by the mail server,
    oldest first, with the message they answer and the last send error."""
    return store.query(
        "SELECT d.id, d.state, m.message_id, d.category, d.language, d.to_addr, d.to_name,"
        " d.to_reason, d.subject, d.body_text AS body, d.created_at, m.from_addr,"
        " m.subject AS original_subject, m.confidence, m.reasons, m.suppress, d.meeting_pk,"
        " (SELECT last_error FROM outbox o WHERE o.draft_pk = d.id AND o.state = 'failed'"
        "  ORDER BY o.id DESC LIMIT 1) AS error"
        " FROM drafts d JOIN messages m ON m.id = d.message_pk"
        " WHERE d.state IN ('pending', 'failed') ORDER BY d.id"
    )


def reply_approved(store: Store, message_pk: int) -> bool:
    """Whether a reply to this message was approved (approved, sent or failed since)."""
    return store.one(
        "SELECT 1 FROM drafts WHERE message_pk = ? AND state IN ('approved', 'sent', "
        "'failed')", (message_pk,),
    ) is not None


def pending_in_thread(store: Store, message_pk: int) -> list[dict[str, Any]]:
    """(id, meeting_pk) of the pending drafts for the other messages of this one's thread."""
    # The thread's few messages first (messages_thread), then their drafts (drafts_message):
    # CROSS JOIN keeps SQLite from starting at every pending draft instead, which made each
    # new draft of a backlog cost a pass over all the earlier ones (issue 15).
    return store.query(
        "SELECT d.id, d.meeting_pk FROM messages m CROSS JOIN drafts d ON d.message_pk = m.id"
        " WHERE m.thread_key = (SELECT thread_key FROM messages WHERE id = ?) AND m.id != ?"
        " AND d.state = 'pending'", (message_pk, message_pk),
    )


# -- the copies in the assistant's Drafts folder (outbound/mailclient.py) ------------------------


def answering(store: Store, message_id: str) -> list[dict[str, Any]]:
    """(id, state, decided_by) of the drafts answering the message with this Message-ID."""
    return store.query(
        "SELECT d.id, d.state, d.decided_by FROM drafts d JOIN messages m ON "
        "m.id = d.message_pk WHERE m.message_id = ? ORDER BY d.id", (message_id,))


def open_to(store: Store, addrs: list[str]) -> list[dict[str, Any]]:
    """(id, state, decided_by, subject) of the drafts pending or rejected whose recipient is
    one of `addrs` (lower case), oldest first."""
    marks = ",".join("?" * len(addrs))
    return store.query(
        "SELECT id, state, decided_by, subject FROM drafts WHERE state IN ('pending', "
        f"'rejected') AND lower(to_addr) IN ({marks}) ORDER BY id", addrs)


def decided_among(store: Store, pks: list[int]) -> list[dict[str, Any]]:
    """(id, state, decided_by) of those of these drafts no longer pending."""
    marks = ",".join("?" * len(pks))
    return store.query(f"SELECT id, state, decided_by FROM drafts WHERE id IN ({marks}) "
                       "AND state != 'pending'", pks)


def unpublished(store: Store) -> list[int]:
    """The pending drafts not yet put in the Drafts folder, oldest first."""
    return [r["id"] for r in store.query(
        "SELECT id FROM drafts WHERE state = 'pending' AND published_at IS NULL ORDER BY id")]


def set_published(store: Store, pk: int) -> None:
    """The draft's copy is in the Drafts folder as of now."""
    store.conn.execute("UPDATE drafts SET published_at = ? WHERE id = ?", (now_iso(), pk))


def published_pending(store: Store) -> list[dict[str, Any]]:
    """(id, missing_since) of the pending drafts whose copy was put in the Drafts folder."""
    return store.query("SELECT id, missing_since FROM drafts WHERE state = 'pending' AND "
                       "published_at IS NOT NULL")


def set_missing_since(store: Store, pk: int, at: str | None) -> None:
    """Since when the draft's copy is gone from Drafts; None: it is back."""
    store.conn.execute("UPDATE drafts SET missing_since = ? WHERE id = ?", (at, pk))


def pending_for_message(store: Store, message_pk: int) -> list[dict[str, Any]]:
    """(id, meeting_pk) of the drafts for one message still waiting for a decision."""
    return store.query(
        "SELECT id, meeting_pk FROM drafts WHERE message_pk = ? AND state = 'pending'",
        (message_pk,),
    )


def count_by_state(store: Store, states: tuple[str, ...]) -> dict[str, int]:
    """How many drafts are in each of `states` (states with none are left out)."""
    marks = ", ".join("?" * len(states))
    return {r["state"]: r["n"] for r in store.query(
        f"SELECT state, count(*) AS n FROM drafts WHERE state IN ({marks}) GROUP BY state",
        states)}


def waiting(store: Store, review_below: float) -> list[dict[str, Any]]:
    """Drafts waiting for approval, oldest first, as the digest lists them; `review` marks
    those whose message was sorted below the review threshold."""
    return store.query(
        "SELECT d.id, d.category, d.language, d.to_addr, d.to_name, d.subject, d.created_at,"
        " m.confidence < ? AS review FROM drafts d JOIN messages m ON m.id = d.message_pk"
        " WHERE d.state = 'pending' ORDER BY d.created_at, d.id", (review_below,))


def sync_mark(store: Store) -> tuple[int, int]:
    """(latest draft event, drafts whose copy is missing from Drafts): when neither changed
    and no removal timer runs, the mail-client round has nothing new to do on our side."""
    row = store.one(
        "SELECT (SELECT id FROM events WHERE entity = 'draft' ORDER BY id DESC LIMIT 1) AS ev,"
        " (SELECT count(*) FROM drafts WHERE state = 'pending' AND missing_since IS NOT NULL)"
        " AS missing")
    return (int(row["ev"] or 0), int(row["missing"] or 0)) if row else (0, 0)
