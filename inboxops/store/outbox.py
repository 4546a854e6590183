"""The `outbox` table: what was queued, to whom, and how delivery went.

Enqueueing (`outbound.outbox.enqueue`, with its event) and the delivery state machine (the
`Outbox` class) live in outbound/outbox.py; here are the row's SQL they use, and the questions
other stages ask about the queue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from inboxops.store.clock import now_iso

if TYPE_CHECKING:
    from inboxops.store import Store


def add(
    store: Store, kind: str, raw: bytes, message_id: str, mail_from: str, rcpts: list[str],
    draft_pk: int | None = None, answers_pk: int | None = None,
) -> int:
    """Insert one `queued` row with its exact bytes; its id (the caller logs the event)."""
    cur = store.conn.execute(
        "INSERT INTO outbox (draft_pk, kind, message_id, mail_from, rcpts, raw, answers_pk,"
        " state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
        (draft_pk, kind, message_id, mail_from, json.dumps(rcpts), raw, answers_pk, now_iso()),
    )
    pk = cur.lastrowid
    assert pk is not None
    return pk


def sending(store: Store) -> list[dict[str, Any]]:
    """Rows in `sending`: being sent now, or left so by a crash."""
    return store.query("SELECT * FROM outbox WHERE state = 'sending'")


def due(store: Store, now: str) -> list[dict[str, Any]]:
    """Queued rows whose (re)try time has come by `now`, oldest first."""
    return store.query(
        "SELECT * FROM outbox WHERE state = 'queued' AND "
        "(next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id", (now,),
    )


def phase(store: Store, pk: int) -> str | None:
    """How far the SMTP transaction of a row got (claimed, dot-sent), or None without the row."""
    row = store.one("SELECT phase FROM outbox WHERE id = ?", (pk,))
    return row["phase"] if row else None


def dot_sent(store: Store, pk: int) -> None:
    """Note that the terminating "." goes out now: from here on the server may have the
    message (SMTP-3)."""
    store.conn.execute("UPDATE outbox SET phase = 'dot-sent' WHERE id = ?", (pk,))


def draft_unsent(store: Store, draft_pk: int) -> bool:
    """Whether any outgoing message of this draft is not sent yet."""
    return store.one(
        "SELECT 1 FROM outbox WHERE draft_pk = ? AND state != 'sent'", (draft_pk,)
    ) is not None


def first_reply(store: Store, draft_pk: int) -> dict[str, Any] | None:
    """(raw, rcpts) of the reply queued for a draft, or None if none was."""
    return store.one("SELECT raw, rcpts FROM outbox WHERE draft_pk = ? AND kind = 'reply' "
                     "ORDER BY id LIMIT 1", (draft_pk,))


def sent_unfiled(store: Store) -> list[dict[str, Any]]:
    """Sent rows not yet filed in Sent (id, raw, message_id, answers_pk)."""
    return store.query(
        "SELECT o.id, o.raw, o.message_id, o.answers_pk FROM outbox o "
        "WHERE o.state = 'sent' AND o.saved_sent = 0"
    )


def mark_filed(store: Store, pk: int) -> None:
    """The row's copy is in Sent and its original flagged: the after-send chores are done."""
    store.conn.execute("UPDATE outbox SET saved_sent = 1 WHERE id = ?", (pk,))


def to_send(store: Store) -> tuple[int, str | None]:
    """How many rows wait to be sent (queued or sending), and the next retry time, if any."""
    row = store.one(
        "SELECT (SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')) AS n, "
        "(SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued') AS retry")
    assert row is not None
    return row["n"], row["retry"]


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
    `since`, or assumed delivered since `since` (by versions before the phase `dot-sent`);
    oldest first."""
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
