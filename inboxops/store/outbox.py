"""The `outbox` table, read side: what was queued, to whom, and how delivery went.

Enqueueing and the delivery state machine live in outbound/outbox.py and outbound/approval.py;
these are the questions other stages ask about the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inboxops.store import Store


def acked_since(store: Store, recipient: str, since: str) -> bool:
    """Whether an automatic acknowledgement to `recipient` was queued after `since`."""
    return store.one(
        "SELECT 1 FROM outbox WHERE kind = 'ack' AND rcpts = json_array(?) AND created_at > ?",
        (recipient, since),
    ) is not None


def count_by_state(store: Store) -> dict[str, int]:
    """How many outgoing messages are in each state (states with none are left out)."""
    return {r["state"]: r["n"] for r in store.query(
        "SELECT state, count(*) AS n FROM outbox GROUP BY state")}


def problems_since(store: Store, since: str) -> list[dict[str, Any]]:
    """Sends that need a look: delivery unknown (open until a human settles it), failed since
    `since`, or assumed delivered since `since`; oldest first."""
    return store.query(
        "SELECT id, kind, rcpts, state, last_error FROM outbox o WHERE state = 'unknown' "
        "OR (state = 'failed' AND EXISTS (SELECT 1 FROM events e WHERE e.entity = "
        "'outbox' AND e.entity_id = o.id AND e.event = 'failed' AND e.at > ?)) OR (state ="
        " 'sent' AND last_error LIKE 'assumed delivered%' AND sent_at > ?) ORDER BY id",
        (since, since))


def recent(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The latest outgoing messages, newest first, as `inboxops outbox` lists them."""
    return store.query(
        "SELECT id, kind, message_id, rcpts, state, attempts, last_error, created_at, sent_at "
        "FROM outbox ORDER BY id DESC LIMIT ?", (limit,)
    )


def recent_unsettled(store: Store, limit: int = 5) -> list[dict[str, Any]]:
    """The latest messages neither sent nor waiting in the queue, newest first."""
    return store.query("SELECT id, state, last_error FROM outbox WHERE state != 'sent' "
                       "AND state != 'queued' ORDER BY id DESC LIMIT ?", (limit,))
