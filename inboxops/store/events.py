"""The `events` table, read side: the log every state change appends to (Store.event)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inboxops.store import Store


def grouped_since(store: Store, entity: str, since: str) -> list[dict[str, Any]]:
    """The events of one entity kind since a time, grouped by (event, detail), with their
    count `n` and latest time `last`, latest first."""
    return store.query(
        "SELECT event, detail, count(*) AS n, max(at) AS last FROM events WHERE entity = ? "
        "AND at > ? GROUP BY event, detail ORDER BY last DESC", (entity, since))


def logged(store: Store, entity: str, entity_id: int | None, event: str, detail: str) -> bool:
    """Whether this very event (same entity, event and detail) is in the log already."""
    return store.one(
        "SELECT 1 FROM events WHERE entity = ? AND entity_id IS ? AND event = ? AND detail = ?",
        (entity, entity_id, event, detail),
    ) is not None
