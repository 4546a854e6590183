"""How the service is doing: `service_status` (key -> value, for `inboxops status` from any
process) and `outages` (mailbox outages with the alerts and recovery notes sent about them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inboxops.store.clock import now_iso

if TYPE_CHECKING:
    from inboxops.store import Store


def set_status(store: Store, values: dict[str, str | int | float | None]) -> None:
    """Record status values (key -> text)."""
    at = now_iso()
    with store.tx():
        for key, value in values.items():
            store.conn.execute(
                "INSERT INTO service_status VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "value = excluded.value, updated_at = excluded.updated_at",
                (key, None if value is None else str(value), at),
            )


def get_status(store: Store) -> dict[str, str | None]:
    """Every recorded status value (key -> text)."""
    return {r["key"]: r["value"] for r in store.query("SELECT key, value FROM service_status")}


# -- outages ------------------------------------------------------------------------------------


def open_outage(store: Store, kind: str) -> dict[str, Any] | None:
    """The outage of this kind going on now, if any."""
    return store.one("SELECT * FROM outages WHERE kind = ? AND ended_at IS NULL", (kind,))


def end_outage(store: Store, kind: str, at: str) -> bool:
    """End the open outage of this kind; False if there was none."""
    with store.tx():
        cur = store.conn.execute(
            "UPDATE outages SET ended_at = ? WHERE kind = ? AND ended_at IS NULL", (at, kind)
        )
    return cur.rowcount > 0


def outage_failed(store: Store, kind: str, at: str, error: str) -> bool:
    """One more failure: extend the open outage, or open one. True if it is a new outage."""
    with store.tx():
        cur = store.conn.execute(
            "UPDATE outages SET last_error = ?, failures = failures + 1 "
            "WHERE kind = ? AND ended_at IS NULL", (error, kind)
        )
        if cur.rowcount:
            return False
        store.db.table("outages").insert({"kind": kind, "started_at": at, "last_error": error})
    return True


def alerts_due(store: Store, kind: str, started_before: str) -> list[dict[str, Any]]:
    """Open outages that started before a time and were neither alerted about nor withheld."""
    return store.query(
        "SELECT * FROM outages WHERE kind = ? AND ended_at IS NULL AND alerted_at IS NULL AND "
        "suppressed = 0 AND started_at <= ?", (kind, started_before),
    )


def recoveries_due(store: Store, kind: str) -> list[dict[str, Any]]:
    """Ended outages that were alerted about and still lack their recovery note."""
    return store.query(
        "SELECT * FROM outages WHERE kind = ? AND ended_at IS NOT NULL AND alerted_at IS NOT "
        "NULL AND recovery_outbox_pk IS NULL", (kind,),
    )


def alerted_since(store: Store, kind: str, since: str, other_than: int) -> dict[str, Any] | None:
    """Another outage of this kind alerted about after `since` (its `alerted_at`), or None."""
    return store.one(
        "SELECT alerted_at FROM outages WHERE kind = ? AND alerted_at > ? AND id != ?",
        (kind, since, other_than),
    )


def suppress_alert(store: Store, pk: int) -> None:
    """No alert for this outage (one was sent recently), so no recovery note either."""
    with store.tx():
        store.conn.execute("UPDATE outages SET suppressed = 1 WHERE id = ?", (pk,))


def claim_alert(store: Store, pk: int, at: str, outbox_pk: int) -> bool:
    """Note the alert queued for an outage; False if another process noted one first."""
    with store.tx():
        cur = store.conn.execute(
            "UPDATE outages SET alerted_at = ?, alert_outbox_pk = ? WHERE id = ? AND "
            "alerted_at IS NULL", (at, outbox_pk, pk))
    return cur.rowcount == 1


def claim_recovery(store: Store, pk: int, outbox_pk: int) -> bool:
    """Note the recovery note queued for an outage; False if another process noted one first."""
    with store.tx():
        cur = store.conn.execute(
            "UPDATE outages SET recovery_outbox_pk = ? WHERE id = ? AND "
            "recovery_outbox_pk IS NULL", (outbox_pk, pk))
    return cur.rowcount == 1
