"""The `digests` and `reminders` tables: one row per digest day and per reminded complaint,
written in the transaction that queues the mail, so neither is sent twice nor lost."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inboxops.store import Store


def digest_queued(store: Store, day: str) -> bool:
    """Whether the digest of `day` (or an extra one under this key) was queued."""
    return store.one("SELECT 1 FROM digests WHERE day = ?", (day,)) is not None


def last_digest_at(store: Store) -> str | None:
    """When the latest digest was made (the start of the next one's period), or None."""
    row = store.one("SELECT max(created_at) AS at FROM digests")
    return row["at"] if row else None


def add_digest(store: Store, day: str, at: str, outbox_pk: int) -> None:
    """Claim `day` for the digest queued as `outbox_pk`."""
    with store.tx():
        store.db.table("digests").insert({"day": day, "created_at": at, "outbox_pk": outbox_pk})


def last_reminder_at(store: Store) -> str | None:
    """When the latest reminder mail was queued, or None."""
    row = store.one("SELECT max(at) AS at FROM reminders WHERE outbox_pk IS NOT NULL")
    return row["at"] if row else None


def reminded(store: Store) -> set[int]:
    """The messages a reminder was ever sent about."""
    return {r["message_pk"] for r in store.query("SELECT message_pk FROM reminders")}


def add_reminders(store: Store, message_pks: list[int], at: str, outbox_pk: int) -> None:
    """Record that `outbox_pk` reminds about these complaints, each once ever."""
    with store.tx():
        store.db.table("reminders").insert_all(
            {"key": f"complaint:{pk}", "message_pk": pk, "at": at, "outbox_pk": outbox_pk}
            for pk in message_pks
        )
