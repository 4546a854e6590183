"""The `corrections` table: what the assistant taught us, a message's words and its category.

Readers (the learned classifier) look for new rows every few seconds, not for every message;
`added()` lets them see at once what this process itself recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from inboxops.models import Category
from inboxops.store.clock import now_iso

if TYPE_CHECKING:
    from inboxops.store import Store

_added = 0  # corrections this process has recorded (a hint to look again; the rows are the truth)


def add(
    store: Store, category: str, words: str, *, message_pk: int | None = None,
    old_category: str | None = None, origin: str = "reclassify",
) -> int:
    """Store one labelled example (`words` space-separated); its id."""
    with store.tx():
        pk = store.db.table("corrections").insert({
            "at": now_iso(), "message_pk": message_pk, "old_category": old_category,
            "category": category, "words": words, "origin": origin,
        }).last_pk
    assert isinstance(pk, int)
    global _added
    _added += 1
    return pk


def added() -> int:
    """How many corrections this process has recorded so far: when it changes, look again."""
    return _added


def after(store: Store, last_id: int) -> list[tuple[int, Category, str]]:
    """(id, category, words) of the corrections recorded after `last_id`, in order."""
    return [
        (pk, cast(Category, category), words) for pk, category, words in store.conn.execute(
            "SELECT id, category, words FROM corrections WHERE id > ? ORDER BY id", (last_id,)
        )
    ]
