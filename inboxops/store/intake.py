"""Where intake stands per folder: `mailbox_state` (UIDVALIDITY, last UID), `intake_start` (the
first start's choice) and `backfills` (on-demand backfills with their progress)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from inboxops.store.clock import now_iso

if TYPE_CHECKING:
    from inboxops.store import Store


def imap_source(user: str, host: str) -> str:
    """The name an IMAP mailbox is known by: who and where, never how it was reached (port,
    TLS), so moving from 143 to 993 takes nothing twice. With the folder and UIDVALIDITY kept
    beside it, that is what identifies a message (RFC 3501 §2.3.1.1). IPv6 hosts go in
    brackets, so a name never ends in ":<digits>" (see `without_port`)."""
    host = host.strip().lower().rstrip(".")
    return f"imap:{user}@[{host}]" if ":" in host else f"imap:{user}@{host}"


_WITH_PORT = re.compile(r"^imap:(?P<user>.*)@(?P<host>[^@]*):(?P<port>\d+)$")


def without_port(source: str) -> str | None:
    """The current name of a source named by earlier versions as imap:<user>@<host>:<port>;
    None if it is not such a name (already current, or not IMAP): so rewriting is idempotent."""
    m = _WITH_PORT.match(source)
    return imap_source(m["user"], m["host"]) if m else None


def mailbox_state(store: Store, source: str, folder: str) -> tuple[int | None, int]:
    """(UIDVALIDITY, last UID taken) of a folder; (None, 0) before its first fetch."""
    row = store.one(
        "SELECT uidvalidity, last_uid FROM mailbox_state WHERE source = ? AND folder = ?",
        (source, folder),
    )
    return (row["uidvalidity"], row["last_uid"]) if row else (None, 0)


def set_mailbox_state(
    store: Store, source: str, folder: str, uidvalidity: int, last_uid: int
) -> None:
    """Remember how far intake got in a folder."""
    with store.tx():
        store.conn.execute(
            "INSERT INTO mailbox_state VALUES (?, ?, ?, ?) ON CONFLICT (source, folder) "
            "DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
            (source, folder, uidvalidity, last_uid),
        )


def start(store: Store, source: str, folder: str) -> dict[str, Any] | None:
    """How intake began for this folder (mode, not_before, at), or None before the first start."""
    return store.one("SELECT mode, not_before, at FROM intake_start WHERE source = ? AND "
                     "folder = ?", (source, folder))


def set_start(store: Store, source: str, folder: str, mode: str, not_before: str | None) -> None:
    """Record how intake begins for this folder; the first record stays (made once)."""
    with store.tx():
        store.conn.execute(
            "INSERT OR IGNORE INTO intake_start VALUES (?, ?, ?, ?, ?)",
            (source, folder, mode, not_before, now_iso()),
        )


# -- backfills ----------------------------------------------------------------------------------


def unfinished_backfill(store: Store, source: str, folder: str) -> dict[str, Any] | None:
    """The latest backfill of this folder that did not finish, or None."""
    return store.one("SELECT * FROM backfills WHERE source = ? AND folder = ? AND finished_at IS "
                     "NULL ORDER BY id DESC LIMIT 1", (source, folder))


def start_backfill(
    store: Store, source: str, folder: str, since: str, replaces: int | None = None
) -> int:
    """A new backfill from `since`; `replaces` (an unfinished one) gives way. Its id."""
    with store.tx():
        if replaces is not None:
            store.conn.execute("UPDATE backfills SET finished_at = ? WHERE id = ?",
                               (now_iso(), replaces))
        pk = store.db.table("backfills").insert(
            {"source": source, "folder": folder, "since": since, "started_at": now_iso()}
        ).last_pk
        assert isinstance(pk, int)
        store.event("backfill", pk, "started", {"since": since})
    return pk


def backfill_progress(store: Store, pk: int, total: int, done: int) -> None:
    """How many messages the period holds and how many are done."""
    with store.tx():
        store.conn.execute("UPDATE backfills SET total = ?, done = ? WHERE id = ?",
                           (total, done, pk))


def finish_backfill(store: Store, pk: int, total: int, done: int, taken: int) -> None:
    """Mark a backfill finished, with its final counts."""
    with store.tx():
        store.conn.execute("UPDATE backfills SET total = ?, done = ?, finished_at = ? WHERE "
                           "id = ?", (total, done, now_iso(), pk))
        store.event("backfill", pk, "finished", {"total": total, "taken": taken})
