"""The `drafts` table: replies waiting for the assistant, and what became of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inboxops.store import Store


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
